//! KNN-Shapley on embedding files at scale: reads a training and a test
//! `.npz` (arrays x, y), values every training row, exact or truncated, and
//! prints the time taken and the sum of the values (a checksum).
//!
//! ```text
//! cargo run --release -p procura-valuation --example knn_scale -- TRAIN.npz TEST.npz [K*] [compare]
//! ```
//!
//! With `compare`, the exact values are computed too and the largest
//! difference from the truncated ones is printed beside the bound 1/K*.

use std::time::Instant;

use procura_valuation::table::Classes;
use procura_valuation::{knn_shapley, npz, Embeddings, Knn, KnnShapley, Players};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, train, test, rest @ ..] = args.as_slice() else {
        return Err("usage: knn_scale TRAIN.npz TEST.npz [K*]".into());
    };
    let started = Instant::now();
    let open = |path: &str| -> Result<npz::NpzDataset, Box<dyn std::error::Error>> {
        Ok(npz::read(std::io::BufReader::new(std::fs::File::open(
            path,
        )?))?)
    };
    let (train, test) = (open(train)?, open(test)?);
    let classes = Classes::of_labels(&[&train.labels, &test.labels], "y")?;
    let labelled = |data: npz::NpzDataset| -> Result<Embeddings, Box<dyn std::error::Error>> {
        let labels = data
            .labels
            .iter()
            .map(|label| classes.class(label).unwrap_or_default())
            .collect();
        Ok(Embeddings::new(data.features, labels, classes.n_classes())?)
    };
    let (train, test) = (labelled(train)?, labelled(test)?);
    let read = started.elapsed();
    let mut config = KnnShapley::new(Knn::new(5)?);
    if let Some(k_star) = rest.first() {
        config = config.with_neighbours(k_star.parse()?)?;
    }
    let started = Instant::now();
    let values = knn_shapley(&train, &test, config, &Players::points(&train), &|_| {})?;
    let valued = started.elapsed();
    let total: f64 = values.iter().sum();
    println!(
        "rows {} × {}, test {}, K* {:?}: read {:.2} s, valued {:.2} s, sum {total}",
        train.labels().len(),
        train.features().dim(),
        test.labels().len(),
        config.neighbours(),
        read.as_secs_f64(),
        valued.as_secs_f64()
    );
    if rest.get(1).map(String::as_str) == Some("compare") {
        let exact_config = KnnShapley::new(config.knn());
        let exact = knn_shapley(
            &train,
            &test,
            exact_config,
            &Players::points(&train),
            &|_| {},
        )?;
        let worst = exact
            .iter()
            .zip(&values)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!(
            "largest |truncated − exact| = {worst:e}, bound 1/K* = {:e}",
            config.error_bound()
        );
    }
    Ok(())
}
