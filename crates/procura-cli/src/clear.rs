//! `procura clear`: clear one instance with one mechanism and print the
//! outcome as JSON. Procurement instances (with `providers`, spec Part A)
//! and threshold instances (with `users`, Part B) are told apart by their
//! fields; a mechanism of the other kind is refused.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use procura::procurement::{self, Auction};
use procura::threshold::{subsidy, withdrawal, Protocol};
use procura::{Market, Mechanism};

use crate::input::{self, Source};
use crate::render;

/// `--mechanism`: any [`Mechanism`]'s name, or `withdrawal` alone, whose
/// protocol then comes from `--protocol` or the instance's `protocol`
/// field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MechanismArg {
    /// The mechanism, with the default protocol when none was named.
    mechanism: Mechanism,
    /// Whether the name carried a protocol (`withdrawal-small-first`).
    protocol_named: bool,
}

impl MechanismArg {
    fn all() -> impl Iterator<Item = (&'static str, MechanismArg)> {
        let named = |mechanism| MechanismArg {
            mechanism,
            protocol_named: true,
        };
        let auctions =
            Auction::ALL.map(|auction| (auction.name(), named(Mechanism::Auction(auction))));
        let bare_withdrawal = MechanismArg {
            mechanism: Mechanism::Withdrawal(Protocol::default()),
            protocol_named: false,
        };
        let withdrawals = Protocol::ALL.map(|protocol| {
            let name = match protocol {
                Protocol::Simultaneous => "withdrawal-simultaneous",
                Protocol::SmallFirst => "withdrawal-small-first",
                Protocol::LargeFirst => "withdrawal-large-first",
            };
            (name, named(Mechanism::Withdrawal(protocol)))
        });
        auctions
            .into_iter()
            .chain([
                ("subsidy", named(Mechanism::Subsidy)),
                ("withdrawal", bare_withdrawal),
            ])
            .chain(withdrawals)
    }

    /// The mechanism; a bare `withdrawal` has the default protocol here,
    /// the one it clears with is known only with the instance.
    pub(crate) fn mechanism(self) -> Mechanism {
        self.mechanism
    }

    /// The mechanism's name without its protocol (`withdrawal`).
    pub(crate) fn name(self) -> &'static str {
        self.mechanism.family()
    }

    /// The market whose instances the mechanism clears.
    pub(crate) fn market(self) -> Market {
        self.mechanism.market()
    }

    /// The auction, for procurement mechanisms.
    pub(crate) fn auction(self) -> Option<Auction> {
        match self.mechanism {
            Mechanism::Auction(auction) => Some(auction),
            _ => None,
        }
    }

    /// The mechanism to clear with: a protocol in the name wins, then
    /// `--protocol`, then the instance's own.
    fn resolve(self, flag: Option<Protocol>, instance: Protocol) -> Mechanism {
        match self.mechanism {
            Mechanism::Withdrawal(_) if !self.protocol_named => {
                Mechanism::Withdrawal(flag.unwrap_or(instance))
            }
            mechanism => mechanism,
        }
    }
}

/// Accepts every mechanism name, and lists each with its one-line summary
/// in `--help`.
pub(crate) fn mechanism_parser() -> impl TypedValueParser<Value = MechanismArg> {
    let values: Vec<PossibleValue> = MechanismArg::all()
        .map(|(name, arg)| PossibleValue::new(name).help(arg.mechanism.summary()))
        .collect();
    PossibleValuesParser::new(values).try_map(|name| {
        MechanismArg::all()
            .find(|(candidate, _)| *candidate == name)
            .map(|(_, arg)| arg)
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
pub(crate) struct Args {
    /// Instance file, or `-` for standard input.
    instance: PathBuf,
    /// Mechanism to clear the instance with.
    #[arg(long, short, value_parser = mechanism_parser())]
    mechanism: MechanismArg,
    /// Withdrawal protocol (withdrawal only), overriding the instance's
    /// `protocol` field.
    #[arg(long, value_parser = protocol_parser())]
    protocol: Option<Protocol>,
}

/// Checks that the instance is of the mechanism's kind. Called only when
/// parsing failed, to replace a confusing "missing field" with the real
/// mistake.
pub(crate) fn check_kind(
    source: &Source,
    text: &str,
    mechanism: MechanismArg,
) -> anyhow::Result<()> {
    let expected = mechanism.market();
    match procura_format::read::market(text) {
        Some(kind) if kind != expected => Err(anyhow!(
            "{source}: {} clears {} instances (with `{}`), but this is a {} instance (with `{}`)",
            mechanism.name(),
            expected.name(),
            expected.records(),
            kind.name(),
            kind.records(),
        )),
        _ => Ok(()),
    }
}

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let (source, text) = input::read(&args.instance)?;
    let mechanism = args.mechanism;
    if args.protocol.is_some() && mechanism.mechanism != Mechanism::Withdrawal(Protocol::default())
    {
        return Err(anyhow!("--protocol applies only to withdrawal"));
    }
    let cannot = || format!("{source}: cannot clear with {}", mechanism.name());
    if let Some(auction) = mechanism.auction() {
        let instance = input::procurement_instance(&source, &text)
            .or_else(|error| check_kind(&source, &text, mechanism).and(Err(error)))?;
        let outcome = procurement::clear(&instance, auction).with_context(cannot)?;
        return Ok(render::procurement_outcome(&instance, &outcome)?);
    }
    let instance = input::threshold_instance(&source, &text)
        .or_else(|error| check_kind(&source, &text, mechanism).and(Err(error)))?;
    match mechanism.resolve(args.protocol, instance.protocol()) {
        Mechanism::Withdrawal(protocol) => {
            let outcome = withdrawal::clear(&instance, protocol).with_context(cannot)?;
            Ok(render::withdrawal_outcome(&instance, &outcome)?)
        }
        _ => {
            let outcome = subsidy::clear(&instance).with_context(cannot)?;
            Ok(render::subsidy_outcome(&instance, &outcome)?)
        }
    }
}
