//! `procura experiment` and `procura merge`: Monte-Carlo sweeps described
//! in TOML, run in parallel, written as CSV tables and SVG figures; and the
//! merge of sharded runs into the bytes one run would have written.
//!
//! An experiment file (see `experiments/` and the README):
//!
//! ```toml
//! name = "liquidity"
//! seed = 7
//! replicates = 200
//! mechanisms = ["qmia", "mixed"]
//! figures = ["value", "cash"]          # optional
//!
//! [procurement]                        # or [threshold]: the population
//! providers = 30
//! budget_fraction = 0.3
//! # … distributions, as in `procura audit --population` files
//!
//! [[sweep]]                            # any number; the grid is their product
//! key = "procurement.liquidity"
//! values = [0.0, 0.5, 1.0]
//! ```
//!
//! Output folder: `experiment.toml` (the input, byte for byte),
//! `results.csv` (a row per cell, replicate and mechanism), `summary.csv`
//! (mean, sd and 95% CI per cell, mechanism and metric) and
//! `figures/METRIC.svg`. A shard (`--shard i/n`) writes `experiment.toml`,
//! `shard.txt` and its cells' `results.csv`; `procura merge` turns the
//! shards into the same folder one run writes.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use procura::audit::{AuditConfig, BestResponseConfig};
use procura::experiment::{self, summarize, Cell, CellResult, MarketPopulation, Strategic};
use procura::population::{Population, PopulationSpec};
use procura::procurement::Auction;
use procura::threshold_population::{ThresholdPopulation, ThresholdPopulationSpec};
use procura::Mechanism;
use serde::Deserialize;

use crate::{output, plot, progress};

/// Run a Monte-Carlo experiment described in a TOML file.
///
/// Every cell of the parameter grid runs `replicates` replicates; replicate
/// r of cell c draws its instance from its own ChaCha8 stream derived from
/// (seed, c, r), so the output is the same on any number of threads and
/// with any sharding.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Experiment file (TOML).
    file: PathBuf,
    /// Output folder (created if missing; files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Run only shard I of N: the cells c with c mod N = I − 1, written as
    /// a shard folder (even 1/1). Combine the shards' folders with
    /// `procura merge`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
}

/// Merge the folders of a sharded experiment into one result folder, the
/// same bytes one unsharded run writes.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The shards' output folders, in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not I/N, e.g. 2/8"))?;
    let number = |part: &str| {
        part.trim()
            .parse::<u64>()
            .map_err(|_| format!("{text:?} is not I/N with whole numbers"))
    };
    let (index, count) = (number(index)?, number(count)?);
    if count == 0 || index == 0 || index > count {
        return Err(format!("{text:?}: need 1 ≤ I ≤ N"));
    }
    Ok(Shard { index, count })
}

/// The experiment file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExperimentFile {
    /// Short name, used in titles.
    name: String,
    /// What the experiment shows (free text).
    #[serde(default)]
    description: Option<String>,
    /// The claim of the spec this experiment tests (`procura reproduce`).
    #[serde(default)]
    claim: Option<String>,
    /// Master seed.
    seed: u64,
    /// Replicates per cell, ≥ 1.
    replicates: u64,
    /// Replicates per cell under `procura reproduce --quick`.
    #[serde(default)]
    quick_replicates: Option<u64>,
    /// Mechanism names.
    mechanisms: Vec<String>,
    /// Metrics to plot; default depends on the market.
    #[serde(default)]
    figures: Option<Vec<String>>,
    /// A procurement population (the format of `procura audit --population`).
    #[serde(default)]
    procurement: Option<toml::Value>,
    /// A threshold population.
    #[serde(default)]
    threshold: Option<toml::Value>,
    /// The audit run on every procurement instance, if any (validated per
    /// cell, since sweeps may change it).
    #[serde(default)]
    #[allow(dead_code)]
    audit: Option<toml::Value>,
    /// Best-responding providers, if any (validated per cell).
    #[serde(default)]
    #[allow(dead_code)]
    strategic: Option<toml::Value>,
    /// Swept keys.
    #[serde(default)]
    sweep: Vec<Sweep>,
}

/// `[audit]`: how hard to audit each instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditTable {
    #[serde(default = "default_grid")]
    grid: usize,
    #[serde(default = "default_coalition_size")]
    coalition_size: usize,
    #[serde(default = "default_sample")]
    max_coalitions: usize,
    #[serde(default = "default_sample")]
    max_participants: usize,
}

fn default_grid() -> usize {
    16
}
fn default_coalition_size() -> usize {
    2
}
fn default_sample() -> usize {
    10
}

/// `[strategic]`: under which mechanisms providers best-respond, and on
/// what grid (defaults: `BestResponseConfig::default_grid`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategicTable {
    mechanisms: Vec<String>,
    #[serde(default)]
    markups: Option<Vec<f64>>,
    #[serde(default)]
    claim_steps: Option<usize>,
    #[serde(default)]
    max_rounds: Option<usize>,
}

/// `[[sweep]]`: one swept key and its values.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sweep {
    key: String,
    values: Vec<toml::Value>,
}

/// A validated experiment: its cells and how to label them.
pub struct Design {
    /// The input file's bytes, copied into every output folder.
    pub source: String,
    /// The experiment's name.
    pub name: String,
    /// What it shows.
    pub description: Option<String>,
    /// The spec claim it tests, if any.
    pub claim: Option<String>,
    /// Master seed.
    pub seed: u64,
    /// Replicates per cell.
    pub replicates: u64,
    /// Replicates under `--quick`.
    pub quick_replicates: Option<u64>,
    /// Swept keys, in grid order (the first varies slowest).
    pub keys: Vec<String>,
    /// Every cell with its swept values (as written, and as numbers).
    pub cells: Vec<(Cell, Vec<(String, f64)>)>,
    /// Metrics plotted.
    pub figures: Vec<String>,
}

impl Design {
    /// The metric names of every record.
    pub fn metrics(&self) -> &'static [&'static str] {
        self.cells[0].0.market().metrics()
    }

    /// The mechanism names, in record order.
    pub fn mechanisms(&self) -> Vec<String> {
        self.cells[0]
            .0
            .mechanisms()
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// Reads and validates an experiment file.
pub fn read_design(path: &Path) -> anyhow::Result<Design> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_design(&source).with_context(|| format!("{}", path.display()))
}

/// Validates an experiment from its TOML text. Errors name the key.
pub fn parse_design(source: &str) -> anyhow::Result<Design> {
    let table: toml::Table = toml::from_str(source).map_err(|e| anyhow!("{}", e.message()))?;
    let file: ExperimentFile = deserialize(toml::Value::Table(table.clone()), "")?;
    if file.replicates == 0 {
        bail!("replicates: must be at least 1");
    }
    if file.quick_replicates == Some(0) {
        bail!("quick_replicates: must be at least 1");
    }
    let market_key = match (&file.procurement, &file.threshold) {
        (Some(_), None) => "procurement",
        (None, Some(_)) => "threshold",
        (Some(_), Some(_)) => bail!("procurement, threshold: give one population, not both"),
        (None, None) => bail!("procurement: missing (or a [threshold] population)"),
    };
    let mechanisms = file
        .mechanisms
        .iter()
        .enumerate()
        .map(|(i, name)| {
            name.parse::<Mechanism>()
                .map_err(|e| anyhow!("mechanisms[{i}]: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    // The grid: the product of the sweeps, the first varying slowest.
    let mut keys = Vec::new();
    for (i, sweep) in file.sweep.iter().enumerate() {
        let root = sweep.key.split('.').next().unwrap_or_default();
        if ![market_key, "audit", "strategic"].contains(&root) || !sweep.key.contains('.') {
            bail!(
                "sweep[{i}].key: {:?} is not a key of [{market_key}], [audit] or [strategic] \
                 (write it dotted, e.g. \"{market_key}.{}\")",
                sweep.key,
                if market_key == "procurement" {
                    "budget_fraction"
                } else {
                    "slack"
                }
            );
        }
        if keys.contains(&sweep.key) {
            bail!("sweep[{i}].key: {:?} is swept twice", sweep.key);
        }
        if sweep.values.is_empty() {
            bail!("sweep[{i}].values: give at least one value");
        }
        for (j, value) in sweep.values.iter().enumerate() {
            if number(value).is_none() {
                bail!("sweep[{i}].values[{j}]: {value} is not a finite number");
            }
        }
        keys.push(sweep.key.clone());
    }
    let mut points: Vec<Vec<&toml::Value>> = vec![Vec::new()];
    for sweep in &file.sweep {
        points = points
            .into_iter()
            .flat_map(|point| {
                sweep.values.iter().map(move |value| {
                    let mut point = point.clone();
                    point.push(value);
                    point
                })
            })
            .collect();
    }

    let cells = points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let mut cell_table = table.clone();
            let mut labels = Vec::new();
            for (key, value) in keys.iter().zip(point) {
                set_dotted(&mut cell_table, key, (*value).clone());
                labels.push((value.to_string(), number(value).unwrap_or(f64::NAN)));
            }
            let where_ = if keys.is_empty() {
                String::new()
            } else {
                let settings: Vec<String> = keys
                    .iter()
                    .zip(&labels)
                    .map(|(key, (label, _))| format!("{key} = {label}"))
                    .collect();
                format!(" (in cell {index}: {})", settings.join(", "))
            };
            let cell = build_cell(&cell_table, market_key, &mechanisms)
                .map_err(|e| anyhow!("{e:#}{where_}"))?;
            Ok((cell, labels))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let metrics = cells[0].0.market().metrics();
    let figures = match file.figures {
        Some(figures) => {
            for (i, figure) in figures.iter().enumerate() {
                if !metrics.contains(&figure.as_str()) {
                    bail!(
                        "figures[{i}]: {figure:?} is not a metric; expected one of {}",
                        metrics.join(", ")
                    );
                }
            }
            figures
        }
        None => default_figures(market_key),
    };
    Ok(Design {
        source: source.to_owned(),
        name: file.name,
        description: file.description,
        claim: file.claim,
        seed: file.seed,
        replicates: file.replicates,
        quick_replicates: file.quick_replicates,
        keys,
        cells,
        figures,
    })
}

fn default_figures(market: &str) -> Vec<String> {
    let metrics: &[&str] = if market == "procurement" {
        &["value", "cash"]
    } else {
        &["success", "expected_data", "spend", "leakage"]
    };
    metrics.iter().map(|m| (*m).to_owned()).collect()
}

/// A swept value as a number: TOML integers and finite floats.
fn number(value: &toml::Value) -> Option<f64> {
    match value {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) if x.is_finite() => Some(*x),
        _ => None,
    }
}

/// Sets `key` (dotted) in `table`, creating tables on the way.
fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or_default();
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else {
            unreachable!("just made a table")
        };
        current = next;
    }
    current.insert(leaf.to_owned(), value);
}

/// Deserializes, naming the key of any error.
/// Deserializes the table at `at` (a dotted key, or "" for the whole
/// file), naming the full key of any error.
fn deserialize<T: serde::de::DeserializeOwned>(value: toml::Value, at: &str) -> anyhow::Result<T> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().message().trim().to_owned();
        let key = match (at.is_empty(), path == ".") {
            (true, true) => return anyhow!("{message}"),
            (true, false) => path,
            (false, true) => at.to_owned(),
            (false, false) => format!("{at}.{path}"),
        };
        anyhow!("{key}: {message}")
    })
}

fn build_cell(
    table: &toml::Table,
    market_key: &str,
    mechanisms: &[Mechanism],
) -> anyhow::Result<Cell> {
    let population = table
        .get(market_key)
        .cloned()
        .unwrap_or_else(|| toml::Value::Table(toml::Table::new()));
    let prefixed = |e: anyhow::Error| anyhow!("{market_key}.{e:#}");
    let market = if market_key == "procurement" {
        let spec: PopulationSpec = deserialize(population, market_key)?;
        MarketPopulation::Procurement(Population::new(spec).map_err(|e| prefixed(e.into()))?)
    } else {
        let spec: ThresholdPopulationSpec = deserialize(population, market_key)?;
        MarketPopulation::Threshold(ThresholdPopulation::new(spec).map_err(|e| prefixed(e.into()))?)
    };
    let mut cell = Cell::new(market, mechanisms.to_vec())?;
    if let Some(value) = table.get("audit") {
        let audit: AuditTable = deserialize(value.clone(), "audit")?;
        if audit.grid == 0 || audit.grid > MAX_AUDIT_GRID {
            bail!(
                "audit.grid: {} is not between 1 and {MAX_AUDIT_GRID}",
                audit.grid
            );
        }
        cell = cell.with_audit(AuditConfig {
            grid: audit.grid,
            coalition_size: audit.coalition_size,
            max_coalitions: audit.max_coalitions,
            max_participants: Some(audit.max_participants),
            seed: 0,
        })?;
    }
    if let Some(value) = table.get("strategic") {
        let table: StrategicTable = deserialize(value.clone(), "strategic")?;
        let mechanisms = table
            .mechanisms
            .iter()
            .enumerate()
            .map(|(i, name)| {
                name.parse::<Auction>()
                    .map_err(|e| anyhow!("strategic.mechanisms[{i}]: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let default = BestResponseConfig::default_grid();
        let config = BestResponseConfig {
            markups: table.markups.unwrap_or(default.markups),
            claim_steps: table.claim_steps.unwrap_or(default.claim_steps),
            max_rounds: table.max_rounds.unwrap_or(default.max_rounds),
        };
        cell = cell.with_strategic(Strategic { config, mechanisms })?;
    }
    Ok(cell)
}

/// Runs the command and returns what it prints.
pub fn run(args: Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(&args))
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    let design = read_design(&args.file)?;
    let results = run_design(&design, args.shard)?;
    // Any --shard run, 1/1 included, writes a shard folder for `merge`.
    let files = match args.shard {
        None => result_files(&design, &results)?,
        Some(shard) => vec![
            (
                "experiment.toml".to_owned(),
                design.source.clone().into_bytes(),
            ),
            (
                "shard.txt".to_owned(),
                format!("{}/{}\n", shard.index, shard.count).into_bytes(),
            ),
            (
                "results.csv".to_owned(),
                results_csv(&design, &results).into_bytes(),
            ),
        ],
    };
    output::write_folder(&args.out, &files)?;
    let cells = results.len();
    let replicates = design.replicates;
    let mut report = format!(
        "{}: {cells} cells × {replicates} replicates × {} mechanisms → {}\n",
        design.name,
        design.mechanisms().len(),
        args.out.display()
    );
    if let Some(description) = &design.description {
        report.push_str(description.trim());
        report.push('\n');
    }
    Ok(report)
}

/// The most records (cell × replicate × mechanism) one run keeps in memory:
/// a few GiB.
const MAX_RECORDS: u64 = 20_000_000;

/// The largest `[audit] grid`.
const MAX_AUDIT_GRID: usize = 10_000;

/// Runs the design's replicates of the cells of `shard` (all with `None`)
/// with a progress bar.
pub fn run_design(design: &Design, shard: Option<Shard>) -> anyhow::Result<Vec<CellResult>> {
    let replicates = design.replicates;
    let shard = shard.unwrap_or(Shard { index: 1, count: 1 });
    let cells: Vec<(u64, Cell)> = (0u64..)
        .zip(&design.cells)
        .filter(|(index, _)| index % shard.count == shard.index - 1)
        .map(|(index, (cell, _))| (index, cell.clone()))
        .collect();
    let records = (cells.len() as u64)
        .checked_mul(replicates)
        .and_then(|n| n.checked_mul(design.mechanisms().len() as u64));
    if records.is_none_or(|records| records > MAX_RECORDS) {
        bail!(
            "replicates: {} cells × {replicates} replicates × {} mechanisms is more than the \
             {MAX_RECORDS} records one run holds in memory; lower replicates or split the run \
             with --shard",
            cells.len(),
            design.mechanisms().len()
        );
    }
    let bar = progress::bar(cells.len() as u64 * replicates, &design.name);
    let results = experiment::run(&cells, replicates, design.seed, &|| bar.inc(1));
    bar.finish_and_clear();
    Ok(results)
}

/// The files of a complete result folder.
pub fn result_files(
    design: &Design,
    results: &[CellResult],
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![
        (
            "experiment.toml".to_owned(),
            design.source.clone().into_bytes(),
        ),
        (
            "results.csv".to_owned(),
            results_csv(design, results).into_bytes(),
        ),
        (
            "summary.csv".to_owned(),
            summary_csv(design, results).into_bytes(),
        ),
    ];
    for metric in &design.figures {
        files.push((
            format!("figures/{metric}.svg"),
            figure(design, results, metric)?.into_bytes(),
        ));
    }
    Ok(files)
}

/// A number as written in result tables: integers without a fraction,
/// everything else in Rust's shortest round-trip form; NaN (a metric that
/// does not apply) as an empty field. Every field parses back to the same
/// double.
fn format_number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{x}")
    } else {
        format!("{x:?}")
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The header line of `results.csv`, without the newline.
fn results_header(design: &Design) -> String {
    let mut header = vec!["cell".to_owned(), "replicate".to_owned()];
    header.extend(design.keys.iter().map(|k| csv_field(k)));
    header.push("mechanism".to_owned());
    header.extend(design.metrics().iter().map(|m| (*m).to_owned()));
    header.join(",")
}

fn results_csv(design: &Design, results: &[CellResult]) -> String {
    let mut csv = results_header(design);
    csv.push('\n');
    for result in results {
        let labels = &design.cells[result.cell() as usize].1;
        for (replicate, records) in result.records().iter().enumerate() {
            for (mechanism, record) in result.mechanisms().iter().zip(records) {
                let _ = write!(csv, "{},{replicate}", result.cell());
                for (label, _) in labels {
                    let _ = write!(csv, ",{}", csv_field(label));
                }
                let _ = write!(csv, ",{mechanism}");
                for value in record {
                    let _ = write!(csv, ",{}", format_number(*value));
                }
                csv.push('\n');
            }
        }
    }
    csv
}

fn summary_csv(design: &Design, results: &[CellResult]) -> String {
    let mut csv = String::new();
    let mut header = vec!["cell".to_owned()];
    header.extend(design.keys.iter().map(|k| csv_field(k)));
    header.extend(
        [
            "mechanism",
            "metric",
            "n",
            "mean",
            "sd",
            "ci_low",
            "ci_high",
        ]
        .map(str::to_owned),
    );
    csv.push_str(&header.join(","));
    csv.push('\n');
    for result in results {
        let labels = &design.cells[result.cell() as usize].1;
        for (index, mechanism) in result.mechanisms().iter().enumerate() {
            for metric in result.metrics() {
                let values = result.metric(index, metric).unwrap_or_default();
                let summary = summarize(&values);
                if summary.n == 0 {
                    continue;
                }
                let _ = write!(csv, "{}", result.cell());
                for (label, _) in labels {
                    let _ = write!(csv, ",{}", csv_field(label));
                }
                let _ = writeln!(
                    csv,
                    ",{mechanism},{metric},{},{},{},{},{}",
                    summary.n,
                    format_number(summary.mean),
                    format_number(summary.sd),
                    format_number(summary.ci_low),
                    format_number(summary.ci_high),
                );
            }
        }
    }
    csv
}

/// The figure of `metric`: its mean (with 95% CI) against the first swept
/// key, a line per mechanism (and per value of the other swept keys); a
/// bar chart of the means when nothing is swept.
fn figure(design: &Design, results: &[CellResult], metric: &str) -> anyhow::Result<String> {
    let title = format!("{}: {metric}", design.name);
    if design.keys.is_empty() {
        let bars: Vec<plot::Bar> = results
            .iter()
            .flat_map(|result| {
                (0..result.mechanisms().len()).map(move |index| plot::Bar {
                    label: result.mechanisms()[index].clone(),
                    value: summarize(&result.metric(index, metric).unwrap_or_default()).mean,
                })
            })
            .collect();
        return plot::bar_chart(&title, &format!("mean {metric}"), &bars);
    }
    let mut series: Vec<plot::Series> = Vec::new();
    for result in results {
        let labels = &design.cells[result.cell() as usize].1;
        let others: Vec<String> = design.keys[1..]
            .iter()
            .zip(&labels[1..])
            .map(|(key, (label, _))| format!("{key}={label}"))
            .collect();
        for (index, mechanism) in result.mechanisms().iter().enumerate() {
            let name = if others.is_empty() {
                mechanism.clone()
            } else {
                format!("{mechanism} ({})", others.join(", "))
            };
            let summary = summarize(&result.metric(index, metric).unwrap_or_default());
            let point = plot::Point {
                x: labels[0].1,
                y: summary.mean,
                interval: (!summary.ci_low.is_nan()).then_some((summary.ci_low, summary.ci_high)),
            };
            match series.iter_mut().find(|s| s.label == name) {
                Some(series) => series.points.push(point),
                None => series.push(plot::Series {
                    label: name,
                    points: vec![point],
                }),
            }
        }
    }
    for line in &mut series {
        line.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    plot::line_chart(
        &title,
        &design.keys[0],
        &format!("mean {metric} (95% CI)"),
        &series,
    )
}

/// Runs `procura merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<String> {
    let mut source: Option<String> = None;
    let mut count: Option<u64> = None;
    let mut seen = BTreeSet::new();
    let mut tables = Vec::new();
    for folder in &args.shards {
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        let this_source = read("experiment.toml")?;
        match &source {
            Some(first) if *first != this_source => bail!(
                "{}: experiment.toml differs from that of {}: these are shards of different experiments",
                folder.display(),
                args.shards[0].display()
            ),
            _ => source = Some(this_source),
        }
        let shard_text = read("shard.txt")?;
        let shard = parse_shard(shard_text.trim())
            .map_err(|e| anyhow!("{}: shard.txt: {e}", folder.join("shard.txt").display()))?;
        if count.is_some_and(|n| n != shard.count) {
            bail!(
                "{}: shard {}/{} is from a split into {} shards, the others into {}",
                folder.display(),
                shard.index,
                shard.count,
                shard.count,
                count.unwrap_or_default()
            );
        }
        count = Some(shard.count);
        if !seen.insert(shard.index) {
            bail!(
                "{}: shard {}/{} is given twice",
                folder.display(),
                shard.index,
                shard.count
            );
        }
        tables.push((folder.join("results.csv"), read("results.csv")?, shard));
    }
    let (Some(source), Some(count)) = (source, count) else {
        bail!("no shards given");
    };
    let missing: Vec<String> = (1..=count)
        .filter(|i| !seen.contains(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        bail!("shards missing: {}", missing.join(", "));
    }
    let design = parse_design(&source).context("experiment.toml of the shards")?;
    let mut results: Vec<CellResult> = Vec::new();
    for (path, text, shard) in &tables {
        results.extend(
            parse_results(&design, text, *shard).with_context(|| format!("{}", path.display()))?,
        );
    }
    // Each shard held exactly its cells (c mod N = I − 1) and every shard
    // is here once, so the cells are 0, 1, …, each once.
    results.sort_by_key(CellResult::cell);
    debug_assert!((0u64..)
        .zip(&results)
        .all(|(cell, result)| result.cell() == cell));
    debug_assert_eq!(results.len(), design.cells.len());
    let files = result_files(&design, &results)?;
    output::write_folder(&args.out, &files)?;
    Ok(format!(
        "{}: merged {count} shards ({} cells) → {}\n",
        design.name,
        results.len(),
        args.out.display()
    ))
}

/// Reads the `results.csv` of shard `shard` back into cell results. The
/// file must be exactly what that shard writes: the header, then for each
/// of the shard's cells in order (c mod N = I − 1), each replicate in order,
/// one row per mechanism in order, with the cell's swept values; every
/// metric empty (does not apply) or a finite number.
fn parse_results(design: &Design, text: &str, shard: Shard) -> anyhow::Result<Vec<CellResult>> {
    let metrics = design.metrics();
    let mechanisms = design.mechanisms();
    let header = results_header(design);
    if text.lines().next() != Some(header.as_str()) {
        bail!("row 1: the header is not this experiment's: expected {header:?}");
    }
    let cells: Vec<u64> = (0..design.cells.len() as u64)
        .filter(|cell| cell % shard.count == shard.index - 1)
        .collect();
    let replicates = usize::try_from(design.replicates).unwrap_or(usize::MAX);
    // The rows this shard writes, in order.
    let n_mechanisms = mechanisms.len();
    let mut expected = cells.iter().flat_map(|&cell| {
        (0..replicates).flat_map(move |replicate| {
            (0..n_mechanisms).map(move |mechanism| (cell, replicate, mechanism))
        })
    });
    // Each cell's index and records, checked by `CellResult::new` at the end.
    let mut parsed: Vec<(u64, Vec<Vec<Vec<f64>>>)> = Vec::with_capacity(cells.len());
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    // The header was checked above.
    for (line, row) in reader.records().enumerate().skip(1) {
        let row = row.with_context(|| format!("row {}", line + 1))?;
        let at = |message: String| anyhow!("row {}: {message}", line + 1);
        let Some((cell, replicate, mechanism)) = expected.next() else {
            return Err(at("more rows than the shard's cells hold".to_owned()));
        };
        let labels = &design.cells[cell as usize].1;
        let mut wanted: Vec<String> = vec![cell.to_string(), replicate.to_string()];
        wanted.extend(labels.iter().map(|(label, _)| label.clone()));
        wanted.push(mechanisms[mechanism].clone());
        let written: Vec<&str> = row.iter().take(wanted.len()).collect();
        if written != wanted {
            return Err(at(format!(
                "expected cell {cell}, replicate {replicate}, mechanism {} (fields {}), found {}",
                mechanisms[mechanism],
                wanted.join(","),
                written.join(",")
            )));
        }
        if row.len() != wanted.len() + metrics.len() {
            return Err(at(format!(
                "{} fields, expected {}",
                row.len(),
                wanted.len() + metrics.len()
            )));
        }
        let values = row
            .iter()
            .skip(wanted.len())
            .zip(metrics)
            .map(|(field, metric)| {
                if field.is_empty() {
                    return Ok(f64::NAN);
                }
                match field.parse::<f64>() {
                    Ok(value) if value.is_finite() => Ok(value),
                    _ => Err(at(format!("{metric}: {field:?} is not a finite number"))),
                }
            })
            .collect::<anyhow::Result<Vec<f64>>>()?;
        if replicate == 0 && mechanism == 0 {
            parsed.push((cell, Vec::with_capacity(replicates)));
        }
        let (_, records) = parsed
            .last_mut()
            .unwrap_or_else(|| unreachable!("a cell's first row pushed it"));
        if mechanism == 0 {
            records.push(Vec::with_capacity(mechanisms.len()));
        }
        records
            .last_mut()
            .unwrap_or_else(|| unreachable!("a replicate's first row pushed it"))
            .push(values);
    }
    if let Some((cell, replicate, _)) = expected.next() {
        bail!("incomplete: the rows end before cell {cell}, replicate {replicate}");
    }
    parsed
        .into_iter()
        .map(|(cell, records)| {
            CellResult::new(cell, metrics, mechanisms.clone(), records)
                .map_err(|e| anyhow!("cell {cell}: {e}"))
        })
        .collect()
}
