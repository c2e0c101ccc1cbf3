//! KNN-Shapley on `.npz` embeddings against an independent NumPy oracle.
//!
//! `tests/fixtures/knn_numpy/` holds small datasets (`CASE.train.npz`,
//! `CASE.test.npz`: float32 and float64 `x`, integer and string `y` and
//! `provider`, 2–5 classes, duplicate rows, tied distances, N < K and
//! N ≥ K, a cosine distance that rounds below zero) and `expected.tsv`, the
//! values of `bench/knn_shapley/oracle.py`: Jia et al.'s Theorem 1 (exact)
//! and Theorem 2 (truncated: ranks `i ≥ K*` of each test point get 0,
//! [`KnnShapley::with_neighbours`]`(K*)`), written from the paper in NumPy
//! float64, for squared Euclidean and cosine distance, ties by row index.
//! A provider's expected value is the sum of its rows' values.
//!
//! Every value must match to [`SHAPLEY_EXACT`]. Runs with `K* = N`, where
//! Theorem 2 sets the farthest row to 0, are checked on their own. The
//! fixtures are regenerated with `python bench/knn_shapley/oracle.py
//! --fixtures crates/procura-valuation/tests/fixtures/knn_numpy`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;

use procura_valuation::npz::{self, NpzDataset};
use procura_valuation::table::Classes;
use procura_valuation::tolerance::SHAPLEY_EXACT;
use procura_valuation::{knn_shapley, Embeddings, Knn, KnnShapley, Metric, Players};

/// The cases `expected.tsv` must cover, so that a truncated file fails.
const CASES: [&str; 5] = [
    "grid_ties",
    "few_rows",
    "scaled_cosine",
    "gauss",
    "embeddings",
];

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/knn_numpy")
}

/// One run of the oracle: a case, a metric, K and the truncation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Run {
    case: String,
    metric: String,
    k: usize,
    /// `None`: exact; `Some(K*)`: Theorem 2's truncation.
    k_star: Option<usize>,
}

/// Expected values of one run, by player (`row:I` or `provider:NAME`).
type Expected = BTreeMap<String, f64>;

/// `expected.tsv` by run. Python writes each float64 as its shortest
/// round-trip decimal, which `str::parse` reads back to the same bits.
fn expected() -> BTreeMap<Run, Expected> {
    let path = fixtures().join("expected.tsv");
    let text = std::fs::read_to_string(&path).expect("read expected.tsv");
    let mut runs: BTreeMap<Run, Expected> = BTreeMap::new();
    for (line_number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("case\t") {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [case, metric, k, k_star, player, value] = fields[..] else {
            panic!(
                "expected.tsv line {}: six fields, got {line:?}",
                line_number + 1
            );
        };
        let run = Run {
            case: case.to_owned(),
            metric: metric.to_owned(),
            k: k.parse().expect("k"),
            k_star: (k_star != "all").then(|| k_star.parse().expect("k_star")),
        };
        let value: f64 = value.parse().expect("value");
        runs.entry(run)
            .or_default()
            .insert(player.to_owned(), value);
    }
    runs
}

fn read(case: &str, part: &str) -> NpzDataset {
    let path = fixtures().join(format!("{case}.{part}.npz"));
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npz::read(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A case's train and test rows, their classes numbered together as for
/// CSV files, and its players: one per row, and one per provider (numbered
/// in the order of their names) when the file has providers.
struct Case {
    train: Embeddings,
    test: Embeddings,
    provider_names: Vec<String>,
    providers: Option<Players>,
}

fn load(case: &str) -> Case {
    let train = read(case, "train");
    let test = read(case, "test");
    let classes = Classes::of_labels(&[&train.labels, &test.labels], "y").expect("classes");
    let number = |labels: &[String]| -> Vec<usize> {
        labels
            .iter()
            .map(|label| classes.class(label).expect("a numbered label"))
            .collect()
    };
    let (train_labels, test_labels) = (number(&train.labels), number(&test.labels));
    let (provider_names, providers) = match &train.providers {
        None => (Vec::new(), None),
        Some(of_row) => {
            let names: Vec<String> = of_row
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let index: Vec<usize> = of_row
                .iter()
                .map(|name| names.binary_search(name).expect("a provider name"))
                .collect();
            (names, Some(Players::groups(index).expect("providers")))
        }
    };
    let n_classes = classes.n_classes();
    Case {
        train: Embeddings::new(train.features, train_labels, n_classes).expect("train"),
        test: Embeddings::new(test.features, test_labels, n_classes).expect("test"),
        provider_names,
        providers,
    }
}

/// Compares procura's values of `run` with the oracle's, row by row and
/// provider by provider; returns how many values were compared.
fn check(run: &Run, case: &Case, expected: &Expected) -> usize {
    let metric = match run.metric.as_str() {
        "euclidean" => Metric::Euclidean,
        "cosine" => Metric::Cosine,
        other => panic!("unknown metric {other}"),
    };
    let knn = Knn::new(run.k).expect("k");
    let mut config = KnnShapley::new(knn).with_metric(metric);
    if let Some(k_star) = run.k_star {
        config = config.with_neighbours(k_star).expect("K* ≥ K");
    }
    let n_rows = case.train.labels().len();
    let points = Players::groups((0..n_rows).collect()).expect("one player per row");
    let rows = knn_shapley(&case.train, &case.test, config, &points, &|_| {})
        .unwrap_or_else(|e| panic!("{run:?}: {e}"));
    let mut got: Expected = rows
        .iter()
        .enumerate()
        .map(|(row, &value)| (format!("row:{row}"), value))
        .collect();
    if let Some(providers) = &case.providers {
        let values = knn_shapley(&case.train, &case.test, config, providers, &|_| {})
            .unwrap_or_else(|e| panic!("{run:?}, providers: {e}"));
        for (name, value) in case.provider_names.iter().zip(values) {
            got.insert(format!("provider:{name}"), value);
        }
    }
    let players: Vec<&String> = got.keys().collect();
    assert_eq!(
        players,
        expected.keys().collect::<Vec<_>>(),
        "{run:?}: players"
    );
    for (player, want) in expected {
        let value = got[player];
        assert!(
            (value - want).abs() <= SHAPLEY_EXACT,
            "{run:?} {player}: procura {value:e}, oracle {want:e}, difference {:e}",
            value - want
        );
    }
    expected.len()
}

/// Checks every run of `expected.tsv` whose `K* = N` is `at_n` (and the
/// exact runs with the others); returns the runs and values compared.
fn check_runs(at_n: bool) -> (Vec<Run>, usize) {
    let mut cases: BTreeMap<String, Case> = BTreeMap::new();
    let mut checked = Vec::new();
    let mut compared = 0;
    for (run, values) in &expected() {
        let case = cases
            .entry(run.case.clone())
            .or_insert_with(|| load(&run.case));
        if (run.k_star == Some(case.train.labels().len())) == at_n {
            compared += check(run, case, values);
            checked.push(run.clone());
        }
    }
    (checked, compared)
}

#[test]
fn knn_shapley_matches_the_numpy_oracle_on_every_fixture() {
    let (runs, compared) = check_runs(false);
    let covered: BTreeSet<&str> = runs.iter().map(|run| run.case.as_str()).collect();
    assert_eq!(
        covered,
        CASES.into_iter().collect(),
        "cases in expected.tsv"
    );
    let truncated = runs.iter().filter(|run| run.k_star.is_some()).count();
    let cosine = runs.iter().filter(|run| run.metric == "cosine").count();
    assert!(
        truncated >= 20 && cosine >= 30,
        "{truncated} truncated, {cosine} cosine runs"
    );
    assert!(compared >= 1200, "only {compared} values compared");
}

/// Theorem 2 at `K* = N`: `ŝ_{α_i} = 0` for `i ≥ K*` sets the farthest
/// row of each test point to 0 (the exact values are only for `K* > N`).
#[test]
fn truncation_at_k_star_equal_to_n_zeroes_the_farthest_row() {
    let (runs, compared) = check_runs(true);
    assert!(runs.len() >= 6 && compared >= 100, "{runs:?}");
}

#[test]
fn the_fixtures_cover_what_they_claim() {
    // N < K, N = K and N > K; float32 and float64; string and integer
    // labels; providers.
    let few = load("few_rows");
    assert_eq!(few.train.labels().len(), 3);
    let runs = expected();
    let ks: BTreeSet<usize> = runs
        .keys()
        .filter(|run| run.case == "few_rows")
        .map(|run| run.k)
        .collect();
    assert!(
        ks.contains(&5) && ks.contains(&3) && ks.contains(&1),
        "{ks:?}"
    );
    let precisions: BTreeSet<String> = CASES
        .iter()
        .map(|case| format!("{:?}", read(case, "train").features.precision()))
        .collect();
    assert_eq!(precisions.len(), 2, "{precisions:?}");
    assert!(
        CASES
            .iter()
            .filter(|case| read(case, "train").providers.is_some())
            .count()
            >= 2
    );
}
