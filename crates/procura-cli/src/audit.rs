//! `procura audit`: search a mechanism for profitable misreports,
//! coalitions, IR and budget violations, on one instance or on a population
//! of instances drawn from a TOML file.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use procura::audit::{audit, certify, AuditConfig, ConfigError};
use procura::population::{audit_population, read_population};
use procura::threshold::{withdrawal, WithdrawalAssignment};
use procura::Mechanism;
use procura_format::audit_report::parse_seed;

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
/// bisected critical values). The report ends with how it searched
/// (`search`) and the command that replays it (`replay`).
///
/// With --population, draws --instances instances from the distributions in
/// a TOML file and audits them all in parallel, each with a sampled search;
/// the instances with the largest profitable unilateral and coalition gains
/// are written to --worst and --worst-coalition.
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
    /// participants, at least 1 [default: all; 10 per instance with
    /// --population].
    #[arg(long)]
    max_participants: Option<usize>,
    /// Seed for coalition sampling and population draws (ChaCha8): a
    /// decimal integer below 2⁶⁴, bare or in double quotes as reports
    /// print it [default: 0].
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// Population file (TOML) to draw instances from.
    #[arg(long)]
    population: Option<PathBuf>,
    /// Number of instances to draw, at least 1 (only with --population)
    /// [default: 100].
    #[arg(long)]
    instances: Option<u64>,
    /// Where to write the instance with the largest profitable unilateral
    /// gain, as a procurement instance that `procura audit` and `procura
    /// clear` read (only with --population) [default: audit-worst.json].
    #[arg(long)]
    worst: Option<PathBuf>,
    /// Where to write the instance with the largest profitable coalition
    /// gain (only with --population) [default: audit-worst-coalition.json].
    #[arg(long)]
    worst_coalition: Option<PathBuf>,
    /// Worker threads, at least 1 [default: one per core]. Results do not
    /// depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// Instances a population audit draws without --instances.
const DEFAULT_INSTANCES: u64 = 100;
/// Where the worst unilateral instance goes without --worst.
const DEFAULT_WORST: &str = "audit-worst.json";
/// Where the worst coalition instance goes without --worst-coalition.
const DEFAULT_WORST_COALITION: &str = "audit-worst-coalition.json";

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(args))
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    if args.population.is_none() {
        let population_only = [
            ("--instances", args.instances.is_some()),
            ("--worst", args.worst.is_some()),
            ("--worst-coalition", args.worst_coalition.is_some()),
        ];
        if let Some((flag, _)) = population_only.iter().find(|(_, given)| *given) {
            return Err(anyhow!(
                "{flag} applies only to population audits: add --population FILE, or drop {flag}"
            ));
        }
    }
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
        .with_seed(args.seed.unwrap_or(0));
    if let Some(path) = &args.population {
        return run_population(args, path, &config);
    }
    let path = args
        .instance
        .as_ref()
        .ok_or_else(|| anyhow!("an instance or --population is required"))?;
    let (source, text) = input::read(path)?;
    let cannot = || format!("{source}: cannot audit {}", args.mechanism.name());
    let replay = render::audit_command(&path.display().to_string(), args.mechanism.name(), &config);
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
                &config,
                &replay,
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
                &config,
                &replay,
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
        ConfigError::TooSmall { field, value, low } => {
            anyhow!(
                "--{}: {value} is not at least {low}",
                field.replace('_', "-")
            )
        }
        other => anyhow!(other),
    }
}

fn run_population(args: &Args, path: &Path, config: &AuditConfig) -> anyhow::Result<String> {
    let instances = args.instances.unwrap_or(DEFAULT_INSTANCES);
    if instances == 0 {
        return Err(anyhow!("--instances: 0 is not at least 1"));
    }
    let worst_file = args
        .worst
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_WORST));
    let worst_coalition_file = args
        .worst_coalition
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_WORST_COALITION));
    if worst_file == worst_coalition_file {
        return Err(anyhow!(
            "--worst and --worst-coalition name the same file, {}",
            worst_file.display()
        ));
    }
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
    let seed = config.seed();
    let bar = progress::bar(instances, "auditing instances");
    let report = audit_population(mechanism, &population, instances, seed, config, &|| {
        bar.inc(1)
    });
    bar.finish_and_clear();
    let run = render::PopulationRun {
        mechanism,
        population: &path.display().to_string(),
        seed,
        config,
        worst_file: &worst_file,
        worst_coalition_file: &worst_coalition_file,
    };
    let text = render::population_report(&run, &report);
    // Both files are written in full before either is moved into place.
    let mut staged = Vec::new();
    for (worst, file) in [
        (&report.worst, &worst_file),
        (&report.worst_coalition, &worst_coalition_file),
    ] {
        if let Some(worst) = worst {
            let contents = render::worst_instance(worst);
            staged.push((output::stage(file, contents.as_bytes())?, file));
        }
    }
    for (file, path) in staged {
        output::commit(file, path)?;
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
        let constants = [
            ("instances", format!("[default: {DEFAULT_INSTANCES}]")),
            ("worst", format!("[default: {DEFAULT_WORST}]")),
            (
                "worst_coalition",
                format!("[default: {DEFAULT_WORST_COALITION}]"),
            ),
            ("seed", "[default: 0]".to_owned()),
            ("threads", "[default: one per core]".to_owned()),
        ];
        for (id, default) in constants {
            let text = help(id).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                text.contains(&default),
                "--{id}: {text:?} lacks {default:?}"
            );
        }
        // Every option but the required ones states its default.
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if ["instance", "mechanism", "population", "help"].contains(&id) {
                continue;
            }
            let text = help(id);
            assert!(
                text.contains("[default: ") || !arg.get_default_values().is_empty(),
                "--{id} does not state its default: {text:?}"
            );
        }
    }
}
