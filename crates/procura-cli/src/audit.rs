//! `procura audit`: search a mechanism for profitable misreports,
//! coalitions, IR and budget violations, on one instance or on a population
//! of instances drawn from a TOML file.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use procura::audit::{audit, certify, AuditConfig, ConfigError};
use procura::population::{audit_population, read_population};
use procura::threshold::{withdrawal, WithdrawalAssignment};
use procura::Mechanism;

use crate::clear::{check_kind, MechanismArg};

use crate::{input, output, progress, render};

/// Audit a mechanism: look for profitable misreports and coalitions, broken
/// individual rationality and broken budgets.
///
/// The instance's reports are taken as the participants' true types. The
/// search tries the points where outcomes change (other providers' ratios,
/// budget-share boundaries) with their ε-neighbourhoods, a grid, and local
/// refinement. Every reported deviation replays: clearing the instance with
/// the stated reports yields the stated gain. For Q-MIA and Mixed-MIA the
/// report adds a Myerson certificate (monotone allocation, payments equal to
/// bisected critical values).
///
/// With --population, draws --instances instances from the distributions in
/// a TOML file and audits them all in parallel.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Instance file, or `-` for standard input (omit with --population).
    #[arg(required_unless_present = "population", conflicts_with = "population")]
    instance: Option<PathBuf>,
    /// Mechanism to audit (withdrawal: its assignment stage, where users
    /// report costs; subsidy has no reports to audit).
    #[arg(long, short, value_parser = crate::clear::mechanism_parser())]
    mechanism: MechanismArg,
    /// Largest coalition searched, 1 to 8; 1 searches no coalitions
    /// [default: 2].
    #[arg(long)]
    coalition_size: Option<usize>,
    /// Grid points per report field, 1 to 10000 [default: 64; 16 with
    /// --population].
    #[arg(long)]
    grid: Option<usize>,
    /// Above this many coalitions of a size, search a seeded sample of this
    /// many, 1 to 100000 [default: 2000; 10 per instance with --population].
    #[arg(long)]
    max_coalitions: Option<usize>,
    /// Search the unilateral deviations of a seeded sample of this many
    /// participants [default: all; 10 per instance with --population].
    #[arg(long)]
    max_participants: Option<usize>,
    /// Seed for coalition sampling and population draws (ChaCha8).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Population file (TOML) to draw instances from.
    #[arg(long)]
    population: Option<PathBuf>,
    /// Number of instances to draw with --population.
    #[arg(long, default_value_t = 100, requires = "population")]
    instances: u64,
    /// Where to write the worst instance of a population audit, as a
    /// procurement instance that `procura audit` and `procura clear` read.
    #[arg(long, default_value = "audit-worst.json", requires = "population")]
    worst: PathBuf,
}

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    // A population audit runs thousands of audits, so by default each one
    // is a lighter, sampled search; a single audit searches everyone.
    let preset = if args.population.is_some() {
        AuditConfig::sampled()
    } else {
        AuditConfig::thorough()
    };
    let config = preset
        .clone()
        .with_grid(args.grid.unwrap_or(preset.grid()))
        .and_then(|config| {
            config.with_coalition_size(args.coalition_size.unwrap_or(preset.coalition_size()))
        })
        .and_then(|config| {
            config.with_max_coalitions(args.max_coalitions.unwrap_or(preset.max_coalitions()))
        })
        .and_then(|config| {
            config.with_max_participants(args.max_participants.or(preset.max_participants()))
        })
        .map_err(flag_error)?
        .with_seed(args.seed);
    if let Some(path) = &args.population {
        return run_population(args, path, &config);
    }
    let path = args
        .instance
        .as_ref()
        .ok_or_else(|| anyhow!("an instance or --population is required"))?;
    let (source, text) = input::read(path)?;
    let cannot = || format!("{source}: cannot audit {}", args.mechanism.name());
    match args.mechanism.mechanism() {
        Mechanism::Auction(mechanism) => {
            let instance = input::procurement_instance(&source, &text)
                .or_else(|error| check_kind(&source, &text, args.mechanism).and(Err(error)))?;
            procura::procurement::clear(&instance, mechanism).with_context(cannot)?;
            let report = audit(&mechanism, &instance, &config);
            let certificate = certify(mechanism, &instance);
            Ok(render::audit_report(
                &mechanism,
                &instance,
                &report,
                certificate.as_ref(),
            ))
        }
        Mechanism::Withdrawal(_) => {
            let instance = input::threshold_instance(&source, &text)
                .or_else(|error| check_kind(&source, &text, args.mechanism).and(Err(error)))?;
            withdrawal::assign(&instance).with_context(cannot)?;
            let report = audit(&WithdrawalAssignment, &instance, &config);
            Ok(render::audit_report(
                &WithdrawalAssignment,
                &instance,
                &report,
                None,
            ))
        }
        Mechanism::Subsidy => Err(anyhow!(
            "subsidy cannot be audited: users report nothing, they choose whether to give the floor"
        )),
    }
}

/// A config error in the words of the command line: `--grid`, not `grid`.
fn flag_error(error: ConfigError) -> anyhow::Error {
    match error {
        ConfigError::OutOfRange {
            field,
            value,
            low,
            high,
        } => anyhow!(
            "--{}: {value} is not between {low} and {high}",
            field.replace('_', "-")
        ),
        other => anyhow!(other),
    }
}

fn run_population(args: &Args, path: &Path, config: &AuditConfig) -> anyhow::Result<String> {
    let (source, text) = input::read(path)?;
    let population = read_population(&text).map_err(|error| anyhow!("{source}: {error}"))?;
    let Some(mechanism) = args.mechanism.auction() else {
        return Err(anyhow!(
            "population audits draw procurement markets; {} is a threshold mechanism",
            args.mechanism.name()
        ));
    };
    population
        .check_clears(mechanism)
        .map_err(|error| anyhow!("{source}: {error}"))?;
    let bar = progress::bar(args.instances, "auditing instances");
    let report = audit_population(
        mechanism,
        &population,
        args.instances,
        args.seed,
        config,
        &|| bar.inc(1),
    );
    bar.finish_and_clear();
    let worst = report
        .worst
        .as_ref()
        .map(|worst| render::procurement_instance(&worst.instance));
    let text = render::population_report(
        mechanism,
        args.seed,
        &report,
        worst.as_ref().map(|_| args.worst.as_path()),
    );
    if let Some(worst) = worst {
        let staged = output::stage(&args.worst, worst.as_bytes())?;
        output::commit(staged, &args.worst)?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Args as _;

    /// The help text states the presets' defaults, so it cannot drift from
    /// them silently.
    #[test]
    fn the_help_states_the_presets_defaults() {
        let command = Args::augment_args(clap::Command::new("audit"));
        let help = |id: &str| {
            command
                .get_arguments()
                .find(|arg| arg.get_id() == id)
                .and_then(|arg| arg.get_help())
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        let (one, many) = (AuditConfig::thorough(), AuditConfig::sampled());
        assert_eq!(one.coalition_size(), many.coalition_size());
        let expected = [
            (
                "coalition_size",
                format!("[default: {}]", one.coalition_size()),
            ),
            (
                "grid",
                format!(
                    "[default: {}; {} with --population]",
                    one.grid(),
                    many.grid()
                ),
            ),
            (
                "max_coalitions",
                format!(
                    "[default: {}; {} per instance with --population]",
                    one.max_coalitions(),
                    many.max_coalitions()
                ),
            ),
            (
                "max_participants",
                format!(
                    "[default: all; {} per instance with --population]",
                    many.max_participants().unwrap_or_default()
                ),
            ),
        ];
        assert_eq!(one.max_participants(), None);
        let ranges = [
            ("coalition_size", procura::audit::MAX_COALITION_SIZE),
            ("grid", procura::audit::MAX_GRID),
            ("max_coalitions", procura::audit::MAX_COALITIONS),
        ];
        for (id, high) in ranges {
            let text = help(id).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(text.contains(&format!("1 to {high}")), "--{id}: {text:?}");
        }
        for (id, default) in expected {
            let text = help(id).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                text.contains(&default),
                "--{id}: {text:?} lacks {default:?}"
            );
        }
    }
}
