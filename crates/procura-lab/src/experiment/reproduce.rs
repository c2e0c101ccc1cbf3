//! Reproduction of the claims of spec §B.5 (`procura reproduce`): the
//! shipped experiments, which claim each tests, how many replicates a run
//! gives them, the real-data half of P2-b, and the judge of each claim.
//!
//! The experiment files (`experiments/*.toml`) are compiled into the
//! library, so a reproduction runs exactly the shipped files. A run is:
//!
//! ```text
//! shipped(replicates)            every experiment, with its claim and design
//!   → run_design(design)         its records (design.rs)
//!   → real_data(wine, …, seeds)  P2-b only: accuracies of the trained models
//!   → judge(claim, …)            the verdict (claims.rs)
//! ```
//!
//! ```
//! use procura_lab::experiment::claims::Claim;
//! use procura_lab::experiment::reproduce::{shipped, Replicates};
//!
//! let experiments = shipped(Replicates::Each(2))?;
//! assert_eq!(experiments.len(), Claim::ALL.len());
//! assert_eq!(experiments[0].claim, Claim::P1a);
//! assert_eq!(experiments[0].design.replicates(), 2);
//! # Ok::<(), procura_lab::experiment::reproduce::ReproduceError>(())
//! ```

use rayon::prelude::*;

use procura_mechanisms::procurement::Auction;
use procura_valuation::Dataset;

use super::claims::{self, Accuracies, Claim, ClaimError, Observed, UnknownClaim, Verdict};
use super::design::{parse_design, Design, DesignError};
use super::CellResult;
use crate::round::{self, RoundConfig, RoundData, RoundError, RoundReport};

/// The shipped experiments, one per claim of §B.5, in claim order: file
/// name and text.
pub const SHIPPED: [(&str, &str); 7] = [
    (
        "p1a-leakage.toml",
        include_str!("../../../../experiments/p1a-leakage.toml"),
    ),
    (
        "p1b-null.toml",
        include_str!("../../../../experiments/p1b-null.toml"),
    ),
    (
        "p1c-protocols.toml",
        include_str!("../../../../experiments/p1c-protocols.toml"),
    ),
    (
        "p2a-qmia-audit.toml",
        include_str!("../../../../experiments/p2a-qmia-audit.toml"),
    ),
    (
        "p2b-baselines.toml",
        include_str!("../../../../experiments/p2b-baselines.toml"),
    ),
    (
        "p2c-coalitions.toml",
        include_str!("../../../../experiments/p2c-coalitions.toml"),
    ),
    (
        "p2d-liquidity.toml",
        include_str!("../../../../experiments/p2d-liquidity.toml"),
    ),
];

/// Real-data rounds for the trained-model half of P2-b, in a full run.
pub const SEEDS: u64 = 50;
/// Real-data rounds under `--quick`.
pub const QUICK_SEEDS: u64 = 20;

/// Why the shipped experiments cannot be reproduced. Messages name the
/// experiment file, and include the error they wrap (so no variant has a
/// `source`, which would print it twice in a chain).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReproduceError {
    /// A shipped file is not a valid design.
    #[error("experiments/{file}: {error}")]
    Design {
        /// The file's name.
        file: &'static str,
        /// Why.
        error: DesignError,
    },
    /// A shipped file names no claim.
    #[error("experiments/{file}: no claim")]
    NoClaim {
        /// The file's name.
        file: &'static str,
    },
    /// A shipped file names a claim §B.5 does not list.
    #[error("experiments/{file}: claim: {error}")]
    UnknownClaim {
        /// The file's name.
        file: &'static str,
        /// The claim as written.
        error: UnknownClaim,
    },
    /// No shipped experiment tests a claim.
    #[error("no shipped experiment tests claim {0}")]
    Untested(Claim),
    /// A real-data round failed.
    #[error("real-data round: {0}")]
    Round(RoundError),
    /// A real-data round has no purchase of an auction.
    #[error("real-data round: no {0} purchase")]
    NoPurchase(Auction),
}

/// How many replicates each shipped experiment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicates {
    /// The file's `replicates`.
    Full,
    /// The file's `quick_replicates` (its `replicates` when absent).
    Quick,
    /// This many for every experiment, ≥ 1 (for tests of the command; not
    /// for reporting).
    Each(u64),
}

/// A shipped experiment, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Its file name in `experiments/`.
    pub file: &'static str,
    /// The claim it tests.
    pub claim: Claim,
    /// The design, with the replicates it runs (its source rewritten to
    /// say so when they differ from the file's).
    pub design: Design,
}

/// Every shipped experiment in claim order, with `replicates`.
///
/// Fails, naming the file, on a file that is not a valid design or names
/// no claim of §B.5 (or, with [`Replicates::Each`]`(0)`, with the
/// design's own error), and when a claim has no experiment.
pub fn shipped(replicates: Replicates) -> Result<Vec<Experiment>, ReproduceError> {
    let mut experiments = Vec::with_capacity(SHIPPED.len());
    for (file, source) in SHIPPED {
        let design_error = |error| ReproduceError::Design { file, error };
        let design = parse_design(source).map_err(design_error)?;
        let claim: Claim = design
            .claim()
            .ok_or(ReproduceError::NoClaim { file })?
            .parse()
            .map_err(|error| ReproduceError::UnknownClaim { file, error })?;
        let n = match replicates {
            Replicates::Full => design.replicates(),
            Replicates::Quick => design.quick_replicates().unwrap_or(design.replicates()),
            Replicates::Each(n) => n,
        };
        let design = design.with_replicates(n).map_err(design_error)?;
        experiments.push(Experiment {
            file,
            claim,
            design,
        });
    }
    for claim in Claim::ALL {
        if !experiments.iter().any(|e| e.claim == claim) {
            return Err(ReproduceError::Untested(claim));
        }
    }
    Ok(experiments)
}

/// Judges `claim` on a design's results (all its cells, in order);
/// `accuracy` is the real-data half of P2-b ([`real_data`]), read only
/// for that claim.
pub fn judge(
    claim: Claim,
    design: &Design,
    results: &[CellResult],
    accuracy: Option<&Accuracies>,
) -> Result<Verdict, ClaimError> {
    // A result of a cell the design does not have gets no point, so the
    // judge refuses the shape.
    let points: Vec<Vec<f64>> = results
        .iter()
        .filter_map(|result| {
            let cell = usize::try_from(result.cell()).ok()?;
            Some(design.cells().get(cell)?.point().to_vec())
        })
        .collect();
    let observed = Observed {
        keys: design.keys(),
        points: &points,
        results,
    };
    match claim {
        Claim::P1a => claims::p1a(&observed),
        Claim::P1b => claims::p1b(&observed),
        Claim::P1c => claims::p1c(&observed),
        Claim::P2a => claims::p2a(&observed),
        Claim::P2b => claims::p2b(&observed, accuracy),
        Claim::P2c => claims::p2c(&observed),
        Claim::P2d => claims::p2d(&observed),
    }
}

/// The real-data half of P2-b: the rounds and the accuracies they give.
#[derive(Debug, Clone)]
pub struct RealData {
    /// Each seed's test accuracy per auction, in [`Auction::ALL`] order.
    pub accuracies: Accuracies,
    /// Each seed's round, in seed order.
    pub reports: Vec<RoundReport>,
}

/// The trained-model half of P2-b: `procura demo`'s round
/// ([`round::run`] with [`RoundConfig::demo`], every auction at the same
/// budget, best-responding providers) on `data` split into `n_test` test
/// rows, `n_trusted` trusted rows and the pool, for seeds 0, 1, …,
/// `seeds − 1`, in parallel. `progress` is called once per finished
/// round, from any thread.
///
/// The result does not depend on the thread count: each round is a pure
/// function of its seed, collected in seed order.
pub fn real_data(
    data: &Dataset,
    n_test: usize,
    n_trusted: usize,
    seeds: u64,
    progress: &(dyn Fn() + Sync),
) -> Result<RealData, ReproduceError> {
    let config = RoundConfig::demo();
    let reports: Vec<Result<RoundReport, RoundError>> = (0..seeds)
        .into_par_iter()
        .map(|seed| {
            let report = RoundData::split(data, n_test, n_trusted, seed)
                .and_then(|parts| round::run(&parts, &config, seed, &|_| {}));
            progress();
            report
        })
        .collect();
    let reports = reports
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(ReproduceError::Round)?;
    let runs = reports
        .iter()
        .map(|report| {
            Auction::ALL
                .into_iter()
                .map(|mechanism| {
                    report
                        .purchase(mechanism)
                        .map(|purchase| purchase.accuracy)
                        .ok_or(ReproduceError::NoPurchase(mechanism))
                })
                .collect()
        })
        .collect::<Result<Vec<Vec<f64>>, _>>()?;
    Ok(RealData {
        accuracies: Accuracies {
            mechanisms: Auction::ALL.to_vec(),
            runs,
        },
        reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_experiment_parses_and_names_a_distinct_claim() {
        let experiments = shipped(Replicates::Full).expect("valid shipped files");
        let claims: Vec<Claim> = experiments.iter().map(|e| e.claim).collect();
        assert_eq!(claims, Claim::ALL);
        for experiment in &experiments {
            let design = &experiment.design;
            assert!(design.quick_replicates().is_some(), "{}", experiment.file);
            assert!(design.description().is_some(), "{}", experiment.file);
            // Full runs are the files as shipped.
            assert!(SHIPPED.contains(&(experiment.file, design.source())));
        }
    }

    #[test]
    fn replicates_come_from_the_files_or_the_override() {
        let quick = shipped(Replicates::Quick).expect("valid");
        let each = shipped(Replicates::Each(3)).expect("valid");
        for (quick, each) in quick.iter().zip(&each) {
            assert_eq!(each.design.replicates(), 3, "{}", each.file);
            let file = parse_design(
                SHIPPED
                    .iter()
                    .find(|(f, _)| *f == quick.file)
                    .expect("a file")
                    .1,
            )
            .expect("valid");
            assert_eq!(
                Some(quick.design.replicates()),
                file.quick_replicates(),
                "{}",
                quick.file
            );
            assert!(quick
                .design
                .source()
                .contains("as run by procura reproduce"));
        }
        let error = shipped(Replicates::Each(0)).expect_err("no replicates");
        assert_eq!(
            error.to_string(),
            "experiments/p1a-leakage.toml: replicates: must be at least 1"
        );
    }

    #[test]
    fn judges_see_each_cell_with_its_swept_values() {
        let experiments = shipped(Replicates::Each(2)).expect("valid");
        let p1b = experiments
            .iter()
            .find(|e| e.claim == Claim::P1b)
            .expect("P1-b");
        let results =
            super::super::design::run_design(&p1b.design, super::super::Shard::WHOLE, &|| {})
                .expect("runs");
        let verdict = judge(Claim::P1b, &p1b.design, &results, None).expect("judged");
        assert_eq!(verdict.claim, Claim::P1b);
        // A cell the design does not have is refused, not judged.
        let mut stray = results.clone();
        stray.truncate(1);
        stray.push(CellResult::from_records(999, results[0].records().clone()));
        assert!(matches!(
            judge(Claim::P1b, &p1b.design, &stray, None),
            Err(ClaimError::Shape { .. })
        ));
    }
}
