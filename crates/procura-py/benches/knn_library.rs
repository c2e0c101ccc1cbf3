//! The library call under `procura.knn_shapley`, timed on the arrays that
//! `bench/pydvl_knn.py` writes (raw little-endian files), so that the
//! Python call and the Rust call are compared on the same data:
//!
//! ```sh
//! python bench/pydvl_knn.py --write DIR
//! cargo bench -p procura-py --bench knn_library -- DIR
//! ```
//!
//! `DIR` holds `x_train.f64`, `x_test.f64` (row-major float64),
//! `y_train.u64`, `y_test.u64` (class indices) and `shape.txt` (rows of
//! train, rows of test, features, classes, k). Prints the best time on one
//! thread and on rayon's global pool (one thread per core), and
//! writes the values to `DIR/rust-values.f64`. Best of 10 runs.

use std::path::PathBuf;
use std::time::Instant;

use procura::valuation::{knn_shapley, no_progress, Dataset, Knn, Players};

fn floats(path: &PathBuf) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect()
}

fn classes(path: &PathBuf) -> Vec<usize> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as usize)
        .collect()
}

fn main() {
    let Some(dir) = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: cargo bench -p procura-py --bench knn_library -- DIR");
        return;
    };
    let shape = std::fs::read_to_string(dir.join("shape.txt")).expect("shape.txt");
    let numbers: Vec<usize> = shape
        .split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect();
    let [_, _, features, n_classes, k] = numbers[..] else {
        panic!("shape.txt: expected 5 numbers");
    };
    let train = Dataset::new(
        floats(&dir.join("x_train.f64")),
        features,
        classes(&dir.join("y_train.u64")),
        n_classes,
    )
    .expect("a valid training set");
    let test = Dataset::new(
        floats(&dir.join("x_test.f64")),
        features,
        classes(&dir.join("y_test.u64")),
        n_classes,
    )
    .expect("a valid test set");
    let players = Players::points(&train);
    let knn = Knn::new(k).expect("k ≥ 1");
    let run = || knn_shapley(&train, &test, knn, &players, &no_progress).expect("values");
    let best = |work: &dyn Fn() -> Vec<f64>| {
        (0..10)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(work());
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool");
    let single = best(&|| one.install(run));
    let fresh = best(&|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a pool")
            .install(run)
    });
    // What `procura value --threads 1` pays on top: a pool started per call.
    eprintln!("with a new 1-thread pool per call: {fresh:.4} s");
    let all = best(&run);
    println!(
        "library knn_shapley {}x{}x{}: 1 thread {single:.4} s, {} threads {all:.4} s",
        train.n_rows(),
        test.n_rows(),
        features,
        rayon::current_num_threads()
    );
    let bytes: Vec<u8> = run().iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("rust-values.f64"), bytes).expect("written");
}
