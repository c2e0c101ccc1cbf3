//! The `procura` command line: thin glue between files and the `procura`
//! library. Each subcommand lives in its own module with an `Args` struct
//! and a `run` function that returns what the command prints.
//!
//! Exit codes: 0 on success; 2 when the input or the arguments are invalid
//! (the message is on stderr and nothing is written to stdout); 1 when the
//! output cannot be written.

mod audit;
mod clear;
mod input;
mod output;
mod render;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Buy training data truthfully: clear data-procurement markets.
#[derive(Debug, Parser)]
#[command(name = "procura", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Clear(clear::Args),
    Audit(audit::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Clear(args) => clear::run(args),
        Command::Audit(args) => audit::run(args),
    };
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    // The whole output is built before anything is written, so a failure
    // above leaves stdout empty.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: writing the outcome: {error}");
            ExitCode::from(1)
        }
    }
}
