//! The `procura` command line: thin glue between files and the `procura`
//! library. Each subcommand lives in its own module with an `Args` struct
//! and a `run` function that returns what the command prints.
//!
//! Exit codes: 0 on success; 2 when the input or the arguments are invalid
//! (the message is on stderr and nothing is written to stdout or to output
//! files); 1 when the output (stdout or an output file) cannot be written,
//! or when `procura verify` finds a transcript or receipt invalid.

mod audit;
mod clear;
mod completions;
mod dataset;
mod demo;
#[cfg(feature = "embed")]
mod embed;
mod experiment;
mod explain;
mod input;
mod market;
mod output;
mod plot;
mod progress;
mod quality;
mod render;
mod reproduce;
mod schema;
mod serve;
mod tabulate;
mod threads;
mod value;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    Value(value::Args),
    Quality(quality::Args),
    #[cfg(feature = "embed")]
    Embed(embed::Args),
    /// `procura embed` in a build without the `embed` feature: says how
    /// to get it.
    #[cfg(not(feature = "embed"))]
    #[command(hide = true, disable_help_flag = true)]
    Embed {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    Experiment(experiment::Args),
    Merge(experiment::MergeArgs),
    Reproduce(reproduce::Args),
    Demo(demo::Args),
    Verify(verify::Args),
    Market(market::Args),
    Serve(serve::Args),
    Completions(completions::Args),
    Man(completions::ManArgs),
    Schema(schema::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Clear(args) => clear::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Value(args) => value::run(&args),
        Command::Quality(args) => quality::run(&args),
        #[cfg(feature = "embed")]
        Command::Embed(args) => embed::run(&args),
        #[cfg(not(feature = "embed"))]
        Command::Embed { .. } => Err(anyhow::anyhow!(
            "this procura was built without `procura embed`: build it with the `embed` \
             feature (cargo install --path crates/procura-cli --features embed)"
        )),
        Command::Experiment(args) => experiment::run(&args),
        Command::Merge(args) => experiment::merge(&args),
        Command::Reproduce(args) => reproduce::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Market(args) => market::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Completions(args) => completions::run(&args, Cli::command()),
        Command::Man(args) => completions::man(&args, Cli::command()),
        Command::Schema(args) => schema::run(&args),
    };
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            eprintln!("error: {error:#}");
            let writing = error.downcast_ref::<output::WriteFailure>().is_some();
            let rejected = error.downcast_ref::<verify::Rejected>().is_some();
            return ExitCode::from(if writing || rejected { 1 } else { 2 });
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
