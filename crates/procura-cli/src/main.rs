//! The `procura` command line: thin glue between files and the `procura`
//! library.
//!
//! Exit codes: 0 on success; 2 when the input or the arguments are invalid
//! (the message is on stderr and nothing is written to stdout); 1 when the
//! output cannot be written.

mod input;
mod render;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use procura::procurement::{self, Mechanism};

/// Buy training data truthfully: clear data-procurement markets.
#[derive(Debug, Parser)]
#[command(name = "procura", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Clear a procurement instance and print the outcome as JSON.
    ///
    /// The instance is a JSON file (spec §A.1): budget, optional
    /// token_budget, liquidity and token_pool, and providers with id, bid,
    /// quality, utility and optional volume and claimed_quality. The outcome
    /// (§A.2) lists the winners in allocation order with their payments.
    Clear {
        /// Instance file, or `-` for standard input.
        instance: PathBuf,
        /// Mechanism to clear the instance with.
        #[arg(long, short, value_parser = mechanism_parser())]
        mechanism: Mechanism,
    },
}

/// Accepts the mechanism names, and lists each with its one-line summary in
/// `--help`.
fn mechanism_parser() -> impl TypedValueParser<Value = Mechanism> {
    let values = Mechanism::ALL
        .map(|mechanism| PossibleValue::new(mechanism.name()).help(mechanism.summary()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mechanism>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = match run(cli) {
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

/// Runs a command and returns what it prints. Every error here is the
/// input's or the arguments' fault.
fn run(cli: Cli) -> anyhow::Result<String> {
    match cli.command {
        Command::Clear {
            instance,
            mechanism,
        } => {
            let (source, text) = input::read(&instance)?;
            let instance = input::procurement_instance(&source, &text)?;
            let outcome = procurement::clear(&instance, mechanism)
                .with_context(|| format!("{source}: cannot clear with {mechanism}"))?;
            Ok(render::procurement_outcome(&instance, &outcome))
        }
    }
}
