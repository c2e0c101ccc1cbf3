//! Replays every committed fuzz input (`fuzz/regressions/TARGET/*`)
//! through the checks its fuzz target runs (`fuzz/src/lib.rs`), on stable
//! Rust: every crash the fuzzers found, and every hostile file of the
//! hostile-input issue, stays fixed without a fuzzer in CI.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod harness;

/// A fuzz target's checks.
type Target = fn(&[u8]);

/// Every fuzz target, by its folder name under `fuzz/regressions`.
const TARGETS: [(&str, Target); 8] = [
    ("procurement_json", harness::procurement_json),
    ("procurement_extreme", harness::procurement_extreme),
    ("threshold_json", harness::threshold_json),
    ("threshold_extreme", harness::threshold_extreme),
    ("experiment_toml", harness::experiment_toml),
    ("population_toml", harness::population_toml),
    ("dataset_csv", harness::dataset_csv),
    ("merge_results", harness::merge_results),
];

fn regressions() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions")
}

#[test]
fn every_committed_fuzz_input_passes_its_target() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (target, check) in TARGETS {
        let folder = regressions().join(target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.is_file())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("the input reads");
            replayed += 1;
            if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
                failures.push(format!("{target}: {}", file.display()));
            }
        }
    }
    assert!(replayed >= 10, "only {replayed} inputs replayed");
    assert!(
        failures.is_empty(),
        "broken promises:\n{}",
        failures.join("\n")
    );
}

/// The seeds of `merge_results` are the shard folders of real runs
/// (`procura experiment --shard I/N`): each merges, into the results of
/// the unsharded run of its design.
#[test]
fn merge_results_seeds_merge_into_the_unsharded_run() {
    use procura::experiment::design::run_design;
    use procura::experiment::Shard;

    let folder = regressions().join("merge_results");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&folder).expect("the folder reads") {
        let path = entry.expect("a directory entry").path();
        let is_seed = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("seed-"));
        if !is_seed {
            continue;
        }
        let data = std::fs::read(&path).expect("the input reads");
        let merged = harness::merged_shards(&data)
            .unwrap_or_else(|| panic!("{}: does not merge", path.display()));
        let whole = run_design(&merged.design, Shard::WHOLE, &|| {}).expect("the design runs");
        assert!(
            merged.results == whole,
            "{}: not the unsharded run",
            path.display()
        );
        seeds += 1;
    }
    assert!(seeds >= 2, "only {seeds} seeds");
}

/// The extreme-double decoders reach the inputs they are meant to: empty
/// input is a valid (if trivial) instance, and a hand-made input with two
/// providers at subnormal scores clears without breaking a promise.
#[test]
fn structured_targets_build_instances() {
    harness::procurement_extreme(&[]);
    harness::threshold_extreme(&[]);
    // budget 1, no optional fields, 2 providers each (bid 0, quality 1,
    // utility 5e-324), no volume or claim.
    let provider = [0, 0, 0x00, 0x07, 0x01];
    let mut data = vec![0x07, 0, 0, 0, 2];
    data.extend(provider);
    data.extend(provider);
    harness::procurement_extreme(&data);
}
