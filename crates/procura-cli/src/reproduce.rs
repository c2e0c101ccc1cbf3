//! `procura reproduce`: run the shipped experiments (`experiments/*.toml`,
//! one per claim of spec §B.5), judge every claim, and write the results.
//!
//! The library knows the experiments, which claim each tests, the
//! real-data half of P2-b and the judges
//! ([`procura::experiment::reproduce`]); this module draws the progress
//! bars and writes the files. For each experiment it writes `OUT/<name>/`
//! (what `procura experiment` writes: the input, `results.csv`,
//! `summary.csv`, `figures/`), then `OUT/claims.json` with one verdict per
//! claim, and prints a table. Every file is staged before any is moved
//! into place.
//!
//! The output folder must be new or empty, as `procura experiment`'s must
//! ([`output::check_out`], checked before anything runs); `--force`
//! replaces what a non-empty one holds, but only in a folder that a
//! reproduction wrote ([`REPRODUCTION_FOLDER`]: it holds a `claims.json`).
//!
//! `--quick` runs each experiment with its `quick_replicates` and fewer
//! real-data rounds; the `experiment.toml` written then says the number of
//! replicates actually run, so `procura experiment` on it gives the same
//! results. Two hidden flags, `--replicates N` and `--seeds N`, shrink the
//! run further (for tests on slow machines); they are not for reporting.

use std::path::PathBuf;

use anyhow::bail;
use procura::experiment::claims::{Claim, Evidence, Verdict};
use procura::experiment::design::Design;
use procura::experiment::reproduce::{self, Replicates, QUICK_SEEDS, SEEDS};
use procura::experiment::Shard;
use procura::procurement::Auction;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::experiment::{result_files, run_with_progress};
use crate::output::{FolderMark, NotEmpty};
use crate::{demo, output, progress};

/// A reproduction's folder: what `procura reproduce` writes, known by its
/// `claims.json`.
const REPRODUCTION_FOLDER: FolderMark = FolderMark {
    files: &["claims.json"],
    refusal: "a folder without a claims.json (only a folder that procura reproduce wrote is \
              cleared)",
};

/// Reproduce the claims of the specification (§B.5): run the shipped
/// experiments, judge each claim, write the results and claims.json.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Run each experiment with its quick_replicates, and 20 real-data
    /// rounds instead of 50 (under 2 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Output folder: created if missing; one that is not empty is refused
    /// unless --force.
    #[arg(long)]
    out: PathBuf,
    /// Replace what a non-empty --out folder holds: once the run is done,
    /// its files are written and every other file of the folder deleted.
    /// Only a folder that a reproduction wrote (it holds a `claims.json`)
    /// is cleared; never the current folder, a folder holding it or the
    /// home folder.
    #[arg(long)]
    force: bool,
    /// Worker threads, at least 1 [default: one per core]. Results do not
    /// depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Replicates per cell for every experiment, overriding the files
    /// (for tests of the command; not for reporting).
    #[arg(long, hide = true)]
    replicates: Option<u64>,
    /// Real-data rounds for P2-b, 0 to skip them (for tests of the
    /// command; P2-b then does not hold).
    #[arg(long, hide = true)]
    seeds: Option<u64>,
}

/// Runs the command and returns what it prints.
pub(crate) fn run(args: &Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(args))
}

/// One experiment run and judged.
struct Judged {
    design: Design,
    verdict: Verdict,
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    let replicates = match (args.replicates, args.quick) {
        (Some(0), _) => bail!("--replicates must be at least 1"),
        (Some(n), _) => Replicates::Each(n),
        (None, true) => Replicates::Quick,
        (None, false) => Replicates::Full,
    };
    let seeds = args
        .seeds
        .unwrap_or(if args.quick { QUICK_SEEDS } else { SEEDS });
    let folder = output::check_out(
        &args.out,
        NotEmpty::of(args.force),
        REPRODUCTION_FOLDER,
        &[],
    )?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut judged = Vec::new();
    for experiment in reproduce::shipped(replicates)? {
        let design = experiment.design;
        let results = run_with_progress(&design, Shard::WHOLE)?;
        let accuracy = if experiment.claim == Claim::P2b && seeds > 0 {
            let bar = progress::bar(seeds, "p2b-real-data");
            let real = reproduce::real_data(
                &demo::wine()?,
                demo::N_TEST,
                demo::N_TRUSTED,
                seeds,
                &|| bar.inc(1),
            );
            bar.finish_and_clear();
            let real = real?;
            files.push(("p2b-real-data.csv".to_owned(), real_data_csv(&real)));
            Some(real.accuracies)
        } else {
            None
        };
        let verdict = reproduce::judge(experiment.claim, &design, &results, accuracy.as_ref())?;
        for (name, bytes) in result_files(&design, &results)? {
            files.push((format!("{}/{name}", design.name()), bytes));
        }
        judged.push(Judged { design, verdict });
    }
    files.push(("claims.json".to_owned(), claims_json(&judged).into_bytes()));
    output::write_results(&args.out, &files, &folder)?;
    Ok(table(&judged, args))
}

/// `p2b-real-data.csv`: every purchase of every real-data round, in seed
/// and [`Auction::ALL`] order.
fn real_data_csv(real: &reproduce::RealData) -> Vec<u8> {
    let mut csv = format!("seed,budget,{}\n", demo::PURCHASE_COLUMNS);
    for report in &real.reports {
        let purchases = Auction::ALL.iter().filter_map(|m| report.purchase(*m));
        for purchase in purchases {
            csv.push_str(&format!(
                "{},{},{}\n",
                report.seed,
                report.budget,
                demo::purchase_row(purchase)
            ));
        }
    }
    csv.into_bytes()
}

/// The figure that shows a claim best: the experiment's first.
fn figure(design: &Design) -> String {
    design.figures().first().map_or_else(String::new, |metric| {
        format!("{}/figures/{metric}.svg", design.name())
    })
}

/// `claims.json`: `{"P1-a": {"holds": …, …, "evidence": {…}}, …}` in
/// claim order.
fn claims_json(judged: &[Judged]) -> String {
    #[derive(Serialize)]
    struct ClaimJson<'a> {
        holds: bool,
        claim: &'static str,
        experiment: &'a str,
        replicates: u64,
        figure: String,
        headline: &'a str,
        rule: &'static str,
        evidence: Named<'a>,
    }
    struct All<'a>(&'a [Judged]);
    impl Serialize for All<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(Some(self.0.len()))?;
            for judged in self.0 {
                let verdict = &judged.verdict;
                map.serialize_entry(
                    verdict.claim.id(),
                    &ClaimJson {
                        holds: verdict.holds,
                        claim: verdict.claim.statement(),
                        experiment: judged.design.name(),
                        replicates: judged.design.replicates(),
                        figure: figure(&judged.design),
                        headline: &verdict.headline,
                        rule: verdict.rule,
                        evidence: Named(&verdict.evidence),
                    },
                )?;
            }
            map.end()
        }
    }
    // Serializing strings, booleans and numbers into a String cannot fail.
    let mut text = serde_json::to_string_pretty(&All(judged)).unwrap_or_default();
    text.push('\n');
    text
}

/// Named evidence as a JSON object, in order.
struct Named<'a>(&'a [(String, Evidence)]);

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, evidence) in self.0 {
            map.serialize_entry(name, &Json(evidence))?;
        }
        map.end()
    }
}

/// One piece of evidence as JSON: numbers (null when not finite), counts,
/// booleans, text, `{n, mean, sd, ci_low, ci_high}`, objects and arrays.
struct Json<'a>(&'a Evidence);

fn number(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Evidence::Number(x) => number(*x).serialize(serializer),
            Evidence::Count(n) => serializer.serialize_u64(*n),
            Evidence::Flag(flag) => serializer.serialize_bool(*flag),
            Evidence::Text(text) => serializer.serialize_str(text),
            Evidence::Mean(summary) => {
                let mut map = serializer.serialize_map(Some(5))?;
                map.serialize_entry("n", &summary.n)?;
                map.serialize_entry("mean", &number(summary.mean))?;
                map.serialize_entry("sd", &number(summary.sd))?;
                map.serialize_entry("ci_low", &number(summary.ci_low))?;
                map.serialize_entry("ci_high", &number(summary.ci_high))?;
                map.end()
            }
            Evidence::Group(parts) => Named(parts).serialize(serializer),
            Evidence::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
        }
    }
}

/// The printed table: claim, verdict, key numbers, figure.
fn table(judged: &[Judged], args: &Args) -> String {
    let mut text = String::new();
    let mode = if args.quick { "quick" } else { "full" };
    text.push_str(&format!(
        "procura reproduce ({mode}) → {}\n\n",
        args.out.display()
    ));
    text.push_str("claim  verdict          figure / key numbers\n");
    for j in judged {
        let verdict = if j.verdict.holds {
            "holds"
        } else {
            "does not hold"
        };
        text.push_str(&format!(
            "{:<6} {:<16} {}\n{:<24}{}\n",
            j.verdict.claim.id(),
            verdict,
            figure(&j.design),
            "",
            j.verdict.headline
        ));
    }
    let holding = judged.iter().filter(|j| j.verdict.holds).count();
    text.push_str(&format!(
        "\n{holding}/{} claims hold; evidence and rules in {}\n",
        judged.len(),
        args.out.join("claims.json").display()
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_claim_has_a_figure() {
        for experiment in reproduce::shipped(Replicates::Full).expect("valid shipped files") {
            let figure = figure(&experiment.design);
            assert!(
                figure.starts_with(&format!("{}/figures/", experiment.design.name())),
                "{}: {figure}",
                experiment.file
            );
        }
    }
}
