//! Hostile inputs (issue 14): data that is valid CSV but shaped to make
//! valuation allocate or compute without bound. Each is refused with a
//! typed error naming the sizes, or handled in time; none panics.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use procura_valuation::limits::{MAX_CLASSES, MAX_LOGISTIC_PARAMETERS};
use procura_valuation::table::{Columns, Table, TableError};
use procura_valuation::{
    fit, fit_logistic, quality_scores, Dataset, DatasetError, Knn, LearningGame, Logistic, Model,
    ModelError, Players, ValuationError,
};

/// Runs `work` on a thread and waits at most 30 s for it: far longer than
/// the fixed code takes in a debug build, far shorter than the quadratic
/// code took.
fn in_time<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let limit = Duration::from_secs(30);
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        let _ = send.send(work());
    });
    match receive.recv_timeout(limit) {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// `rows` rows of `features` columns (x = row + column / features) and
/// alternating labels.
fn wide(features: usize, rows: usize, classes: usize) -> Dataset {
    let x = (0..rows * features)
        .map(|i| (i / features) as f64 + (i % features) as f64 / features as f64)
        .collect();
    let y = (0..rows).map(|row| row % classes).collect();
    Dataset::new(x, features, y, classes).expect("valid dataset")
}

fn logistic() -> Model {
    Model::Logistic(Logistic::new(1.0).expect("l2"))
}

/// Issue 14, class 9: a 260 KB CSV with 25,000 columns and 2 rows made
/// logistic regression build a 25,001² Hessian (5 GB) and abort. Every
/// entry point that fits one now refuses it first, naming the sizes.
#[test]
fn logistic_regression_refuses_a_hessian_past_the_limit() {
    let data = wide(25_000, 2, 2);
    let expected = ModelError::TooManyParameters {
        features: 25_000,
        classes: 2,
        parameters: Some(25_001),
        max: MAX_LOGISTIC_PARAMETERS,
    };
    assert_eq!(logistic().check(&data), Err(expected.clone()));
    let penalty = Logistic::new(1.0).expect("l2");
    assert_eq!(
        fit_logistic(&data, &[0, 1], &penalty),
        Err(expected.clone())
    );
    assert_eq!(
        fit(&logistic(), &data, &[0, 1]).err(),
        Some(expected.clone())
    );
    let players = Players::points(&data);
    assert_eq!(
        LearningGame::new(&data, &data, &players, logistic()).err(),
        Some(ValuationError::Model(expected.clone()))
    );
    assert_eq!(
        quality_scores(&data, &data, &players, &logistic()),
        Err(ValuationError::Model(expected.clone()))
    );
    let message = expected.to_string();
    for fragment in ["25000 features", "2 classes", "25001 coefficients", "4096"] {
        assert!(message.contains(fragment), "{message}");
    }
    // KNN has no Hessian: the same data is valued.
    let knn = Model::Knn(Knn::new(1).expect("k"));
    assert!(LearningGame::new(&data, &data, &players, knn).is_ok());
    assert!(quality_scores(&data, &data, &players, &knn).is_ok());
}

/// The limit counts one coefficient vector for two classes and one per
/// class from three on: (features + 1) × classes.
#[test]
fn the_logistic_limit_counts_one_vector_per_class_from_three() {
    // 4,095 features, two classes: 4,096 coefficients, at the limit.
    assert_eq!(logistic().check(&wide(4095, 2, 2)), Ok(()));
    assert!(logistic().check(&wide(4096, 2, 2)).is_err());
    // 1,364 features, three classes: 1,365 × 3 = 4,095.
    assert_eq!(logistic().check(&wide(1364, 3, 3)), Ok(()));
    assert_eq!(
        logistic().check(&wide(1365, 3, 3)),
        Err(ModelError::TooManyParameters {
            features: 1365,
            classes: 3,
            parameters: Some(4098),
            max: MAX_LOGISTIC_PARAMETERS,
        })
    );
    // Within the limit, logistic regression still fits.
    let data = wide(20, 6, 3);
    let model = fit_logistic(&data, &[0, 1, 2, 3, 4, 5], &Logistic::new(1.0).expect("l2"))
        .expect("within the limit")
        .expect("three classes");
    assert_eq!(model.coefficients().len(), 21 * 3);
}

/// A dataset declaring more classes than any label column may have is
/// refused before anything is sized by the count (per-class counts of
/// every vote and fit).
#[test]
fn datasets_refuse_more_classes_than_the_limit() {
    for n_classes in [MAX_CLASSES + 1, usize::MAX] {
        assert_eq!(
            Dataset::new(vec![0.0, 1.0], 1, vec![0, 1], n_classes),
            Err(DatasetError::TooManyClasses {
                n_classes,
                max: MAX_CLASSES,
            })
        );
    }
    assert!(Dataset::new(vec![0.0, 1.0], 1, vec![0, 1], MAX_CLASSES).is_ok());
}

/// `names` as a CSV table with two rows.
fn table(names: &[String]) -> Table {
    let mut text = names.join(",");
    text.push_str(",label\n");
    for row in 0..2 {
        let cells: Vec<String> = (0..names.len())
            .map(|column| format!("{}", row * names.len() + column))
            .collect();
        text.push_str(&cells.join(","));
        text.push_str(&format!(",{row}\n"));
    }
    Table::read_csv(text.as_bytes(), Columns::default()).expect("valid table")
}

/// Issue 14, class 12: matching a test table's 100,000 feature columns to
/// the training table's by name was O(F²), 35 s. It is a hash lookup per
/// column now, with the same result and the same errors.
#[test]
fn aligning_100000_feature_columns_is_fast() {
    const F: usize = 100_000;
    let names: Vec<String> = (0..F).map(|column| format!("f{column}")).collect();
    let train = table(&names);
    let reversed: Vec<String> = names.iter().rev().cloned().collect();
    let test = table(&reversed);
    let (train, test, result) = in_time("aligning 100,000 columns", move || {
        let mut test = test;
        let result = test.align_features(&train);
        (train, test, result)
    });
    result.expect("the same columns");
    assert_eq!(test.feature_names(), train.feature_names());
    // Row 0 of the reversed table held column F − 1 − j's value j.
    for (j, value) in test.features()[..F].iter().enumerate() {
        assert_eq!(*value, (F - 1 - j) as f64);
    }

    // A missing and an extra column among 100,000 are named as before.
    let mut renamed = names.clone();
    renamed[F / 2] = "other".to_owned();
    let (missing, extra) = in_time("refusing 100,000 columns", move || {
        let mut missing = table(&renamed);
        let missing = missing.align_features(&train).err();
        let mut more = names;
        more.push("surplus".to_owned());
        let mut extra = table(&more);
        let extra = extra.align_features(&train).err();
        (missing, extra)
    });
    assert_eq!(
        missing,
        Some(TableError::MissingFeature {
            name: format!("f{}", F / 2)
        })
    );
    assert_eq!(
        extra,
        Some(TableError::ExtraFeature {
            name: "surplus".to_owned()
        })
    );
}
