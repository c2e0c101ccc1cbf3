//! `procura reproduce`: run the shipped experiments (`experiments/*.toml`,
//! one per claim of spec §B.5), judge every claim, and write the results.
//!
//! The experiment files are compiled into the binary, so the command runs
//! exactly the shipped files from any folder. For each experiment it
//! writes `OUT/<name>/` (what `procura experiment` writes: the input,
//! `results.csv`, `summary.csv`, `figures/`), then `OUT/claims.json` with
//! one verdict per claim (`procura::experiment::claims`), and prints a
//! table. Every file is staged before any is moved into place.
//!
//! `--quick` runs each experiment with its `quick_replicates` and fewer
//! real-data rounds; the `experiment.toml` written then says the number of
//! replicates actually run, so `procura experiment` on it gives the same
//! results. Two hidden flags, `--replicates N` and `--seeds N`, shrink the
//! run further (for tests on slow machines); they are not for reporting.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use procura::experiment::claims::{self, Accuracies, Claim, Evidence, Observed, Verdict};
use procura::experiment::CellResult;
use procura::procurement::Auction;
use procura::round::{self, RoundConfig, RoundData, RoundError, RoundReport};
use rayon::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::experiment::{parse_design, result_files, run_design, Design};
use crate::{demo, output, progress};

/// The shipped experiments, one per claim of §B.5, in claim order.
pub const SHIPPED: [(&str, &str); 7] = [
    (
        "p1a-leakage.toml",
        include_str!("../../../experiments/p1a-leakage.toml"),
    ),
    (
        "p1b-null.toml",
        include_str!("../../../experiments/p1b-null.toml"),
    ),
    (
        "p1c-protocols.toml",
        include_str!("../../../experiments/p1c-protocols.toml"),
    ),
    (
        "p2a-qmia-audit.toml",
        include_str!("../../../experiments/p2a-qmia-audit.toml"),
    ),
    (
        "p2b-baselines.toml",
        include_str!("../../../experiments/p2b-baselines.toml"),
    ),
    (
        "p2c-coalitions.toml",
        include_str!("../../../experiments/p2c-coalitions.toml"),
    ),
    (
        "p2d-liquidity.toml",
        include_str!("../../../experiments/p2d-liquidity.toml"),
    ),
];

/// Real-data rounds for the trained-model half of P2-b, full run.
const SEEDS: u64 = 50;
/// Real-data rounds under `--quick`.
const QUICK_SEEDS: u64 = 20;

/// Reproduce the claims of the specification (§B.5): run the shipped
/// experiments, judge each claim, write the results and claims.json.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run each experiment with its quick_replicates, and 20 real-data
    /// rounds instead of 50 (under 2 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Output folder (created if missing; files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: one per core). Results do not depend on it.
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
pub fn run(args: Args) -> anyhow::Result<String> {
    crate::threads::with_threads(args.threads, || run_in_pool(&args))
}

/// One experiment run and judged.
struct Judged {
    design: Design,
    replicates: u64,
    verdict: Verdict,
}

fn run_in_pool(args: &Args) -> anyhow::Result<String> {
    if args.replicates == Some(0) {
        bail!("--replicates must be at least 1");
    }
    let seeds = args
        .seeds
        .unwrap_or(if args.quick { QUICK_SEEDS } else { SEEDS });
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut judged = Vec::new();
    for (file, source) in SHIPPED {
        let design = parse_design(source).with_context(|| format!("experiments/{file}"))?;
        let replicates = match (args.replicates, args.quick) {
            (Some(n), _) => n,
            (None, true) => design.quick_replicates.unwrap_or(design.replicates),
            (None, false) => design.replicates,
        };
        let design = if replicates == design.replicates {
            design
        } else {
            let rewritten = with_replicates(source, replicates)
                .with_context(|| format!("experiments/{file}"))?;
            parse_design(&rewritten).with_context(|| format!("experiments/{file}"))?
        };
        let claim: Claim = design
            .claim
            .as_deref()
            .ok_or_else(|| anyhow!("experiments/{file}: no claim"))?
            .parse()
            .with_context(|| format!("experiments/{file}: claim"))?;
        let results = run_design(&design, None)?;
        let accuracy = if claim == Claim::P2b && seeds > 0 {
            let (accuracy, csv) = real_data(seeds)?;
            files.push(("p2b-real-data.csv".to_owned(), csv.into_bytes()));
            Some(accuracy)
        } else {
            None
        };
        let verdict = judge(claim, &design, &results, accuracy.as_ref())?;
        for (name, bytes) in result_files(&design, &results)? {
            files.push((format!("{}/{name}", design.name), bytes));
        }
        judged.push(Judged {
            design,
            replicates,
            verdict,
        });
    }
    for claim in Claim::ALL {
        if !judged.iter().any(|j| j.verdict.claim == claim) {
            bail!("no shipped experiment tests claim {claim}");
        }
    }
    files.push(("claims.json".to_owned(), claims_json(&judged).into_bytes()));
    output::write_folder(&args.out, &files)?;
    Ok(table(&judged, args))
}

/// Judges `claim` on an experiment's results.
fn judge(
    claim: Claim,
    design: &Design,
    results: &[CellResult],
    accuracy: Option<&Accuracies>,
) -> anyhow::Result<Verdict> {
    let points: Vec<Vec<f64>> = results
        .iter()
        .map(|result| {
            design.cells[result.cell() as usize]
                .1
                .iter()
                .map(|(_, x)| *x)
                .collect()
        })
        .collect();
    let observed = Observed {
        keys: &design.keys,
        points: &points,
        results,
    };
    let verdict = match claim {
        Claim::P1a => claims::p1a(&observed),
        Claim::P1b => claims::p1b(&observed),
        Claim::P1c => claims::p1c(&observed),
        Claim::P2a => claims::p2a(&observed),
        Claim::P2b => claims::p2b(&observed, accuracy),
        Claim::P2c => claims::p2c(&observed),
        Claim::P2d => claims::p2d(&observed),
    };
    Ok(verdict?)
}

/// The trained-model half of P2-b: `procura demo`'s round
/// ([`procura::round::run`] on the built-in wine data, every mechanism at
/// the same budget, best-responding providers) for seeds 0, 1, …,
/// `seeds − 1`, in parallel. Returns each seed's test accuracy per
/// mechanism, and a CSV of every purchase (`p2b-real-data.csv`).
fn real_data(seeds: u64) -> anyhow::Result<(Accuracies, String)> {
    let data = demo::wine()?;
    let config = RoundConfig::demo();
    let bar = progress::bar(seeds, "p2b-real-data");
    let reports: Vec<Result<RoundReport, RoundError>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let report = RoundData::split(&data, demo::N_TEST, demo::N_TRUSTED, seed)
                .and_then(|parts| round::run(&parts, &config, seed, &|_| {}));
            bar.inc(1);
            report
        })
        .collect();
    bar.finish_and_clear();
    let reports = reports
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("real-data round: {e}"))?;
    let mechanisms: Vec<String> = Auction::ALL.iter().map(|m| m.name().to_owned()).collect();
    let mut runs = Vec::new();
    let mut csv = format!("seed,budget,{}\n", demo::PURCHASE_COLUMNS);
    for report in &reports {
        let mut run = Vec::new();
        for mechanism in Auction::ALL {
            let purchase = report
                .purchase(mechanism)
                .ok_or_else(|| anyhow!("real-data round: no {mechanism} purchase"))?;
            run.push(purchase.accuracy);
            csv.push_str(&format!(
                "{},{},{}\n",
                report.seed,
                report.budget,
                demo::purchase_row(purchase)
            ));
        }
        runs.push(run);
    }
    Ok((Accuracies { mechanisms, runs }, csv))
}

/// `source` with its top-level `replicates = …` line replaced, comments
/// and everything else kept, so that the written `experiment.toml` says
/// what was run.
fn with_replicates(source: &str, replicates: u64) -> anyhow::Result<String> {
    let mut text = String::with_capacity(source.len() + 64);
    let mut top_level = true;
    let mut replaced = false;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        top_level &= !trimmed.starts_with('[');
        let is_replicates = trimmed
            .strip_prefix("replicates")
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if top_level && !replaced && is_replicates {
            text.push_str(&format!(
                "replicates = {replicates}  # as run by procura reproduce; the shipped file says: {}",
                trimmed.trim_end()
            ));
            text.push('\n');
            replaced = true;
        } else {
            text.push_str(line);
        }
    }
    if !replaced {
        bail!("no top-level `replicates = …` line to set");
    }
    Ok(text)
}

/// The figure that shows a claim best: the experiment's first.
fn figure(design: &Design) -> String {
    design.figures.first().map_or_else(String::new, |metric| {
        format!("{}/figures/{metric}.svg", design.name)
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
                        experiment: &judged.design.name,
                        replicates: judged.replicates,
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
    fn every_shipped_experiment_parses_and_names_a_distinct_claim() {
        let mut claims = Vec::new();
        for (file, source) in SHIPPED {
            let design = parse_design(source).unwrap_or_else(|e| panic!("{file}: {e:#}"));
            let claim: Claim = design
                .claim
                .as_deref()
                .unwrap_or_else(|| panic!("{file}: no claim"))
                .parse()
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(
                design.quick_replicates.is_some(),
                "{file}: quick_replicates"
            );
            assert!(design.description.is_some(), "{file}: description");
            claims.push(claim);
        }
        claims.sort();
        assert_eq!(claims, Claim::ALL);
    }

    #[test]
    fn replicates_are_rewritten_in_place() {
        let source = "name = \"x\"\n# replicates = 9 in a comment\nreplicates = 400\nquick_replicates = 4\n[t]\nreplicates = 1\n";
        let text = with_replicates(source, 7).expect("a replicates line");
        assert!(text.starts_with("name = \"x\"\n# replicates = 9 in a comment\nreplicates = 7  #"));
        assert!(text.ends_with("quick_replicates = 4\n[t]\nreplicates = 1\n"));
        for (file, source) in SHIPPED {
            let design = parse_design(&with_replicates(source, 3).expect(file)).expect(file);
            assert_eq!(design.replicates, 3, "{file}");
        }
        assert!(with_replicates("[t]\nreplicates = 1\n", 2).is_err());
    }
}
