//! `procura experiment` and `procura merge`: Monte-Carlo sweeps described
//! in TOML, run in parallel, written as CSV tables and SVG figures; and the
//! merge of sharded runs into the bytes one run would have written.
//!
//! The library reads the experiment file and runs it
//! ([`procura::experiment::design`]), and writes, reads back and merges
//! `results.csv` ([`procura::experiment::results_csv`]); this module reads
//! and writes files, draws the progress bar, and renders the summaries:
//! `summary.csv` and SVG figures (`plot.rs`).
//!
//! Output folder: `experiment.toml` (the input, byte for byte),
//! `results.csv` (a row per cell, replicate and mechanism), `summary.csv`
//! (mean, sd and 95% CI per cell, mechanism and metric) and
//! `figures/METRIC.svg`. A shard (`--shard i/n`) writes `experiment.toml`,
//! `shard.txt` and its cells' `results.csv`; `procura merge` turns the
//! shards into the same folder one run writes.
//!
//! The output folder must be new or empty, so that no file of an earlier
//! run lies beside the new results; `--force` replaces what a non-empty
//! folder holds ([`output::check_out`] says which folders it may clear).
//! `--plan` prints the cells and the record count and runs nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use procura::experiment::design::{parse_design, run_design, Design, GridCell};
use procura::experiment::results_csv::{
    csv_field, format_number, merge_shards, results_csv, Merged, ShardFiles,
};
use procura::experiment::{summarize, summary_rows, CellResult, Column, Shard, SUMMARY_COLUMNS};

use crate::output::{FolderMark, NotEmpty, OutFolder};
use crate::{output, plot, progress};

/// Run a Monte-Carlo experiment described in a TOML file.
///
/// Every cell of the parameter grid runs `replicates` replicates; replicate
/// r of a cell draws its instance from its own ChaCha8 stream derived from
/// (seed, the cell's instance stream, r), so the output is the same on any
/// number of threads and with any sharding. Cells that differ only in
/// `audit.` or `strategic.` keys share their instance stream: they see the
/// same instances (common random numbers).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Experiment file (TOML).
    file: PathBuf,
    /// Output folder: created if missing; one that is not empty is refused
    /// unless --force [required unless --plan].
    #[arg(long, required_unless_present = "plan")]
    out: Option<PathBuf>,
    /// Replace what a non-empty --out folder holds: once the run is done,
    /// its files are written and every other file of the folder deleted.
    /// Only a folder that an experiment wrote (it holds an
    /// `experiment.toml`) is cleared; never the current folder, a folder
    /// holding it, the home folder or one holding the experiment file.
    #[arg(long, requires = "out")]
    force: bool,
    /// Print the cells, their instance streams and the number of records,
    /// and check --out, without running or writing anything.
    #[arg(long, conflicts_with = "threads")]
    plan: bool,
    /// Run only shard I of N: the cells c with c mod N = I − 1, written as
    /// a shard folder (even 1/1). Combine the shards' folders with
    /// `procura merge` [default: every cell, written as a result folder].
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Worker threads, at least 1 [default: one per core]. Results do not
    /// depend on it.
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
    /// Output folder: created if missing; one that is not empty is refused
    /// unless --force.
    #[arg(long)]
    out: PathBuf,
    /// Replace what a non-empty --out folder holds, as `procura experiment
    /// --force` does (never a folder that holds a shard).
    #[arg(long)]
    force: bool,
}

/// A result folder: what `procura experiment` and `merge` write, and each
/// experiment's folder under `procura reproduce --out`.
const RESULT_FOLDER: FolderMark = FolderMark {
    files: &["experiment.toml", "results.csv", "summary.csv"],
    refusal: "a folder without an experiment.toml, a results.csv and a summary.csv (only a \
              folder that procura experiment, merge or reproduce wrote is cleared)",
};

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
    let shard = args.shard.unwrap_or(Shard::WHOLE);
    let folder = match &args.out {
        Some(out) => Some(output::check_out(
            out,
            NotEmpty::of(args.force),
            RESULT_FOLDER,
            &[&args.file],
        )?),
        None => None,
    };
    if args.plan {
        let out = args.out.as_deref().zip(folder);
        return Ok(plan(&design, args.shard, out));
    }
    let (Some(out), Some(folder)) = (&args.out, folder) else {
        return Err(anyhow!("--out is required unless --plan"));
    };
    let results = run_with_progress(&design, shard)?;
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
                results_csv(&design, &results)?.into_bytes(),
            ),
        ],
    };
    output::write_results(out, &files, &folder)?;
    let cells = results.len();
    let replicates = design.replicates();
    let mut report = format!(
        "{}: {cells} cells × {replicates} replicates × {} mechanisms → {}\n",
        design.name(),
        design.mechanisms().len(),
        out.display()
    );
    if let Some(description) = design.description() {
        report.push_str(description.trim());
        report.push('\n');
    }
    Ok(report)
}

/// The dry run of `--plan`: the cells of `shard` with their swept values
/// and instance streams, the record count, and what the run would do with
/// the output folder.
fn plan(design: &Design, shard: Option<Shard>, out: Option<(&Path, OutFolder)>) -> String {
    let cells: Vec<(usize, &GridCell)> = design
        .cells()
        .iter()
        .enumerate()
        .filter(|(index, _)| shard.unwrap_or(Shard::WHOLE).contains(*index as u64))
        .collect();
    let mechanisms: Vec<String> = design
        .mechanisms()
        .iter()
        .map(ToString::to_string)
        .collect();
    let records = (cells.len() as u64)
        .saturating_mul(design.replicates())
        .saturating_mul(mechanisms.len() as u64);
    let mut text = String::new();
    let name = match shard {
        Some(shard) => format!(
            "{}, shard {shard}: {} of {} cells",
            design.name(),
            cells.len(),
            design.cells().len()
        ),
        None => format!("{}: {} cells", design.name(), cells.len()),
    };
    let _ = writeln!(
        text,
        "{name} × {} replicates × {} mechanisms = {records} records (a plan: nothing is run)",
        design.replicates(),
        mechanisms.len()
    );
    let _ = writeln!(text, "mechanisms: {}", mechanisms.join(", "));
    if let Some((out, folder)) = out {
        let fate = match folder {
            OutFolder::Fresh => "new or empty",
            OutFolder::Replace(_) => "not empty: --force replaces what it holds",
        };
        let _ = writeln!(text, "output: {} ({fate})", out.display());
    }
    let mut header = vec!["cell".to_owned()];
    header.extend(design.keys().iter().cloned());
    header.push("instances".to_owned());
    let rows: Vec<Vec<String>> = cells
        .iter()
        .map(|(index, cell)| {
            let mut row = vec![index.to_string()];
            row.extend(cell.labels().iter().cloned());
            row.push(cell.stream().to_string());
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(value, &width)| format!("{value:<width$}"))
            .collect();
        let _ = writeln!(text, "{}", line.join("  ").trim_end());
    }
    let _ = writeln!(
        text,
        "cells with the same `instances` draw the same instances (common random numbers)"
    );
    text
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
            results_csv(design, results)?.into_bytes(),
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
    if let Some(svg) = plot::paired::figure(design, results)? {
        files.push((plot::paired::FILE.to_owned(), svg.into_bytes()));
    }
    Ok(files)
}

/// The grid cell of a result. Every result comes from `design` (a run of
/// it, or a shard's table read back against it, and `results.csv` is
/// written, checking that, before the tables that use this), so its cell
/// is one of the design's.
fn grid_cell<'a>(design: &'a Design, result: &CellResult) -> &'a GridCell {
    &design.cells()[result.cell() as usize]
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
    header.extend(design.keys().iter().map(|k| csv_field(k).into_owned()));
    header.extend(SUMMARY_COLUMNS.map(str::to_owned));
    csv.push_str(&header.join(","));
    csv.push('\n');
    for row in summary_rows(results) {
        let _ = write!(csv, "{}", row.cell);
        for label in design.cells()[row.cell as usize].labels() {
            let _ = write!(csv, ",{}", csv_field(label));
        }
        let summary = row.summary;
        let _ = writeln!(
            csv,
            ",{},{},{},{},{},{},{}",
            row.mechanism,
            row.metric.name(),
            summary.n,
            format_number(summary.mean),
            format_number(summary.sd),
            format_number(summary.ci_low),
            format_number(summary.ci_high),
        );
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

/// Runs `procura merge`: reads each shard folder's files, merges them
/// ([`merge_shards`] checks them, naming the folder) and writes the result
/// folder.
pub(crate) fn merge(args: &MergeArgs) -> anyhow::Result<String> {
    let inputs: Vec<&Path> = args.shards.iter().map(PathBuf::as_path).collect();
    let folder = output::check_out(&args.out, NotEmpty::of(args.force), RESULT_FOLDER, &inputs)?;
    let mut texts = Vec::with_capacity(args.shards.len());
    for folder in &args.shards {
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        texts.push([
            read("experiment.toml")?,
            read("shard.txt")?,
            read("results.csv")?,
        ]);
    }
    let shards: Vec<ShardFiles<'_>> = args
        .shards
        .iter()
        .zip(&texts)
        .map(|(folder, [experiment, shard, results])| ShardFiles {
            folder,
            experiment,
            shard,
            results,
        })
        .collect();
    let Merged { design, results } = merge_shards(&shards)?;
    let files = result_files(&design, &results)?;
    output::write_results(&args.out, &files, &folder)?;
    Ok(format!(
        "{}: merged {} shards ({} cells) → {}\n",
        design.name(),
        shards.len(),
        results.len(),
        args.out.display()
    ))
}
