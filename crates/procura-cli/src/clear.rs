//! `procura clear`: clear one instance with one mechanism, several, or all
//! of its market's, and print the outcomes as JSON (the spec's own), a
//! table or CSV; `--explain` says why each provider won or lost.
//! Procurement instances (with `providers`, spec Part A) and threshold
//! instances (with `users`, Part B) are told apart by their fields; a
//! mechanism of the other kind is refused.
//!
//! JSON shapes: one mechanism prints its outcome (§A.2, §B.2–§B.4) exactly
//! as before; several print one object keyed by mechanism name, in the
//! order given, each value that mechanism's outcome. `--explain` prints an
//! explanation object in place of each outcome (see `explain.rs`).

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use procura::procurement::explain::{explain, Explanation};
use procura::procurement::{self, Auction, Instance, Outcome};
use procura::threshold::withdrawal::{self, NullTest};
use procura::threshold::{subsidy, Protocol, SubsidyOutcome, ThresholdInstance, WithdrawalOutcome};
use procura::{Market, Mechanism};

use crate::explain as explained;
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
    /// The name it was given by.
    label: &'static str,
}

impl MechanismArg {
    fn all() -> impl Iterator<Item = MechanismArg> {
        let named = |label, mechanism| MechanismArg {
            mechanism,
            protocol_named: true,
            label,
        };
        let auctions =
            Auction::ALL.map(|auction| named(auction.name(), Mechanism::Auction(auction)));
        let withdrawals = Protocol::ALL.map(|protocol| {
            let name = match protocol {
                Protocol::Simultaneous => "withdrawal-simultaneous",
                Protocol::SmallFirst => "withdrawal-small-first",
                Protocol::LargeFirst => "withdrawal-large-first",
            };
            named(name, Mechanism::Withdrawal(protocol))
        });
        auctions
            .into_iter()
            .chain([
                named("subsidy", Mechanism::Subsidy),
                MechanismArg::bare_withdrawal(),
            ])
            .chain(withdrawals)
    }

    /// `withdrawal`, whose protocol is the instance's or `--protocol`.
    fn bare_withdrawal() -> MechanismArg {
        MechanismArg {
            mechanism: Mechanism::Withdrawal(Protocol::default()),
            protocol_named: false,
            label: "withdrawal",
        }
    }

    /// Every mechanism of `market`, as `--mechanism all` clears them: the
    /// five auctions, or the subsidy and withdrawal rights with the
    /// instance's protocol.
    fn of_market(market: Market) -> Vec<MechanismArg> {
        match market {
            Market::Procurement => MechanismArg::all()
                .filter(|arg| arg.market() == Market::Procurement)
                .collect(),
            Market::Threshold => MechanismArg::all()
                .filter(|arg| arg.label == "subsidy")
                .chain([MechanismArg::bare_withdrawal()])
                .collect(),
        }
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

/// Possible values of a mechanism flag: every name with its one-line
/// summary in `--help`.
fn possible_values() -> Vec<PossibleValue> {
    MechanismArg::all()
        .map(|arg| PossibleValue::new(arg.label).help(arg.mechanism.summary()))
        .collect()
}

fn find(name: &str) -> Result<MechanismArg, String> {
    MechanismArg::all()
        .find(|arg| arg.label == name)
        .ok_or_else(|| format!("unknown mechanism {name:?}"))
}

/// Accepts every mechanism name, and lists each with its one-line summary
/// in `--help`.
pub(crate) fn mechanism_parser() -> impl TypedValueParser<Value = MechanismArg> {
    PossibleValuesParser::new(possible_values()).try_map(|name| find(&name))
}

/// One entry of `clear --mechanism`: a mechanism, or `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    /// Every mechanism of the instance's market.
    All,
    /// One mechanism.
    One(MechanismArg),
}

fn selection_parser() -> impl TypedValueParser<Value = Selection> {
    let all = PossibleValue::new("all").help(
        "every mechanism of the instance's market: qmia, mut, mixed, volume and trust, or \
         subsidy and withdrawal; one that needs a field the instance omits is skipped, with a \
         note on stderr",
    );
    let values: Vec<PossibleValue> = possible_values().into_iter().chain([all]).collect();
    PossibleValuesParser::new(values).try_map(|name| match name.as_str() {
        "all" => Ok(Selection::All),
        name => find(name).map(Selection::One),
    })
}

fn protocol_parser() -> impl TypedValueParser<Value = Protocol> {
    PossibleValuesParser::new(Protocol::ALL.map(|protocol| PossibleValue::new(protocol.name())))
        .try_map(|name| name.parse::<Protocol>())
}

/// How `procura clear` writes what it cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// The spec's JSON: one outcome, or an object keyed by mechanism name.
    Json,
    /// Aligned columns for reading in a terminal (numbers rounded to six
    /// decimals).
    Table,
    /// One row per provider (or assigned user) and mechanism, every number
    /// in full.
    Csv,
}

/// Clear an instance and print the outcome.
///
/// A procurement instance (spec §A.1) has a budget and `providers` with id,
/// bid, quality, utility and optional volume and claimed_quality; its
/// outcome (§A.2) lists the winners in allocation order with their
/// payments. A threshold instance (§B.1) has a threshold and `users` with
/// id, cost, capacity and optional benefit; its outcome lists assignments,
/// payments, leakage and, for withdrawal rights, the withdrawal protocol's
/// statistics (§B.4); a null outcome is explained on stderr (in the table
/// itself with `--format table`).
///
/// With several mechanisms (`-m qmia,mut` or `-m all`), the JSON is one
/// object keyed by mechanism name, in the order given, each value that
/// mechanism's outcome (or explanation); tables and CSV list them one
/// after another.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance file, or `-` for standard input.
    instance: PathBuf,
    /// Mechanism to clear the instance with: one name, a comma-separated
    /// list, or `all`.
    #[arg(long, short, value_parser = selection_parser(), value_delimiter = ',', required = true)]
    mechanism: Vec<Selection>,
    /// Withdrawal protocol (withdrawal only), overriding the instance's
    /// `protocol` field [default: the instance's `protocol`, itself
    /// `simultaneous` by default].
    #[arg(long, value_parser = protocol_parser())]
    protocol: Option<Protocol>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Explain each provider's result: its score w, ratio r, rank, whether
    /// it won, why it lost (the proportional-share test or the budget) and
    /// its payment against its bid. Procurement mechanisms only.
    #[arg(long)]
    explain: bool,
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

/// Where an entry of the mechanism list came from: named, or `all`
/// (which skips a mechanism the instance lacks a field for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Named,
    All,
}

/// What one call cleared: the instance, and each mechanism's result under
/// the name it was asked for by, in the order asked.
#[derive(Debug)]
pub(crate) enum Report {
    /// Procurement outcomes.
    Auctions(Instance, Vec<(&'static str, Outcome)>),
    /// Procurement outcomes with their explanations (`--explain`).
    Explained(Instance, Vec<(&'static str, Explanation)>),
    /// Threshold outcomes.
    Threshold(ThresholdInstance, Vec<(&'static str, ThresholdResult)>),
}

/// A threshold mechanism's outcome.
#[derive(Debug)]
pub(crate) enum ThresholdResult {
    /// The subsidy's (§B.2).
    Subsidy(SubsidyOutcome),
    /// Withdrawal rights' (§B.3, §B.4), with the numbers of its null test.
    Withdrawal(WithdrawalOutcome, NullTest),
}

/// The mechanisms to clear with, in the order given, `all` expanded in
/// place for the instance's market, each once.
fn choose(args: &Args, text: &str) -> anyhow::Result<Vec<(MechanismArg, Origin)>> {
    let named = args.mechanism.iter().find_map(|selection| match selection {
        Selection::One(arg) => Some(*arg),
        Selection::All => None,
    });
    let market = match named {
        Some(arg) => arg.market(),
        None => procura_format::read::market(text).unwrap_or(Market::Procurement),
    };
    let mut chosen: Vec<(MechanismArg, Origin)> = Vec::new();
    for selection in &args.mechanism {
        let entries = match selection {
            Selection::One(arg) => vec![(*arg, Origin::Named)],
            Selection::All => MechanismArg::of_market(market)
                .into_iter()
                .map(|arg| (arg, Origin::All))
                .collect(),
        };
        for (arg, origin) in entries {
            if let Some(first) = named.filter(|first| first.market() != arg.market()) {
                return Err(anyhow!(
                    "--mechanism lists {} (a {} mechanism) and {} (a {} mechanism): an instance \
                     is of one market",
                    first.label,
                    first.market().name(),
                    arg.label,
                    arg.market().name(),
                ));
            }
            match chosen.iter_mut().find(|(seen, _)| seen.label == arg.label) {
                // Named anywhere, it is not skipped.
                Some(seen) if origin == Origin::Named => seen.1 = Origin::Named,
                Some(_) => {}
                None => chosen.push((arg, origin)),
            }
        }
    }
    let takes_protocol = chosen
        .iter()
        .any(|(arg, _)| *arg == MechanismArg::bare_withdrawal());
    if args.protocol.is_some() && !takes_protocol {
        return Err(anyhow!("--protocol applies only to withdrawal"));
    }
    if args.explain && market == Market::Threshold {
        return Err(anyhow!(
            "--explain explains the procurement mechanisms (qmia, mut, mixed, volume, trust) \
             only; {} is a threshold mechanism (every format says why a withdrawal outcome is \
             null)",
            chosen.first().map_or("this", |(arg, _)| arg.label),
        ));
    }
    Ok(chosen)
}

/// Clears with each mechanism. A named mechanism that cannot clear the
/// instance fails the command; one that `all` brought is skipped, with a
/// note.
fn clear_each(
    args: &Args,
    source: &Source,
    text: &str,
    chosen: &[(MechanismArg, Origin)],
    notes: &mut Vec<String>,
) -> anyhow::Result<Report> {
    let (first, _) = chosen[0];
    let cannot = |arg: MechanismArg| format!("{source}: cannot clear with {}", arg.name());
    let mut skip = |arg: MechanismArg, origin: Origin, error: &dyn std::fmt::Display| {
        (origin == Origin::All).then(|| notes.push(format!("{} skipped: {error}", arg.label)))
    };
    if first.market() == Market::Procurement {
        let instance = input::procurement_instance(source, text)
            .or_else(|error| check_kind(source, text, first).and(Err(error)))?;
        let mut outcomes = Vec::new();
        let mut explanations = Vec::new();
        for &(arg, origin) in chosen {
            let auction = arg.auction().context("a procurement mechanism")?;
            if let Err(error) = auction.check_clears(&instance) {
                if skip(arg, origin, &error).is_some() {
                    continue;
                }
            }
            if args.explain {
                let explanation = explain(&instance, auction).with_context(|| cannot(arg))?;
                explanations.push((arg.label, explanation));
            } else {
                let outcome =
                    procurement::clear(&instance, auction).with_context(|| cannot(arg))?;
                outcomes.push((arg.label, outcome));
            }
        }
        return Ok(if args.explain {
            Report::Explained(instance, explanations)
        } else {
            Report::Auctions(instance, outcomes)
        });
    }
    let instance = input::threshold_instance(source, text)
        .or_else(|error| check_kind(source, text, first).and(Err(error)))?;
    let mut results = Vec::new();
    for &(arg, origin) in chosen {
        let result = match arg.resolve(args.protocol, instance.protocol()) {
            Mechanism::Withdrawal(protocol) => {
                withdrawal::clear(&instance, protocol).and_then(|outcome| {
                    withdrawal::null_test(&instance)
                        .map(|test| ThresholdResult::Withdrawal(outcome, test))
                })
            }
            _ => subsidy::clear(&instance).map(ThresholdResult::Subsidy),
        };
        match result {
            Ok(result) => results.push((arg.label, result)),
            Err(error) => {
                if skip(arg, origin, &error).is_none() {
                    return Err(anyhow::Error::new(error).context(cannot(arg)));
                }
            }
        }
    }
    Ok(Report::Threshold(instance, results))
}

impl Report {
    fn is_empty(&self) -> bool {
        match self {
            Report::Auctions(_, outcomes) => outcomes.is_empty(),
            Report::Explained(_, explanations) => explanations.is_empty(),
            Report::Threshold(_, results) => results.is_empty(),
        }
    }
}

/// Runs the command and returns what it prints; notes (a mechanism that
/// `all` skipped, why a withdrawal outcome is null) go to stderr.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    let (source, text) = input::read(&args.instance)?;
    let chosen = choose(args, &text)?;
    let mut notes = Vec::new();
    let report = clear_each(args, &source, &text, &chosen, &mut notes)?;
    if report.is_empty() {
        return Err(anyhow!(
            "{source}: no mechanism can clear this instance ({})",
            notes.join("; ")
        ));
    }
    let single = chosen.len() == 1;
    let output = match (&report, args.format) {
        (Report::Auctions(instance, outcomes), Format::Json) if single => {
            render::procurement_outcome(instance, &outcomes[0].1)?
        }
        (Report::Threshold(instance, results), Format::Json) if single => match &results[0].1 {
            ThresholdResult::Subsidy(outcome) => render::subsidy_outcome(instance, outcome)?,
            ThresholdResult::Withdrawal(outcome, _) => {
                render::withdrawal_outcome(instance, outcome)?
            }
        },
        (Report::Explained(instance, explanations), format) => {
            explained::render(instance, explanations, format, single)?
        }
        (Report::Auctions(instance, outcomes), format) => {
            crate::tabulate::auctions(instance, outcomes, format)?
        }
        (Report::Threshold(instance, results), format) => {
            crate::tabulate::threshold(instance, results, format)?
        }
    };
    if args.format != Format::Table {
        notes.extend(crate::tabulate::null_notes(&report));
    }
    for note in notes {
        eprintln!("note: {note}");
    }
    Ok(output)
}
