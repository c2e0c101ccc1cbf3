//! The shipped wine-quality data and the synthetic-provider splitter.
//!
//! `data/wine/` is derived from `data/winequality-red.csv` by the library's
//! splitter; this test derives it again and compares bytes. After a
//! deliberate change, rewrite the files with `PROCURA_BLESS=1 cargo test -p
//! procura-valuation --test valuation_data`.

use std::path::PathBuf;

use procura_valuation::{
    quality_scores, split_among_providers, Dataset, DatasetError, Logistic, Model, Players,
    SplitConfig,
};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

const FEATURES: [&str; 11] = [
    "fixed_acidity",
    "volatile_acidity",
    "citric_acid",
    "residual_sugar",
    "chlorides",
    "free_sulfur_dioxide",
    "total_sulfur_dioxide",
    "density",
    "ph",
    "sulphates",
    "alcohol",
];

/// The red-wine data, binarised: label 1 when quality ≥ 6.
fn wine() -> Dataset {
    let text = std::fs::read_to_string(data_dir().join("winequality-red.csv"))
        .expect("data/winequality-red.csv is shipped");
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        let cells: Vec<f64> = line
            .split(',')
            .map(|cell| cell.parse().expect("numeric cell"))
            .collect();
        assert_eq!(cells.len(), 12, "wine rows have 12 cells");
        features.extend_from_slice(&cells[..11]);
        labels.push(usize::from(cells[11] >= 6.0));
    }
    Dataset::new(features, 11, labels, 2).expect("valid wine data")
}

fn csv(data: &Dataset, provider: Option<&Players>) -> String {
    let mut text = String::new();
    if provider.is_some() {
        text.push_str("provider,");
    }
    text.push_str(&FEATURES.join(","));
    text.push_str(",label\n");
    for (row, (features, label)) in data.iter().enumerate() {
        if let Some(players) = provider {
            text.push_str(&format!("p{:02},", players.of_row()[row]));
        }
        for value in features {
            text.push_str(&format!("{value},"));
        }
        text.push_str(&format!("{label}\n"));
    }
    text
}

/// The shipped demo: 400 test rows, 200 trusted rows and 999 rows split
/// among 10 providers, with bids.
fn derive() -> Vec<(&'static str, String)> {
    let wine = wine();
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut order: Vec<usize> = (0..wine.n_rows()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let test = wine.select(&order[..400]).expect("test rows");
    let trusted = wine.select(&order[400..600]).expect("trusted rows");
    let pool = wine.select(&order[600..]).expect("provider rows");
    let config = SplitConfig {
        n_providers: 10,
        max_noise: 0.4,
        max_duplicates: 0.3,
    };
    let split = split_among_providers(&pool, &config, 7).expect("split");
    let mut bids = String::from("provider,bid,volume,claimed_quality\n");
    for provider in 0..10 {
        let volume = split.players.rows_of(provider).len();
        let bid = (volume as f64 * rng.random_range(0.5..1.5) / 100.0 * 100.0).round() / 100.0;
        let claimed =
            (1.0 - split.noise_rates[provider] / 2.0 + rng.random_range(0.0..0.1)).min(1.0);
        bids.push_str(&format!("p{provider:02},{bid},{volume},{claimed:.3}\n"));
    }
    vec![
        ("train.csv", csv(&split.data, Some(&split.players))),
        ("test.csv", csv(&test, None)),
        ("trusted.csv", csv(&trusted, None)),
        ("bids.csv", bids),
    ]
}

#[test]
fn shipped_wine_files_are_up_to_date() {
    let files = derive();
    let folder = data_dir().join("wine");
    let bless = std::env::var_os("PROCURA_BLESS").is_some();
    for (name, text) in files {
        let path = folder.join(name);
        if bless {
            std::fs::create_dir_all(&folder).expect("create data/wine");
            std::fs::write(&path, &text).expect("write data/wine file");
        }
        let shipped = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            shipped == text,
            "{} is stale: rerun with PROCURA_BLESS=1",
            path.display()
        );
    }
}

/// Noisier providers get lower quality scores: with a few hundred rows per
/// provider, the rank correlation between noise rate and q is strongly
/// negative. (With a few dozen rows, as in the shipped demo, q's sampling
/// noise is as large as the effect of the label noise.)
#[test]
fn quality_ranks_providers_by_label_noise() {
    let wine = wine();
    let trusted = wine.select(&(0..300).collect::<Vec<_>>()).expect("trusted");
    let pool = wine
        .select(&(300..wine.n_rows()).collect::<Vec<_>>())
        .expect("pool");
    let config = SplitConfig {
        n_providers: 6,
        max_noise: 0.6,
        max_duplicates: 0.0,
    };
    let split = split_among_providers(&pool, &config, 11).expect("split");
    let quality = quality_scores(
        &trusted,
        &split.data,
        &split.players,
        &Model::Logistic(Logistic::new(1.0).expect("l2")),
    )
    .expect("quality");
    let noise = split.noise_rates;
    let ranks = |values: &[f64]| -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        let mut ranks = vec![0.0; values.len()];
        for (rank, &index) in order.iter().enumerate() {
            ranks[index] = rank as f64;
        }
        ranks
    };
    let (a, b) = (ranks(&noise), ranks(&quality));
    let n = a.len() as f64;
    let d2: f64 = a.iter().zip(&b).map(|(a, b)| (a - b) * (a - b)).sum();
    let spearman = 1.0 - 6.0 * d2 / (n * (n * n - 1.0));
    assert!(
        spearman < -0.7,
        "spearman {spearman}: {noise:?} vs {quality:?}"
    );
}

#[test]
fn splitter_keeps_every_row_and_is_seeded() {
    let wine = wine();
    // (providers, max noise, max duplicates, seed)
    let cases = [(1, 0.0, 0.0, 1), (5, 0.5, 0.5, 2), (40, 1.0, 1.0, 3)];
    for (n_providers, max_noise, max_duplicates, seed) in cases {
        let config = SplitConfig {
            n_providers,
            max_noise,
            max_duplicates,
        };
        let split = split_among_providers(&wine, &config, seed).expect("split");
        assert_eq!(split.players.n_players(), n_providers);
        let originals: usize = (0..n_providers)
            .map(|p| {
                let volume = split.players.rows_of(p).len() as f64;
                (volume / (1.0 + split.duplicate_rates[p])).round() as usize
            })
            .sum();
        assert!(originals.abs_diff(wine.n_rows()) <= n_providers);
        if max_noise == 0.0 && max_duplicates == 0.0 {
            let mut labels = split.data.labels().to_vec();
            let mut expected = wine.labels().to_vec();
            labels.sort_unstable();
            expected.sort_unstable();
            assert_eq!(labels, expected);
        }
        assert_eq!(
            split,
            split_among_providers(&wine, &config, seed).expect("split")
        );
    }
    let too_many = SplitConfig {
        n_providers: wine.n_rows() + 1,
        max_noise: 0.1,
        max_duplicates: 0.1,
    };
    assert!(split_among_providers(&wine, &too_many, 1).is_err());
}

#[test]
fn datasets_are_validated() {
    // (features, n_features, labels, n_classes, expected error)
    let cases = [
        (vec![], 1, vec![], 2, DatasetError::Empty),
        (vec![1.0], 0, vec![0], 2, DatasetError::NoFeatures),
        (vec![1.0], 1, vec![0], 0, DatasetError::NoClasses),
        (
            vec![1.0, 2.0, 3.0],
            2,
            vec![0, 1],
            2,
            DatasetError::Shape {
                len: 3,
                rows: 2,
                n_features: 2,
            },
        ),
        (
            vec![1.0, f64::INFINITY],
            1,
            vec![0, 1],
            2,
            DatasetError::NonFinite {
                row: 1,
                feature: 0,
                value: f64::INFINITY,
            },
        ),
        (
            vec![1.0, 2.0],
            1,
            vec![0, 2],
            2,
            DatasetError::Label {
                row: 1,
                label: 2,
                n_classes: 2,
            },
        ),
    ];
    for (features, n_features, labels, n_classes, expected) in cases {
        assert_eq!(
            Dataset::new(features, n_features, labels, n_classes),
            Err(expected)
        );
    }
}
