//! `procura clear`: clear one instance with one mechanism and print the
//! outcome as JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use procura::procurement::{self, Mechanism};

use crate::{input, render};

/// Clear a procurement instance and print the outcome as JSON.
///
/// The instance is a JSON file (spec §A.1): budget, optional token_budget,
/// liquidity and token_pool, and providers with id, bid, quality, utility
/// and optional volume and claimed_quality. The outcome (§A.2) lists the
/// winners in allocation order with their payments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance file, or `-` for standard input.
    instance: PathBuf,
    /// Mechanism to clear the instance with.
    #[arg(long, short, value_parser = mechanism_parser())]
    mechanism: Mechanism,
}

/// Accepts the mechanism names, and lists each with its one-line summary in
/// `--help`.
pub fn mechanism_parser() -> impl TypedValueParser<Value = Mechanism> {
    let values = Mechanism::ALL
        .map(|mechanism| PossibleValue::new(mechanism.name()).help(mechanism.summary()));
    PossibleValuesParser::new(values).try_map(|name| name.parse::<Mechanism>())
}

/// Runs the command and returns what it prints.
pub fn run(args: Args) -> anyhow::Result<String> {
    let (source, text) = input::read(&args.instance)?;
    let instance = input::procurement_instance(&source, &text)?;
    let mechanism = args.mechanism;
    let outcome = procurement::clear(&instance, mechanism)
        .with_context(|| format!("{source}: cannot clear with {mechanism}"))?;
    Ok(render::procurement_outcome(&instance, &outcome))
}
