//! `procura experiment` and `procura merge`: Monte-Carlo sweeps described
//! in TOML, run in parallel, written as CSV tables and SVG figures; and the
//! merge of sharded runs into the bytes one run would have written.
//!
//! The library reads the experiment file and runs it
//! ([`procura::experiment::design`]); this module reads and writes files,
//! draws the progress bar, and renders the records: CSV tables (through
//! the records' one table of columns, [`Record::fields`] and
//! [`Record::parse`]) and SVG figures (`plot.rs`).
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
use procura::experiment::design::{parse_design, run_design, Design, GridCell};
use procura::experiment::{summarize, CellResult, Column, Record, Shard};

use crate::output::csv_field;
use crate::{output, plot, progress};

/// Run a Monte-Carlo experiment described in a TOML file.
///
/// Every cell of the parameter grid runs `replicates` replicates; replicate
/// r of cell c draws its instance from its own ChaCha8 stream derived from
/// (seed, c, r), so the output is the same on any number of threads and
/// with any sharding.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
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
pub(crate) struct MergeArgs {
    /// The shards' output folders, in any order.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    text.parse()
        .map_err(|e: procura::experiment::ShardError| e.to_string())
}

/// Reads and validates an experiment file.
pub(crate) fn read_design(path: &Path) -> anyhow::Result<Design> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_design(&source).with_context(|| format!("{}", path.display()))
}

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(args))
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    let design = read_design(&args.file)?;
    let results = run_with_progress(&design, args.shard.unwrap_or(Shard::WHOLE))?;
    // Any --shard run, 1/1 included, writes a shard folder for `merge`.
    let files = match args.shard {
        None => result_files(&design, &results)?,
        Some(shard) => vec![
            (
                "experiment.toml".to_owned(),
                design.source().as_bytes().to_vec(),
            ),
            ("shard.txt".to_owned(), format!("{shard}\n").into_bytes()),
            (
                "results.csv".to_owned(),
                results_csv(&design, &results).into_bytes(),
            ),
        ],
    };
    output::write_folder(&args.out, &files)?;
    let cells = results.len();
    let replicates = design.replicates();
    let mut report = format!(
        "{}: {cells} cells × {replicates} replicates × {} mechanisms → {}\n",
        design.name(),
        design.mechanisms().len(),
        args.out.display()
    );
    if let Some(description) = design.description() {
        report.push_str(description.trim());
        report.push('\n');
    }
    Ok(report)
}

/// Runs the design's cells of `shard` with a progress bar.
pub(crate) fn run_with_progress(design: &Design, shard: Shard) -> anyhow::Result<Vec<CellResult>> {
    let bar = progress::bar(design.replicates_to_run(shard), design.name());
    let results = run_design(design, shard, &|| bar.inc(1));
    bar.finish_and_clear();
    Ok(results?)
}

/// The files of a complete result folder.
pub(crate) fn result_files(
    design: &Design,
    results: &[CellResult],
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = vec![
        (
            "experiment.toml".to_owned(),
            design.source().as_bytes().to_vec(),
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
    for metric in design.figures() {
        files.push((
            format!("figures/{metric}.svg"),
            figure(design, results, *metric)?.into_bytes(),
        ));
    }
    Ok(files)
}

/// A number as written in result tables: integers without a fraction,
/// everything else in Rust's shortest round-trip form; NaN (a summary that
/// does not exist) as an empty field. Every field parses back to the same
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

/// The header line of `results.csv`, without the newline.
fn results_header(design: &Design) -> String {
    let mut header = vec!["cell".to_owned(), "replicate".to_owned()];
    header.extend(design.keys().iter().map(|k| csv_field(k)));
    header.push("mechanism".to_owned());
    header.extend(design.columns().iter().map(|c| (*c).to_owned()));
    header.join(",")
}

/// The grid cell of a result. Every result comes from `design` (a run of
/// it, or a shard's table read back against it), so its cell is one of
/// the design's.
fn grid_cell<'a>(design: &'a Design, result: &CellResult) -> &'a GridCell {
    &design.cells()[result.cell() as usize]
}

fn results_csv(design: &Design, results: &[CellResult]) -> String {
    let mut csv = results_header(design);
    csv.push('\n');
    for result in results {
        let labels = grid_cell(design, result).labels();
        let mechanisms = result.mechanisms();
        for (replicate, records) in result.rows().enumerate() {
            for (mechanism, record) in mechanisms.iter().zip(records) {
                let _ = write!(csv, "{},{replicate}", result.cell());
                for label in labels {
                    let _ = write!(csv, ",{}", csv_field(label));
                }
                let _ = write!(csv, ",{mechanism}");
                for field in record.fields() {
                    let _ = write!(csv, ",{}", format_field(field));
                }
                csv.push('\n');
            }
        }
    }
    csv
}

/// A record's field as written in `results.csv`: empty where it does not
/// apply.
fn format_field(field: Option<f64>) -> String {
    field.map_or_else(String::new, format_number)
}

/// Every replicate's value of `column` under mechanism number
/// `mechanism`, as a sample (`None` where it does not apply). Every result
/// and column come from one design, so the column is of the result's
/// market and the mechanism is one of its.
fn sample(result: &CellResult, mechanism: usize, column: Column) -> Vec<Option<f64>> {
    result.column(mechanism, column).unwrap_or_default()
}

fn summary_csv(design: &Design, results: &[CellResult]) -> String {
    let mut csv = String::new();
    let mut header = vec!["cell".to_owned()];
    header.extend(design.keys().iter().map(|k| csv_field(k)));
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
        let labels = grid_cell(design, result).labels();
        for (index, mechanism) in result.mechanisms().iter().enumerate() {
            for column in Column::all(result.market()) {
                let metric = column.name();
                let summary = summarize(&sample(result, index, column));
                if summary.n == 0 {
                    continue;
                }
                let _ = write!(csv, "{}", result.cell());
                for label in labels {
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
fn figure(design: &Design, results: &[CellResult], metric: Column) -> anyhow::Result<String> {
    let title = format!("{}: {metric}", design.name());
    let mean = |result: &CellResult, index: usize| summarize(&sample(result, index, metric));
    let keys = design.keys();
    if keys.is_empty() {
        let bars: Vec<plot::Bar> = results
            .iter()
            .flat_map(|result| {
                result
                    .mechanisms()
                    .into_iter()
                    .enumerate()
                    .map(move |(index, mechanism)| plot::Bar {
                        label: mechanism.to_string(),
                        value: mean(result, index).mean,
                    })
            })
            .collect();
        return plot::bar_chart(&title, &format!("mean {metric}"), &bars);
    }
    let mut series: Vec<plot::Series> = Vec::new();
    for result in results {
        let cell = grid_cell(design, result);
        let others: Vec<String> = keys[1..]
            .iter()
            .zip(&cell.labels()[1..])
            .map(|(key, label)| format!("{key}={label}"))
            .collect();
        for (index, mechanism) in result.mechanisms().iter().enumerate() {
            let name = if others.is_empty() {
                mechanism.to_string()
            } else {
                format!("{mechanism} ({})", others.join(", "))
            };
            let summary = mean(result, index);
            let point = plot::Point {
                x: cell.point()[0],
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
        &keys[0],
        &format!("mean {metric} (95% CI)"),
        &series,
    )
}

/// How many missing shards `procura merge` names (it counts the rest).
const MISSING_NAMED: usize = 10;

/// Runs `procura merge`.
pub(crate) fn merge(args: &MergeArgs) -> anyhow::Result<String> {
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
        if count.is_some_and(|n| n != shard.count()) {
            bail!(
                "{}: shard {shard} is from a split into {} shards, the others into {}",
                folder.display(),
                shard.count(),
                count.unwrap_or_default()
            );
        }
        count = Some(shard.count());
        if !seen.insert(shard.index()) {
            bail!("{}: shard {shard} is given twice", folder.display());
        }
        tables.push((folder.join("results.csv"), read("results.csv")?, shard));
    }
    let (Some(source), Some(count)) = (source, count) else {
        bail!("no shards given");
    };
    // count ≤ MAX_SHARDS (Shard checks), and only the first few missing
    // are named.
    let mut missing = (1..=count).filter(|i| !seen.contains(i));
    let named: Vec<String> = missing
        .by_ref()
        .take(MISSING_NAMED)
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !named.is_empty() {
        let more = missing.count();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        bail!("shards missing: {}{more}", named.join(", "));
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
    debug_assert_eq!(results.len(), design.cells().len());
    let files = result_files(&design, &results)?;
    output::write_folder(&args.out, &files)?;
    Ok(format!(
        "{}: merged {count} shards ({} cells) → {}\n",
        design.name(),
        results.len(),
        args.out.display()
    ))
}

/// Reads the `results.csv` of shard `shard` back into cell results. The
/// file must be exactly what that shard writes: the header, then for each
/// of the shard's cells in order (c mod N = I − 1), each replicate in order,
/// one row per mechanism in order, with the cell's swept values; every
/// field empty (does not apply) or a finite number, read back into its
/// record by [`Record::parse`]; every row, the last included, ended by a
/// newline.
///
/// A file cut short is refused, wherever the cut: inside a row (its last
/// field shortened, or ending right after a comma, would still parse) the
/// file lacks its final newline; between rows, a cell lacks records
/// (replicates × mechanisms per cell are checked).
fn parse_results(design: &Design, text: &str, shard: Shard) -> anyhow::Result<Vec<CellResult>> {
    if !text.is_empty() && !text.ends_with('\n') {
        bail!(
            "line {}: the file ends inside this row (no newline after it): it was cut short",
            text.lines().count()
        );
    }
    let columns = design.columns();
    let mechanisms = design.mechanisms();
    let header = results_header(design);
    if text.lines().next() != Some(header.as_str()) {
        bail!("row 1: the header is not this experiment's: expected {header:?}");
    }
    let cells: Vec<u64> = shard.cells(design.cells().len() as u64).collect();
    let replicates = usize::try_from(design.replicates()).unwrap_or(usize::MAX);
    // The rows this shard writes, in order.
    let n_mechanisms = mechanisms.len();
    let mut expected = cells.iter().flat_map(|&cell| {
        (0..replicates).flat_map(move |replicate| {
            (0..n_mechanisms).map(move |mechanism| (cell, replicate, mechanism))
        })
    });
    // Every record in row order, cut into cells and replicates at the end.
    let mut records: Vec<Record> = Vec::new();
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
        let labels = design.cells()[cell as usize].labels();
        let mut wanted: Vec<String> = vec![cell.to_string(), replicate.to_string()];
        wanted.extend(labels.iter().cloned());
        wanted.push(mechanisms[mechanism].to_string());
        let written: Vec<&str> = row.iter().take(wanted.len()).collect();
        if written != wanted {
            return Err(at(format!(
                "expected cell {cell}, replicate {replicate}, mechanism {} (fields {}), found {}",
                mechanisms[mechanism],
                wanted.join(","),
                written.join(",")
            )));
        }
        if row.len() != wanted.len() + columns.len() {
            return Err(at(format!(
                "{} fields, expected {}",
                row.len(),
                wanted.len() + columns.len()
            )));
        }
        let fields = row
            .iter()
            .skip(wanted.len())
            .zip(columns)
            .map(|(field, column)| {
                if field.is_empty() {
                    return Ok(None);
                }
                match field.parse::<f64>() {
                    Ok(value) if value.is_finite() => Ok(Some(value)),
                    _ => Err(at(format!("{column}: {field:?} is not a finite number"))),
                }
            })
            .collect::<anyhow::Result<Vec<Option<f64>>>>()?;
        records.push(Record::parse(design.market(), &fields).map_err(|e| at(e.to_string()))?);
    }
    if let Some((cell, replicate, _)) = expected.next() {
        bail!("incomplete: the rows end before cell {cell}, replicate {replicate}");
    }
    // Every row was the expected one, so there are exactly replicates ×
    // mechanisms records per cell, in order.
    let per_cell = replicates.saturating_mul(n_mechanisms).max(1);
    cells
        .iter()
        .zip(records.chunks(per_cell))
        .map(|(&cell, records)| {
            let records = records
                .chunks(n_mechanisms.max(1))
                .map(<[Record]>::to_vec)
                .collect();
            CellResult::new(cell, design.market(), mechanisms.to_vec(), records)
                .map_err(|e| anyhow!("cell {cell}: {e}"))
        })
        .collect()
}
