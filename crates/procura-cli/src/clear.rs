//! `procura clear`: clear one instance with one mechanism and print the
//! outcome as JSON. Procurement instances (with `providers`, spec Part A)
//! and threshold instances (with `users`, Part B) are told apart by their
//! fields; a mechanism of the other kind is refused.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use procura::procurement;
use procura::threshold::{self, subsidy, withdrawal, Protocol};

use crate::input::{self, Kind, Source};
use crate::render;

/// Any mechanism procura clears, of either kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyMechanism {
    /// A procurement auction (Part A).
    Procurement(procurement::Mechanism),
    /// A threshold contribution mechanism (Part B).
    Threshold(threshold::Mechanism),
}

impl AnyMechanism {
    fn all() -> impl Iterator<Item = AnyMechanism> {
        let procurement = procurement::Mechanism::ALL
            .into_iter()
            .map(AnyMechanism::Procurement);
        let threshold = threshold::Mechanism::ALL
            .into_iter()
            .map(AnyMechanism::Threshold);
        procurement.chain(threshold)
    }

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            AnyMechanism::Procurement(mechanism) => mechanism.name(),
            AnyMechanism::Threshold(mechanism) => mechanism.name(),
        }
    }

    fn summary(self) -> &'static str {
        match self {
            AnyMechanism::Procurement(mechanism) => mechanism.summary(),
            AnyMechanism::Threshold(mechanism) => mechanism.summary(),
        }
    }

    /// The kind of instance the mechanism clears.
    pub fn kind(self) -> Kind {
        match self {
            AnyMechanism::Procurement(_) => Kind::Procurement,
            AnyMechanism::Threshold(_) => Kind::Threshold,
        }
    }
}

/// Accepts every mechanism name, and lists each with its one-line summary
/// in `--help`.
pub fn mechanism_parser() -> impl TypedValueParser<Value = AnyMechanism> {
    let values: Vec<PossibleValue> = AnyMechanism::all()
        .map(|mechanism| PossibleValue::new(mechanism.name()).help(mechanism.summary()))
        .collect();
    PossibleValuesParser::new(values).try_map(|name| {
        AnyMechanism::all()
            .find(|mechanism| mechanism.name() == name)
            .ok_or_else(|| format!("unknown mechanism {name:?}"))
    })
}

fn protocol_parser() -> impl TypedValueParser<Value = Protocol> {
    PossibleValuesParser::new(Protocol::ALL.map(|protocol| PossibleValue::new(protocol.name())))
        .try_map(|name| name.parse::<Protocol>())
}

/// Clear an instance and print the outcome as JSON.
///
/// A procurement instance (spec §A.1) has a budget and `providers` with id,
/// bid, quality, utility and optional volume and claimed_quality; its
/// outcome (§A.2) lists the winners in allocation order with their
/// payments. A threshold instance (§B.1) has a threshold and `users` with
/// id, cost, capacity and optional benefit; its outcome lists assignments,
/// payments, leakage and, for withdrawal rights, the withdrawal protocol's
/// statistics (§B.4).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Instance file, or `-` for standard input.
    instance: PathBuf,
    /// Mechanism to clear the instance with.
    #[arg(long, short, value_parser = mechanism_parser())]
    mechanism: AnyMechanism,
    /// Withdrawal protocol (withdrawal only), overriding the instance's
    /// `protocol` field.
    #[arg(long, value_parser = protocol_parser())]
    protocol: Option<Protocol>,
}

/// Checks that the instance is of the mechanism's kind. Called only when
/// parsing failed, to replace a confusing "missing field" with the real
/// mistake.
pub fn check_kind(source: &Source, text: &str, mechanism: AnyMechanism) -> anyhow::Result<()> {
    match input::kind(text) {
        Some(kind) if kind != mechanism.kind() => Err(anyhow!(
            "{source}: {} clears {} instances (with `{}`), but this is a {} instance (with `{}`)",
            mechanism.name(),
            mechanism.kind().name(),
            mechanism.kind().records(),
            kind.name(),
            kind.records(),
        )),
        _ => Ok(()),
    }
}

/// Runs the command and returns what it prints.
pub fn run(args: Args) -> anyhow::Result<String> {
    let (source, text) = input::read(&args.instance)?;
    let mechanism = args.mechanism;
    if args.protocol.is_some()
        && mechanism != AnyMechanism::Threshold(threshold::Mechanism::Withdrawal)
    {
        return Err(anyhow!("--protocol applies only to withdrawal"));
    }
    let cannot = || format!("{source}: cannot clear with {}", mechanism.name());
    match mechanism {
        AnyMechanism::Procurement(mechanism) => {
            let instance = input::procurement_instance(&source, &text).or_else(|error| {
                check_kind(&source, &text, AnyMechanism::Procurement(mechanism)).and(Err(error))
            })?;
            let outcome = procurement::clear(&instance, mechanism).with_context(cannot)?;
            Ok(render::procurement_outcome(&instance, &outcome))
        }
        AnyMechanism::Threshold(threshold_mechanism) => {
            let instance = input::threshold_instance(&source, &text)
                .or_else(|error| check_kind(&source, &text, mechanism).and(Err(error)))?;
            match threshold_mechanism {
                threshold::Mechanism::Subsidy => {
                    let outcome = subsidy::clear(&instance).with_context(cannot)?;
                    Ok(render::subsidy_outcome(&instance, &outcome))
                }
                threshold::Mechanism::Withdrawal => {
                    let protocol = args.protocol.unwrap_or(instance.protocol());
                    let outcome = withdrawal::clear(&instance, protocol).with_context(cannot)?;
                    Ok(render::withdrawal_outcome(&instance, &outcome))
                }
            }
        }
    }
}
