//! Indices from outside (issue 10): every public call that takes a row or a
//! player index checks it. A row past the end of the data is `None` or a
//! typed error naming the row and the number of rows, and a player index
//! that is no player's owns no rows; none of them panics.

use procura_valuation::{
    accuracy, fit, fit_logistic, knn_utility, quality_scores, Classifier, CooperativeGame, Dataset,
    Knn, LearningGame, Logistic, Model, ModelError, Players, ValuationError,
};

/// Four rows on a line, two classes.
fn train() -> Dataset {
    Dataset::new(vec![0.0, 1.0, 10.0, 11.0], 1, vec![0, 0, 1, 1], 2).expect("valid")
}

fn test_set() -> Dataset {
    Dataset::new(vec![0.5, 10.5, 12.0], 1, vec![0, 1, 1], 2).expect("valid")
}

fn knn() -> Model {
    Model::Knn(Knn::new(1).expect("k"))
}

fn logistic() -> Model {
    Model::Logistic(Logistic::new(1.0).expect("l2"))
}

#[test]
fn rows_past_the_end_of_a_dataset_are_none() {
    let data = train();
    assert_eq!(data.row(3), Some(&[11.0][..]));
    assert_eq!(data.label(3), Some(1));
    for row in [4, 5, usize::MAX / 2, usize::MAX] {
        assert_eq!(data.row(row), None, "row {row}");
        assert_eq!(data.label(row), None, "row {row}");
    }
    let rows: Vec<(Vec<f64>, usize)> = data.iter().map(|(x, y)| (x.to_vec(), y)).collect();
    assert_eq!(rows.len(), data.n_rows());
    assert_eq!(rows[2], (vec![10.0], 1));
    assert_eq!(data.select(&[0, 4]), None);
}

#[test]
fn an_index_that_is_no_players_owns_no_rows() {
    let players = Players::groups(vec![1, 0, 1]).expect("valid");
    assert_eq!(players.rows_of(1), &[0, 2]);
    for player in [2, usize::MAX] {
        assert!(players.rows_of(player).is_empty(), "player {player}");
    }
    let points = Players::points(&train());
    assert_eq!(points.n_players(), 4);
    assert!(points.rows_of(4).is_empty());
}

/// The calls that used to index `train` with each row (and panic past its
/// end) refuse the first row that is not one of its rows.
#[test]
fn training_on_rows_past_the_end_is_a_typed_error() {
    let (train, test) = (train(), test_set());
    let penalty = Logistic::new(1.0).expect("l2");
    for (rows, row) in [
        (vec![0, 4], 4),
        (vec![7, 1, 9], 7),
        (vec![usize::MAX], usize::MAX),
    ] {
        let expected = ModelError::NoSuchRow { row, n_rows: 4 };
        for model in [knn(), logistic()] {
            assert_eq!(fit(&model, &train, &rows), Err(expected.clone()));
            assert_eq!(
                accuracy(&model, &train, &rows, &test),
                Err(ValuationError::Model(expected.clone()))
            );
        }
        assert_eq!(fit_logistic(&train, &rows, &penalty), Err(expected.clone()));
        let k = Knn::new(1).expect("k");
        assert_eq!(
            knn_utility(&train, &test, k, &rows),
            Err(ValuationError::Model(expected.clone()))
        );
        assert_eq!(
            expected.to_string(),
            format!("row {row} is not a row of the training data, which has 4 rows")
        );
    }
    // Every row in range still trains, repetitions included.
    assert_eq!(accuracy(&knn(), &train, &[0, 1, 2, 3, 3], &test), Ok(1.0));
    assert!(fit_logistic(&train, &[0, 3, 3], &penalty)
        .expect("rows of train")
        .is_some());
}

/// `accuracy` used to panic on a logistic model too large for its data;
/// it refuses it now, as every other entry point that fits one does.
#[test]
fn accuracy_refuses_a_model_too_large_for_its_data() {
    let wide = Dataset::new(vec![0.0; 2 * 5000], 5000, vec![0, 1], 2).expect("valid");
    let result = accuracy(&logistic(), &wide, &[0, 1], &wide);
    assert!(
        matches!(
            result,
            Err(ValuationError::Model(ModelError::TooManyParameters {
                features: 5000,
                ..
            }))
        ),
        "{result:?}"
    );
}

/// A test set of other features or classes than the training set is
/// refused, as by `knn_shapley` and `LearningGame::new`.
#[test]
fn a_mismatched_test_set_is_refused() {
    let train = train();
    let wide = Dataset::new(vec![0.0, 1.0], 2, vec![0], 2).expect("valid");
    let three = Dataset::new(vec![0.0], 1, vec![2], 3).expect("valid");
    let k = Knn::new(1).expect("k");
    assert_eq!(
        accuracy(&knn(), &train, &[0], &wide),
        Err(ValuationError::Features { train: 1, test: 2 })
    );
    assert_eq!(
        knn_utility(&train, &three, k, &[0]),
        Err(ValuationError::Classes { train: 2, test: 3 })
    );
}

/// The learning game's coalitions are player indices from anywhere: one
/// that is no player's adds no rows.
#[test]
fn a_coalition_with_an_index_that_is_no_players_counts_its_players() {
    let (train, test) = (train(), test_set());
    let players = Players::points(&train);
    for model in [knn(), logistic()] {
        let game = LearningGame::new(&train, &test, &players, model).expect("game");
        assert_eq!(game.utility(&[0, 2, 4, usize::MAX]), game.utility(&[0, 2]));
        assert_eq!(game.utility(&[usize::MAX]), game.utility(&[]));
    }
    let q = quality_scores(&train, &train, &players, &knn()).expect("scores");
    assert_eq!(q, vec![1.0; 4]);
}

/// A KNN classifier's rows are checked when it is fitted: its fields are
/// read through methods, never set from outside.
#[test]
fn a_knn_classifier_is_built_only_by_fit() {
    let train = train();
    let Some(Classifier::Knn(classifier)) = fit(&knn(), &train, &[3, 0, 2]).expect("rows of train")
    else {
        panic!("two classes give a KNN classifier");
    };
    assert_eq!(classifier.rows(), &[0, 2, 3]);
    assert_eq!(classifier.k(), 1);
    assert_eq!(classifier.data().n_rows(), 4);
    let model = Classifier::Knn(classifier);
    assert_eq!(model.predict(&[9.0]), 1);
    // A feature vector of another length is scored on the features both
    // have, never indexed past its end.
    assert_eq!(model.predict(&[]), 0);
    assert_eq!(model.predict(&[0.2, 100.0]), 0);
}
