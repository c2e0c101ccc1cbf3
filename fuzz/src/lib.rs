//! What the fuzz targets check, as plain functions of the input bytes.
//!
//! Each function reads its input the way procura's edges do, and when the
//! input is accepted, runs every mechanism that applies and checks the
//! promises the README makes for every instance the validators accept. A
//! broken promise panics with a message naming it: that is what libFuzzer
//! reports as a crash. Refusing an input is never a failure; panicking,
//! aborting or allocating without bound while refusing it is.
//!
//! `merge_results` checks `procura merge` the same way: shard tables
//! merged or refused, and what merges read back and split again into
//! itself.
//!
//! The fuzz targets in `fuzz_targets/` are one line each around these
//! functions, and `crates/procura/tests/fuzz_regressions.rs` replays every
//! committed input under `fuzz/regressions/TARGET/` through them on stable
//! Rust, so CI needs no fuzzer.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use procura_format::read;
use procura_lab::experiment::design::{parse_design, run_design, Design};
use procura_lab::experiment::results_csv::{
    merge_shards, parse_results, results_csv, Merged, ShardFiles,
};
use procura_lab::experiment::{CellResult, Shard};
use procura_lab::population::{Population, PopulationSpec};
use procura_lab::threshold_population::{ThresholdPopulation, ThresholdPopulationSpec};
use procura_mechanisms::procurement::{
    self, mut_token, Auction, Instance, InstanceSpec, Outcome, ProviderSpec,
};
use procura_mechanisms::threshold::{
    subsidy, withdrawal, Protocol, ThresholdInstance, ThresholdSpec, UserSpec,
};
use procura_mechanisms::tolerance::{at_most, pays_at_least, within_budget, ROUNDING_RELATIVE};
use procura_valuation::table::{Columns, ProviderColumn, Table};

/// The most bytes a target reads, so that one input stays fast.
const MAX_INPUT: usize = 1 << 16;

/// Procurement JSON (§A.1) through `procura_format::read`, then every
/// auction on what it accepts.
pub fn procurement_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(instance) = read::procurement_instance(text) {
        check_procurement(&instance);
    }
}

/// Threshold JSON (§B.1) through `procura_format::read`, then subsidy and
/// withdrawal under every protocol on what it accepts.
pub fn threshold_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(instance) = read::threshold_instance(text) {
        check_threshold(&instance);
    }
}

/// Procurement instances built field by field from extreme doubles (zero,
/// subnormals, 1e-300 … 1e300, MAX/3, neighbours one ulp apart, raw bits),
/// so that the fuzzer spends its time on numerics rather than on JSON.
pub fn procurement_extreme(data: &[u8]) {
    let mut bytes = Bytes(data);
    let spec = InstanceSpec {
        budget: bytes.double(),
        token_budget: bytes.optional_double(),
        liquidity: bytes.optional_double(),
        token_pool: bytes.optional_double(),
        providers: (0..bytes.count(12))
            .map(|index| ProviderSpec {
                volume: bytes.optional_double(),
                claimed_quality: bytes.optional_double(),
                ..ProviderSpec::new(
                    format!("p{index}"),
                    bytes.double(),
                    bytes.double(),
                    bytes.double(),
                )
            })
            .collect(),
    };
    if let Ok(instance) = Instance::new(spec) {
        check_procurement(&instance);
    }
}

/// Threshold instances built field by field from extreme doubles.
pub fn threshold_extreme(data: &[u8]) {
    let mut bytes = Bytes(data);
    let protocol = Protocol::ALL[usize::from(bytes.byte()) % Protocol::ALL.len()];
    let spec = ThresholdSpec {
        threshold: bytes.double(),
        reserve_price: bytes.optional_double(),
        budget: bytes.optional_double(),
        slack: bytes.optional_double(),
        reversibility: bytes.optional_double(),
        shock_mean: bytes.optional_double(),
        payment: bytes.optional_double(),
        floor: bytes.optional_double(),
        protocol: Some(protocol),
        belief: bytes.optional_double(),
        users: (0..bytes.count(24))
            .map(|index| UserSpec {
                benefit: bytes.optional_double(),
                ..UserSpec::new(format!("u{index}"), bytes.double(), bytes.double())
            })
            .collect(),
    };
    if let Ok(instance) = ThresholdInstance::new(spec) {
        check_threshold(&instance);
    }
}

/// An experiment design (TOML) through `parse_design`: accepted or refused,
/// never a panic, and never a grid built before it is bounded.
pub fn experiment_toml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let _ = procura_lab::experiment::design::parse_design(text);
}

/// A population file (TOML, either market) through its validating
/// constructor, then one draw from what it accepts, cleared by every
/// mechanism.
pub fn population_toml(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(spec) = toml::from_str::<PopulationSpec>(text) {
        if let Ok(population) = Population::new(spec) {
            check_procurement(&population.draw(0, 0));
        }
    }
    if let Ok(spec) = toml::from_str::<ThresholdPopulationSpec>(text) {
        if let Ok(population) = ThresholdPopulation::new(spec) {
            check_threshold(&population.draw(0, 0));
        }
    }
}

/// A CSV dataset through `Table::read_csv`, with and without a provider
/// column.
pub fn dataset_csv(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    for provider in [ProviderColumn::Unused, ProviderColumn::Optional("provider")] {
        let columns = Columns {
            label: None,
            provider,
        };
        let _ = Table::read_csv(data, columns);
    }
}

/// The most shard folders a `merge_results` input holds.
const MAX_MERGE_SHARDS: usize = 16;

/// Shard folders of a sharded run through `merge_shards` (`procura
/// merge`). The input is pieces separated by the byte 0xFF (never in
/// UTF-8 text): first the experiment, then one piece per shard folder, its
/// `shard.txt` line (`I/N`), a newline, and its `results.csv`. The
/// experiment is `threshold` or `procurement`, a fixed small design (the
/// library's test designs with few replicates: see `fixed_design`), or
/// else the text of an experiment file, fuzzed too.
///
/// Merged or refused, never a panic. What merges is a result per cell of
/// the design, in cell order, that reads back from its `results.csv` into
/// the same results (and the same text when written again), and that
/// split into 1, 2 or 3 shards again merges into itself.
pub fn merge_results(data: &[u8]) {
    let _ = merged_shards(data);
}

/// What [`merge_results`] merges from `data`, after checking it; `None`
/// when the input is refused.
pub fn merged_shards(data: &[u8]) -> Option<Merged> {
    if data.len() > MAX_INPUT {
        return None;
    }
    let mut pieces = data.split(|&byte| byte == 0xFF);
    let head = std::str::from_utf8(pieces.next()?).ok()?;
    let experiment = match head {
        "threshold" | "procurement" => fixed_design(head).source(),
        source => source,
    };
    let texts = pieces
        .take(MAX_MERGE_SHARDS + 1)
        .map(std::str::from_utf8)
        .collect::<Result<Vec<&str>, _>>()
        .ok()?;
    if texts.len() > MAX_MERGE_SHARDS {
        return None;
    }
    let folders: Vec<PathBuf> = (1..=texts.len())
        .map(|index| PathBuf::from(format!("shard-{index}")))
        .collect();
    let shards: Vec<ShardFiles<'_>> = texts
        .iter()
        .zip(&folders)
        .map(|(&text, folder)| {
            let (shard, results) = text.split_once('\n').unwrap_or((text, ""));
            ShardFiles {
                folder,
                experiment,
                shard,
                results,
            }
        })
        .collect();
    match merge_shards(&shards) {
        Ok(merged) => {
            check_merged(&merged);
            Some(merged)
        }
        // The message is built: formatting it must not panic either.
        Err(error) => {
            assert!(!error.to_string().is_empty(), "an empty message");
            None
        }
    }
}

/// The checks of [`merge_results`] on what merged.
fn check_merged(merged: &Merged) {
    let Merged { design, results } = merged;
    assert_eq!(results.len(), design.cells().len(), "a result per cell");
    assert!(
        (0u64..)
            .zip(results)
            .all(|(cell, result)| result.cell() == cell),
        "results in cell order"
    );
    let text = results_csv(design, results).expect("merged results are of their design");
    let back = parse_results(design, &text, Shard::WHOLE).expect("a written table reads back");
    assert!(back == *results, "read back, the results differ");
    let again = results_csv(design, &back).expect("read-back results are of their design");
    assert!(again == text, "written again, the table differs");
    for count in 1..=3 {
        let split = split_tables(design, results, count);
        let shards: Vec<ShardFiles<'_>> = split
            .iter()
            .rev()
            .map(|(shard, results)| ShardFiles {
                folder: Path::new("again"),
                experiment: design.source(),
                shard,
                results,
            })
            .collect();
        let remerged = merge_shards(&shards).expect("split again, the shards merge");
        assert!(
            remerged.results == *results,
            "split into {count} and merged, the results differ"
        );
    }
}

/// `results` (a result per cell of `design`) split into `count` shards:
/// each shard's `shard.txt` and `results.csv`.
fn split_tables(design: &Design, results: &[CellResult], count: u64) -> Vec<(String, String)> {
    (1..=count)
        .map(|index| {
            let shard = Shard::new(index, count).expect("1 ≤ I ≤ N ≤ 3");
            let part: Vec<CellResult> = results
                .iter()
                .filter(|result| shard.contains(result.cell()))
                .cloned()
                .collect();
            let table = results_csv(design, &part).expect("results of the design");
            (format!("{shard}\n"), table)
        })
        .collect()
}

/// The fixed designs of [`merge_results`]: the library's test designs
/// (`crates/procura-lab/tests/data`) with 2 replicates (threshold: 3
/// cells × 3 mechanisms) and 1 replicate (procurement: 4 cells × 5
/// mechanisms, audited and best-responding), so that a whole table is a
/// few kilobytes. Built once; building them checks that the shards of a
/// real run, split 2 and 3 ways, merge into the unsharded run.
fn fixed_design(name: &str) -> &'static Design {
    static THRESHOLD: OnceLock<Design> = OnceLock::new();
    static PROCUREMENT: OnceLock<Design> = OnceLock::new();
    let (cell, source, replicates) = if name == "procurement" {
        (
            &PROCUREMENT,
            include_str!("../../crates/procura-lab/tests/data/procurement.toml"),
            1,
        )
    } else {
        (
            &THRESHOLD,
            include_str!("../../crates/procura-lab/tests/data/threshold.toml"),
            2,
        )
    };
    cell.get_or_init(|| {
        let design = parse_design(source)
            .and_then(|design| design.with_replicates(replicates))
            .expect("the fixed design is valid");
        let whole = run_design(&design, Shard::WHOLE, &|| {}).expect("the fixed design runs");
        for count in 2..=3 {
            let tables: Vec<(String, String)> = (1..=count)
                .map(|index| {
                    let shard = Shard::new(index, count).expect("1 ≤ I ≤ N ≤ 3");
                    let results = run_design(&design, shard, &|| {}).expect("a shard runs");
                    let table = results_csv(&design, &results).expect("results of the design");
                    (shard.to_string(), table)
                })
                .collect();
            let shards: Vec<ShardFiles<'_>> = tables
                .iter()
                .map(|(shard, results)| ShardFiles {
                    folder: Path::new("run"),
                    experiment: design.source(),
                    shard,
                    results,
                })
                .collect();
            let merged = merge_shards(&shards).expect("the shards of a run merge");
            assert!(
                merged.results == whole,
                "{}: {count} shards merged differ from the unsharded run",
                design.name()
            );
        }
        design
    })
}

/// Clears `instance` with every auction that can clear it and checks
/// §A.3–§A.6's promises on each outcome: budgets kept, winners paid at
/// least their bids, losers unpaid, every total finite. Sums and payments
/// are doubles, so "kept" is the library's documented promise
/// (`tolerance::within_budget` and `pays_at_least`: within ε_n =
/// (8n + 16)·2⁻⁵³ relative, at every magnitude): a budget broken by an ulp
/// in a sum of rounded payments is rounding, a payment of 0 to a winner
/// bidding 1e-300 is not.
pub fn check_procurement(instance: &Instance) {
    for auction in Auction::ALL {
        if let Ok(outcome) = procurement::clear(instance, auction) {
            check_auction(instance, auction, &outcome);
        }
    }
}

fn check_auction(instance: &Instance, auction: Auction, outcome: &Outcome) {
    let name = auction.name();
    let cash = outcome.total_cash();
    let tokens = outcome.total_tokens();
    assert!(cash.is_finite() && cash >= 0.0, "{name}: total cash {cash}");
    assert!(
        tokens.is_finite() && tokens >= 0.0,
        "{name}: total tokens {tokens}"
    );
    assert!(
        outcome.value().is_finite(),
        "{name}: value {}",
        outcome.value()
    );
    let budget = instance.budget();
    let n = instance.providers().len();
    match auction {
        Auction::Mut => {
            assert_eq!(cash, 0.0, "mut pays no cash");
            let pool = instance.token_pool();
            assert!(
                within_budget(tokens, pool, n),
                "mut: Σ tokens {tokens} > Π {pool}"
            );
        }
        Auction::Mixed => {
            assert!(
                within_budget(cash, budget, n),
                "mixed: Σ cash {cash} > B {budget}"
            );
            let token_budget = instance.token_budget();
            assert!(
                within_budget(tokens, token_budget, n),
                "mixed: Σ tokens {tokens} > R {token_budget}"
            );
        }
        Auction::Qmia | Auction::Volume | Auction::Trust => {
            assert_eq!(tokens, 0.0, "{name} pays no tokens");
            assert!(
                within_budget(cash, budget, n),
                "{name}: Σ cash {cash} > B {budget}"
            );
        }
    }
    let providers = instance.providers();
    for award in outcome.awards() {
        let provider = &providers[award.provider];
        let bid = provider.bid();
        let (id, award_cash, award_tokens) = (provider.id(), award.cash, award.tokens);
        assert!(
            award_cash.is_finite() && award_cash >= 0.0,
            "{name}: {id} paid cash {award_cash}"
        );
        assert!(
            award_tokens.is_finite() && award_tokens >= 0.0,
            "{name}: {id} paid tokens {award_tokens}"
        );
        let reward = match auction {
            Auction::Mut => mut_token::token_value(instance, award_tokens),
            _ => award_cash + award_tokens,
        };
        assert!(
            pays_at_least(reward, bid, n),
            "{name}: {id} paid {reward} below its bid {bid}"
        );
    }
}

/// Clears `instance` with the subsidy and with withdrawal rights under
/// every protocol, when it has their fields, and checks §B's promises:
/// totals finite and ≥ 0, withdrawal never leaks, every assigned user paid
/// between c·x and r·x, Σ t within the budget, probabilities in [0, 1].
pub fn check_threshold(instance: &ThresholdInstance) {
    if let Ok(outcome) = subsidy::clear(instance) {
        let (paid, leaked) = (outcome.total_payment(), outcome.leakage());
        assert!(paid.is_finite() && paid >= 0.0, "subsidy: paid {paid}");
        assert!(
            leaked == 0.0 || leaked == paid,
            "subsidy: leakage {leaked} is neither 0 nor the payment {paid}"
        );
        assert!(outcome.collected().is_finite(), "subsidy: collected");
    }
    for protocol in Protocol::ALL {
        let Ok(outcome) = withdrawal::clear(instance, protocol) else {
            continue;
        };
        let name = protocol.name();
        assert_eq!(outcome.leakage(), 0.0, "withdrawal-{name} leaks");
        let reserve = instance.reserve_price().unwrap_or(f64::INFINITY);
        let users = instance.users();
        for assignment in outcome.assignments() {
            let user = &users[assignment.user];
            let (x, t) = (assignment.amount, assignment.payment);
            assert!(x > 0.0 && x <= user.capacity(), "{}: amount {x}", user.id());
            assert!(t.is_finite(), "{}: payment {t}", user.id());
            assert!(
                at_most(user.cost() * x, t, ROUNDING_RELATIVE),
                "withdrawal-{name}: {} paid {t} below c·x {}",
                user.id(),
                user.cost() * x
            );
            assert!(
                at_most(t, reserve * x, ROUNDING_RELATIVE),
                "withdrawal-{name}: {} paid {t} above r·x {}",
                user.id(),
                reserve * x
            );
        }
        if let Some(budget) = instance.budget() {
            let paid = outcome.total_payment();
            assert!(
                at_most(paid, budget, ROUNDING_RELATIVE),
                "withdrawal-{name}: Σ t {paid} over budget {budget}"
            );
        }
        if let Some(report) = outcome.protocol() {
            let p = report.success_probability;
            assert!((0.0..=1.0).contains(&p), "withdrawal-{name}: success {p}");
            for (what, value) in [
                ("expected payment", report.expected_payment),
                ("expected participants", report.expected_participants),
                ("expected data", report.expected_data),
            ] {
                assert!(
                    value.is_finite() && value >= 0.0,
                    "withdrawal-{name}: {what} {value}"
                );
            }
        }
    }
}

/// The input as UTF-8 text, if it is and is not too long.
fn text(data: &[u8]) -> Option<&str> {
    if data.len() > MAX_INPUT {
        return None;
    }
    std::str::from_utf8(data).ok()
}

/// Doubles and counts read from the fuzzer's bytes; zeros once they run
/// out.
struct Bytes<'a>(&'a [u8]);

/// Doubles where the formulas are most fragile.
const SPECIAL: [f64; 16] = [
    0.0,
    5e-324,
    f64::MIN_POSITIVE,
    1e-300,
    1e-150,
    1e-9,
    0.5,
    1.0,
    1.000_000_000_000_000_2,
    2.0,
    1e9,
    1e150,
    1e300,
    f64::MAX / 3.0,
    f64::MAX / 2.0,
    f64::MAX,
];

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    /// A special value, its neighbour one ulp up or down, or raw bits.
    fn double(&mut self) -> f64 {
        let selector = self.byte();
        let special = SPECIAL[usize::from(selector % 16)];
        match selector / 16 {
            0..=7 => special,
            8..=9 => f64::from_bits(special.to_bits().saturating_add(1)),
            10..=11 => f64::from_bits(special.to_bits().saturating_sub(1)),
            _ => {
                let mut bits = [0u8; 8];
                for byte in &mut bits {
                    *byte = self.byte();
                }
                f64::from_le_bytes(bits)
            }
        }
    }

    fn optional_double(&mut self) -> Option<f64> {
        if self.byte().is_multiple_of(2) {
            None
        } else {
            Some(self.double())
        }
    }

    fn count(&mut self, max: u8) -> u8 {
        self.byte() % (max + 1)
    }
}
