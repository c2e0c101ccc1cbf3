//! Experiments with procura-lab alone, as a program (or Python bindings)
//! would run them: an experiment file parsed into a design, run whole, in
//! shards and on several thread counts, its records written as numbers and
//! read back, and its claim judged.

use procura_lab::experiment::claims::Claim;
use procura_lab::experiment::design::{parse_design, run_design, Design};
use procura_lab::experiment::reproduce::judge;
use procura_lab::experiment::{CellRecords, CellResult, Record, Shard, ThresholdMechanism};

/// Every code path of a procurement record: best-responding baselines, an
/// audit, two swept keys. (The command line's tests run the same files.)
const PROCUREMENT: &str = include_str!("data/procurement.toml");

/// P1-b's shape: withdrawal rights over feasible and infeasible instances.
const THRESHOLD: &str = include_str!("data/threshold.toml");

fn designs() -> [Design; 2] {
    [PROCUREMENT, THRESHOLD].map(|source| parse_design(source).expect("a valid design"))
}

/// Every field of every record, as bits.
fn bits(results: &[CellResult]) -> Vec<(u64, Vec<Option<u64>>)> {
    results
        .iter()
        .flat_map(|result| {
            result.rows().flatten().map(|record| {
                let fields = record.fields().into_iter().map(|f| f.map(f64::to_bits));
                (result.cell(), fields.collect())
            })
        })
        .collect()
}

fn run_on(threads: usize, design: &Design, shard: Shard) -> Vec<CellResult> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(|| run_design(design, shard, &|| {}))
        .expect("runs")
}

#[test]
fn runs_are_the_same_bits_on_any_thread_count_and_in_shards() {
    for design in designs() {
        let whole = run_on(1, &design, Shard::WHOLE);
        assert_eq!(whole.len(), design.cells().len());
        assert_eq!(bits(&run_on(4, &design, Shard::WHOLE)), bits(&whole));
        let mut sharded: Vec<CellResult> = (1..=3)
            .flat_map(|index| {
                let shard = Shard::new(index, 3).expect("a shard");
                run_on(2, &design, shard)
            })
            .collect();
        sharded.sort_by_key(CellResult::cell);
        assert_eq!(bits(&sharded), bits(&whole), "{}", design.name());
    }
}

#[test]
fn records_read_back_from_their_numbers_bit_for_bit() {
    for design in designs() {
        for result in run_on(2, &design, Shard::WHOLE) {
            for record in result.rows().flatten() {
                let fields = record.fields();
                assert_eq!(fields.len(), design.columns().len());
                let again = Record::parse(design.market(), &fields).expect("its own fields");
                assert_eq!(again, record);
                assert_eq!(again.fields(), fields);
            }
        }
    }
}

#[test]
fn records_keep_the_mechanisms_guarantees_and_mark_what_does_not_apply() {
    let [procurement, threshold] = designs();
    for result in run_on(2, &procurement, Shard::WHOLE) {
        let CellRecords::Procurement(records) = result.records() else {
            panic!("a procurement cell")
        };
        for mechanism in records.mechanisms() {
            let strategic = matches!(mechanism.name(), "volume" | "trust");
            for record in records.of(*mechanism).expect("an auction") {
                assert!(record.budget_ok && record.ir_violations == 0, "{record:?}");
                assert_eq!(record.br_rounds.is_some(), strategic, "{mechanism}");
                assert!(record.unilateral_gain.is_some(), "audited");
            }
        }
    }
    let results = run_on(2, &threshold, Shard::WHOLE);
    for result in &results {
        let subsidy = result
            .threshold(ThresholdMechanism::Subsidy)
            .expect("subsidy runs");
        assert!(subsidy.iter().all(|record| record.null.is_none()));
    }
    let verdict = judge(Claim::P1b, &threshold, &results, None).expect("judged");
    assert!(verdict.holds, "{}", verdict.headline);
}
