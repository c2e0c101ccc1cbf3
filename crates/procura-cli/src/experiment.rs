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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use procura::experiment::design::{parse_design, run_design, Design, GridCell};
use procura::experiment::results_csv::{
    csv_field, format_number, merge_shards, results_csv, Merged, ShardFiles,
};
use procura::experiment::{summarize, CellResult, Column, Shard};

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
                results_csv(&design, &results)?.into_bytes(),
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

/// Runs `procura merge`: reads each shard folder's files, merges them
/// ([`merge_shards`] checks them, naming the folder) and writes the result
/// folder.
pub(crate) fn merge(args: &MergeArgs) -> anyhow::Result<String> {
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
    output::write_folder(&args.out, &files)?;
    Ok(format!(
        "{}: merged {} shards ({} cells) → {}\n",
        design.name(),
        shards.len(),
        results.len(),
        args.out.display()
    ))
}
