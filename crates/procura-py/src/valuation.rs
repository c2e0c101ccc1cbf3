//! Data valuation and quality scores on NumPy arrays: `knn_shapley`, `loo`,
//! `tmc_shapley`, `banzhaf_msr` and `quality`, through the functions
//! `procura value` and `procura quality` call
//! (`crates/procura-cli/src/value.rs`, `quality.rs`): the same datasets
//! (features as given, not standardised; labels numbered as the CLI numbers
//! them, across the training and test labels), the same players, models
//! and sampling configurations, so the same values to the last bit.

use numpy::{PyArray1, PyArray2};
use procura::valuation::{
    banzhaf_msr as run_banzhaf_msr, knn_group_shapley, knn_shapley as run_knn_shapley,
    leave_one_out, no_progress, quality_scores, tmc_shapley as run_tmc_shapley, CooperativeGame,
    Dataset, Embeddings, Estimate, GroupMethod, Knn, KnnShapley, LabelledRows, LearningGame,
    Logistic, Metric, Model, Players, SamplingConfig, ValuationError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::arrays::{self, Groups};
use crate::python_model::{is_model, PythonGame, PythonModel};
use crate::{classes, input_error, with_threads};

/// One labelled set as given: the features' array, the labels' array and
/// the labels as read.
struct Given<'py> {
    x: Bound<'py, PyArray2<f64>>,
    y: Bound<'py, PyAny>,
    features: (Vec<f64>, usize, usize),
    labels: arrays::Labels,
}

/// Reads `x` and `y` (named `names`) and checks that they have as many
/// rows as each other.
fn given<'py>(
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    names: [&str; 2],
) -> PyResult<Given<'py>> {
    let x = arrays::features(x, names[0])?;
    let (y, labels) = arrays::labels(y, names[1])?;
    let features = arrays::row_major(&x)?;
    check_lengths(&labels, features.1, names)?;
    Ok(Given {
        x,
        y,
        features,
        labels,
    })
}

/// Refuses labels (named `names[1]`) that are not one per row of the
/// features (named `names[0]`).
fn check_lengths(labels: &arrays::Labels, rows: usize, names: [&str; 2]) -> PyResult<()> {
    if labels.len() != rows {
        return Err(input_error(format!(
            "{}: {} labels, but {} has {} rows",
            names[1],
            labels.len(),
            names[0],
            rows
        )));
    }
    Ok(())
}

/// Refuses test features (named `names[2]`) with another number of
/// columns than the training features (`names[0]`), and numbers the
/// training and test labels as one set of classes: each set's classes and
/// the number of classes.
fn number_classes(
    (train, train_cols): (&arrays::Labels, usize),
    (test, test_cols): (&arrays::Labels, usize),
    names: [&str; 4],
) -> PyResult<(Vec<usize>, Vec<usize>, usize)> {
    if train_cols != test_cols {
        return Err(input_error(format!(
            "{}: {} features, but {} has {}",
            names[2], test_cols, names[0], train_cols
        )));
    }
    let (mut numbered, n_classes) =
        classes::number(&[train, test], names[1]).map_err(input_error)?;
    let test_labels = numbered.pop().unwrap_or_default();
    let train_labels = numbered.pop().unwrap_or_default();
    Ok((train_labels, test_labels, n_classes))
}

/// The training and test sets (or data and trusted sets) as datasets,
/// their labels numbered together, with the Python arrays a model of the
/// caller's is given.
struct Data<'py> {
    train: Dataset,
    test: Dataset,
    /// The training and test features and labels as Python arrays.
    arrays: [Bound<'py, PyAny>; 4],
}

/// Reads a training and a test set, `names` naming their features and
/// labels in messages.
fn data<'py>(
    train: (&Bound<'py, PyAny>, &Bound<'py, PyAny>),
    test: (&Bound<'py, PyAny>, &Bound<'py, PyAny>),
    names: [&str; 4],
) -> PyResult<Data<'py>> {
    let train = given(train.0, train.1, [names[0], names[1]])?;
    let test = given(test.0, test.1, [names[2], names[3]])?;
    let (train_labels, test_labels, n_classes) = number_classes(
        (&train.labels, train.features.2),
        (&test.labels, test.features.2),
        names,
    )?;
    let arrays = [train.x.into_any(), train.y, test.x.into_any(), test.y];
    Ok(Data {
        train: arrays::dataset(train.features, train_labels, n_classes, names[0])
            .map_err(input_error)?,
        test: arrays::dataset(test.features, test_labels, n_classes, names[2])
            .map_err(input_error)?,
        arrays,
    })
}

/// The training and test sets of KNN-Shapley as read, labels numbered:
/// float32 features stay float32, anything else is read as float64.
struct KnnSets {
    train: (arrays::KnnRows, usize, usize),
    test: (arrays::KnnRows, usize, usize),
    train_labels: Vec<usize>,
    test_labels: Vec<usize>,
    n_classes: usize,
}

impl KnnSets {
    /// The sets as embeddings, in the precision they were given.
    fn embeddings(self) -> Result<(Embeddings, Embeddings), String> {
        Ok((
            arrays::embeddings(self.train, self.train_labels, self.n_classes, "x_train")?,
            arrays::embeddings(self.test, self.test_labels, self.n_classes, "x_test")?,
        ))
    }

    /// The sets as float64 datasets.
    fn datasets(self) -> Result<(Dataset, Dataset), String> {
        Ok((
            arrays::widened_dataset(self.train, self.train_labels, self.n_classes, "x_train")?,
            arrays::widened_dataset(self.test, self.test_labels, self.n_classes, "x_test")?,
        ))
    }
}

/// Reads the training and test sets of KNN-Shapley, with [`data`]'s checks
/// and messages.
fn knn_data(
    train: (&Bound<'_, PyAny>, &Bound<'_, PyAny>),
    test: (&Bound<'_, PyAny>, &Bound<'_, PyAny>),
    names: [&str; 4],
) -> PyResult<KnnSets> {
    let read = |(x, y): (&Bound<'_, PyAny>, &Bound<'_, PyAny>), names: [&str; 2]| {
        let rows = arrays::knn_rows(x, names[0])?;
        let (_, labels) = arrays::labels(y, names[1])?;
        check_lengths(&labels, rows.1, names)?;
        Ok::<_, PyErr>((rows, labels))
    };
    let (train, train_labels) = read(train, [names[0], names[1]])?;
    let (test, test_labels) = read(test, [names[2], names[3]])?;
    let (train_labels, test_labels, n_classes) =
        number_classes((&train_labels, train.2), (&test_labels, test.2), names)?;
    Ok(KnnSets {
        train,
        test,
        train_labels,
        test_labels,
        n_classes,
    })
}

/// The `groups` argument, when it is given and not `None`.
fn given_groups<'a, 'py>(groups: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    groups.filter(|groups| !groups.is_none())
}

/// The players: every training row its own, or the `groups`.
fn players<'py, R: LabelledRows>(
    groups: Option<&Bound<'py, PyAny>>,
    train: &R,
    rows_of: &str,
) -> PyResult<(Players, Option<Vec<Bound<'py, PyAny>>>)> {
    match given_groups(groups) {
        None => Ok((Players::points(train), None)),
        Some(groups) => {
            let Groups { keys, players } = arrays::groups(groups, train.n_rows(), rows_of)?;
            Ok((players, Some(keys)))
        }
    }
}

/// One value per row as an array, or per group as a `dict` in order of
/// first appearance.
fn values_out<'py>(
    py: Python<'py>,
    values: Vec<f64>,
    keys: Option<Vec<Bound<'py, PyAny>>>,
) -> PyResult<Bound<'py, PyAny>> {
    match keys {
        None => Ok(PyArray1::from_vec(py, values).into_any()),
        Some(keys) => {
            let dict = PyDict::new(py);
            for (key, value) in keys.iter().zip(values) {
                dict.set_item(key, value)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// The utility's model: a built-in one by name, or the caller's object.
enum ModelChoice {
    Builtin(Model),
    Python(Py<PyAny>),
}

/// A built-in model by name: `logreg` (`l2`) or `knn` (`k`).
fn builtin_model(name: &str, k: usize, l2: f64) -> PyResult<Option<Model>> {
    match name {
        "logreg" => Logistic::new(l2)
            .map(|logistic| Some(Model::Logistic(logistic)))
            .map_err(input_error),
        "knn" => Knn::new(k)
            .map(|knn| Some(Model::Knn(knn)))
            .map_err(input_error),
        _ => Ok(None),
    }
}

fn model_choice(model: &Bound<'_, PyAny>, k: usize, l2: f64) -> PyResult<ModelChoice> {
    if let Ok(name) = model.cast::<PyString>() {
        let name = name.to_cow()?;
        return builtin_model(&name, k, l2)?
            .map(ModelChoice::Builtin)
            .ok_or_else(|| unknown_model(&name));
    }
    if is_model(model)? {
        return Ok(ModelChoice::Python(model.clone().unbind()));
    }
    Err(input_error(format!(
        "model: {} is not \"logreg\", \"knn\" or an object with fit(X, y) and predict(X) or \
         score(X, y)",
        model.repr()?
    )))
}

fn unknown_model(name: &str) -> PyErr {
    input_error(format!(
        "model: unknown model {name:?}: expected \"logreg\", \"knn\" or an object with \
         fit(X, y) and predict(X) or score(X, y)"
    ))
}

/// The message of a valuation error: the library's, which names the
/// argument; a model too large for the data names the training features.
fn valuation_message(error: ValuationError) -> String {
    match error {
        ValuationError::Model(error) => format!("x_train: {error} (model)"),
        ValuationError::ZeroNorm { set, row } => {
            let array = if set == "test" { "x_test" } else { "x_train" };
            format!("{array}: row {row} is all zeros, which has no cosine distance")
        }
        other => other.to_string(),
    }
}

/// Which method a call runs.
#[derive(Debug, Clone, Copy)]
enum Method {
    Loo,
    Tmc { truncation: f64 },
    Msr,
}

/// Runs `method` on `game`.
fn estimate(
    game: &dyn CooperativeGame,
    method: Method,
    config: &SamplingConfig,
) -> Result<Estimate, ValuationError> {
    match method {
        Method::Loo => Ok(leave_one_out(game, &no_progress)),
        Method::Tmc { truncation } => run_tmc_shapley(game, config, truncation, &no_progress),
        Method::Msr => run_banzhaf_msr(game, config, &no_progress),
    }
}

/// The arguments every learning-game method shares.
struct GameArgs<'a, 'py> {
    x_train: &'a Bound<'py, PyAny>,
    y_train: &'a Bound<'py, PyAny>,
    x_test: &'a Bound<'py, PyAny>,
    y_test: &'a Bound<'py, PyAny>,
    model: &'a Bound<'py, PyAny>,
    k: usize,
    l2: f64,
    groups: Option<&'a Bound<'py, PyAny>>,
    threads: Option<usize>,
}

/// Reads the arrays, builds the game and runs `method` with the GIL
/// released (held only for a Python model's calls).
fn value_game<'py>(
    py: Python<'py>,
    args: &GameArgs<'_, 'py>,
    method: Method,
    config: &SamplingConfig,
) -> PyResult<Bound<'py, PyAny>> {
    let model = model_choice(args.model, args.k, args.l2)?;
    let data = data(
        (args.x_train, args.y_train),
        (args.x_test, args.y_test),
        ["x_train", "y_train", "x_test", "y_test"],
    )?;
    let (players, keys) = players(args.groups, &data.train, "x_train")?;
    let (train, test) = (&data.train, &data.test);
    let threads = args.threads;
    let result = match model {
        ModelChoice::Builtin(model) => py.detach(|| {
            with_threads(threads, || {
                LearningGame::new(train, test, &players, model)
                    .and_then(|game| estimate(&game, method, config))
                    .map_err(valuation_message)
            })
            .and_then(|result| result)
        }),
        ModelChoice::Python(model) => {
            if threads == Some(0) {
                return Err(input_error("threads must be at least 1"));
            }
            let arrays = data.arrays.clone().map(Bound::unbind);
            let model = PythonModel { model, arrays };
            let game = PythonGame::new(py, model, train, test, &players)?;
            let result = py.detach(|| {
                with_threads(Some(1), || {
                    estimate(&game, method, config).map_err(valuation_message)
                })
                .and_then(|result| result)
            });
            if let Some(error) = game.take_error() {
                return Err(error);
            }
            result
        }
    };
    let estimate = result.map_err(input_error)?;
    values_out(py, estimate.values, keys)
}

/// The sampling configuration of `samples`, `seed` and `target_se`, checked
/// as the CLI checks `--samples`, `--seed` and `--target-se`.
fn sampling(samples: usize, seed: u64, target_se: Option<f64>) -> PyResult<SamplingConfig> {
    SamplingConfig::new(samples, seed)
        .and_then(|config| config.with_target_se(target_se))
        .map_err(|error| input_error(valuation_message(error)))
}

/// What `knn_shapley` gives a group: `provider_value`, the command line's
/// `--provider-value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProviderValue {
    /// Its Shapley value in the game whose players are the groups.
    Shapley,
    /// The sum of its rows' values, rows as players.
    RowSum,
}

impl ProviderValue {
    /// `provider_value` as given (`None`, not given: `shapley`). Like
    /// `--provider-value` without `--provider-column`, it is refused
    /// without `groups`: the rows are then valued.
    fn of(name: Option<&str>, grouped: bool) -> PyResult<ProviderValue> {
        let Some(name) = name else {
            return Ok(ProviderValue::Shapley);
        };
        let value = match name {
            "shapley" => ProviderValue::Shapley,
            "row-sum" => ProviderValue::RowSum,
            _ => {
                return Err(input_error(format!(
                    "provider_value: unknown value {name:?}: expected \"shapley\" or \"row-sum\""
                )))
            }
        };
        if !grouped {
            return Err(input_error(
                "provider_value needs groups: without them rows are valued",
            ));
        }
        Ok(value)
    }
}

/// The KNN-Shapley configuration of `k`, `metric`, `neighbours` and
/// `epsilon`, checked as the command line checks `--k`, `--metric`,
/// `--neighbours` and `--epsilon` (which it does not take together).
fn knn_config(
    k: usize,
    metric: &str,
    neighbours: Option<usize>,
    epsilon: Option<f64>,
) -> PyResult<KnnShapley> {
    let knn = Knn::new(k).map_err(input_error)?;
    let metric = match metric {
        "euclidean" => Metric::Euclidean,
        "cosine" => Metric::Cosine,
        _ => {
            return Err(input_error(format!(
                "metric: unknown metric {metric:?}: expected \"euclidean\" or \"cosine\""
            )))
        }
    };
    let config = KnnShapley::new(knn).with_metric(metric);
    match (neighbours, epsilon) {
        (Some(_), Some(_)) => Err(input_error(
            "neighbours and epsilon: give one or the other (epsilon sets neighbours to \
             max(k, ⌈1/epsilon⌉))",
        )),
        (Some(k_star), None) => config.with_neighbours(k_star).map_err(input_error),
        (None, Some(epsilon)) => config.with_epsilon(epsilon).map_err(input_error),
        (None, None) => Ok(config),
    }
}

/// The groups' Shapley values in the KNN game whose players are the
/// groups, as `procura value --method knn-shapley --provider-column`
/// computes them: exact when [`GroupMethod::auto`] allows it, else
/// sampled with [`SamplingConfig::standard`] (the command line has no
/// flag for that sampling either).
fn group_shapley(
    train: &Dataset,
    test: &Dataset,
    knn: Knn,
    players: &Players,
) -> Result<Vec<f64>, String> {
    let sampling = SamplingConfig::standard();
    let method = GroupMethod::auto(players.n_players(), test.n_rows(), &knn, sampling);
    knn_group_shapley(train, test, &knn, players, method, &no_progress)
        .map(|estimate| estimate.values)
        .map_err(valuation_message)
}

/// KNN-Shapley values (Jia et al. 2019) of the KNN soft-vote utility, as
/// `procura value --method knn-shapley`.
///
/// For each test point the training rows are sorted by distance, squared
/// Euclidean (`metric="euclidean"`) or cosine, 1 − x·r / (‖x‖ ‖r‖)
/// (`metric="cosine"`), ties by row index; the utility U(S) of a set of
/// rows is the share of its `k` nearest that carry the test point's
/// label, averaged over the test points (U(∅) = 0). Each row's Shapley
/// value follows from the recursion of Jia et al., Theorem 1, so the
/// values add up to the utility of the whole set. With `neighbours=K*`
/// (K* ≥ k) only each test point's K* nearest rows are ranked and every
/// value is within 1/K* of the exact one (their Theorem 2); `epsilon=ε`
/// sets K* = max(k, ⌈1/ε⌉), every value within ε.
///
/// `x_train` and `x_test` are 2-D arrays of numbers: float64 read in place
/// (C or Fortran order), float32 kept float32 (ranked without a float64
/// copy, with the values of the same numbers as float64), anything else
/// converted to float64. `y_train` and `y_test` are 1-D arrays of integer
/// or string labels. Returns a float64 array of one value per training
/// row or, with `groups` (one hashable label per training row), a `dict`
/// from each group to its value, in order of first appearance:
///
/// - `provider_value="shapley"` (the default): the group's Shapley value
///   in the game whose players are the groups, U(S) the utility of the
///   rows of the groups in S. Exact when test points × Σ_{j ≤ k} C(groups,
///   j) is at most 2³⁰, else estimated from 1000 permutations of seed 0,
///   as the command line does; for the Euclidean game without
///   `neighbours` or `epsilon` only.
/// - `provider_value="row-sum"`: the sum of the group's rows' values, rows
///   as players, which is not the group's Shapley value.
///
/// `provider_value` without `groups` is refused, as the command line
/// refuses `--provider-value` without `--provider-column`.
///
/// Runs with the GIL released, on `threads` threads (default: every
/// core); the values do not depend on it.
///
/// >>> import numpy as np, procura
/// >>> x = np.array([[0.0], [1.0], [5.0]]); y = np.array([0, 1, 0])
/// >>> values = procura.knn_shapley(x, y, np.array([[0.2]]), np.array([0]), k=1)
/// >>> values.round(3).tolist()
/// [0.833, -0.167, 0.333]
/// >>> procura.knn_shapley(x, y, np.array([[0.2]]), np.array([0]), k=1, groups=["a", "a", "b"])
/// {'a': 0.5, 'b': 0.5}
/// >>> sums = procura.knn_shapley(x, y, np.array([[0.2]]), np.array([0]), k=1,
/// ...                            groups=["a", "a", "b"], provider_value="row-sum")
/// >>> {group: round(value, 3) for group, value in sums.items()}
/// {'a': 0.667, 'b': 0.333}
#[pyfunction]
#[pyo3(signature = (
    x_train, y_train, x_test, y_test, *,
    k = 5, groups = None, provider_value = None, metric = "euclidean", neighbours = None,
    epsilon = None, threads = None,
), text_signature = "(x_train, y_train, x_test, y_test, *, k=5, groups=None, provider_value='shapley', metric='euclidean', neighbours=None, epsilon=None, threads=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn knn_shapley<'py>(
    py: Python<'py>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    y_test: &Bound<'py, PyAny>,
    k: usize,
    groups: Option<&Bound<'py, PyAny>>,
    provider_value: Option<&str>,
    metric: &str,
    neighbours: Option<usize>,
    epsilon: Option<f64>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = knn_config(k, metric, neighbours, epsilon)?;
    let grouped = given_groups(groups).is_some();
    let provider_value = ProviderValue::of(provider_value, grouped)?;
    let group_game = grouped && provider_value == ProviderValue::Shapley;
    if group_game && config.providers_game().is_none() {
        return Err(input_error(
            "a group's Shapley value (provider_value=\"shapley\", the default) is computed for \
             the exact Euclidean game: drop metric, neighbours and epsilon, or pass \
             provider_value=\"row-sum\"",
        ));
    }
    let sets = knn_data(
        (x_train, y_train),
        (x_test, y_test),
        ["x_train", "y_train", "x_test", "y_test"],
    )?;
    let (values, keys) = if group_game {
        // The groups' game reads float64 rows: float32 ones are widened
        // once, as the command line widens an .npz file's.
        let (train, test) = sets.datasets().map_err(input_error)?;
        let (players, keys) = players(groups, &train, "x_train")?;
        let values = py.detach(|| {
            with_threads(threads, || {
                group_shapley(&train, &test, config.knn(), &players)
            })
            .and_then(|result| result)
        });
        (values, keys)
    } else {
        let (train, test) = sets.embeddings().map_err(input_error)?;
        let (players, keys) = players(groups, &train, "x_train")?;
        let values = py.detach(|| {
            with_threads(threads, || {
                run_knn_shapley(&train, &test, config, &players, &no_progress)
                    .map_err(valuation_message)
            })
            .and_then(|result| result)
        });
        (values, keys)
    };
    values_out(py, values.map_err(input_error)?, keys)
}

/// Leave-one-out values, U(N) − U(N ∖ i), as `procura value --method loo`.
///
/// U(S) is the test accuracy of `model` trained on S: `"logreg"`
/// (L2-regularised logistic regression, `l2` = 1/C of scikit-learn),
/// `"knn"` (`k` nearest neighbours), or any object with scikit-learn's
/// `fit(X, y)` and `predict(X)` (or `score(X, y)`), called with the GIL
/// held for those calls only. U(∅) is the test set's majority rate; a
/// training set of one class predicts it. Arrays, `groups`, `threads` and
/// the result as in `knn_shapley`.
///
/// >>> import numpy as np, procura
/// >>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
/// >>> procura.loo(x, y, x, y, model="knn", k=1)
/// array([0., 0., 0., 0.])
#[pyfunction]
#[pyo3(signature = (
    x_train, y_train, x_test, y_test, *,
    model = None, k = 5, l2 = 1.0, groups = None, threads = None,
), text_signature = "(x_train, y_train, x_test, y_test, *, model='logreg', k=5, l2=1.0, groups=None, threads=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn loo<'py>(
    py: Python<'py>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    y_test: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    k: usize,
    l2: f64,
    groups: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let logreg = PyString::new(py, "logreg").into_any();
    let args = GameArgs {
        x_train,
        y_train,
        x_test,
        y_test,
        model: model.unwrap_or(&logreg),
        k,
        l2,
        groups,
        threads,
    };
    value_game(py, &args, Method::Loo, &SamplingConfig::standard())
}

/// Truncated Monte-Carlo Shapley values (Ghorbani and Zou 2019), as
/// `procura value --method tmc-shapley`.
///
/// Each of at most `samples` permutations (sample m drawn from its own
/// ChaCha8 stream of `seed`) gives every player its marginal contribution;
/// a permutation stops once a prefix is worth within `truncation`
/// (relative) of the whole set. Sampling stops early once every standard
/// error is at most `target_se`. The same seed gives the same values on
/// any number of `threads`. Models, arrays, `groups` and the result as in
/// `loo`.
///
/// >>> import numpy as np, procura
/// >>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]]); y = np.array([0, 0, 1, 1])
/// >>> v = procura.tmc_shapley(x, y, x, y, samples=64, seed=7)
/// >>> v.shape
/// (4,)
#[pyfunction]
#[pyo3(signature = (
    x_train, y_train, x_test, y_test, *,
    model = None, k = 5, l2 = 1.0, samples = 1000, seed = 0, truncation = 0.01,
    target_se = None, groups = None, threads = None,
), text_signature = "(x_train, y_train, x_test, y_test, *, model='logreg', k=5, l2=1.0, samples=1000, seed=0, truncation=0.01, target_se=None, groups=None, threads=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn tmc_shapley<'py>(
    py: Python<'py>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    y_test: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    k: usize,
    l2: f64,
    samples: usize,
    seed: u64,
    truncation: f64,
    target_se: Option<f64>,
    groups: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = sampling(samples, seed, target_se)?;
    if !(truncation.is_finite() && truncation >= 0.0) {
        return Err(input_error(ValuationError::Truncation(truncation)));
    }
    let logreg = PyString::new(py, "logreg").into_any();
    let args = GameArgs {
        x_train,
        y_train,
        x_test,
        y_test,
        model: model.unwrap_or(&logreg),
        k,
        l2,
        groups,
        threads,
    };
    value_game(py, &args, Method::Tmc { truncation }, &config)
}

/// Data Banzhaf values by maximum sample reuse (Wang and Jia 2023), as
/// `procura value --method banzhaf-msr`.
///
/// Each of at most `samples` coalitions (each player present with
/// probability ½, sample m from its own ChaCha8 stream of `seed`) is
/// evaluated once and serves every player. Sampling stops early once every
/// standard error is at most `target_se`. The same seed gives the same
/// values on any number of `threads`. Models, arrays, `groups` and the
/// result as in `loo`.
///
/// >>> import numpy as np, procura
/// >>> x = np.array([[-2.0], [-1.0], [1.0], [2.0]] * 2)
/// >>> y = np.array([0, 0, 1, 1, 1, 1, 0, 0])
/// >>> v = procura.banzhaf_msr(x, y, x[:4], y[:4], samples=64, seed=7,
/// ...                         groups=["clean"] * 4 + ["flipped"] * 4)
/// >>> v["clean"] > v["flipped"]
/// True
#[pyfunction]
#[pyo3(signature = (
    x_train, y_train, x_test, y_test, *,
    model = None, k = 5, l2 = 1.0, samples = 1000, seed = 0, target_se = None,
    groups = None, threads = None,
), text_signature = "(x_train, y_train, x_test, y_test, *, model='logreg', k=5, l2=1.0, samples=1000, seed=0, target_se=None, groups=None, threads=None)")]
#[allow(clippy::too_many_arguments)]
pub(crate) fn banzhaf_msr<'py>(
    py: Python<'py>,
    x_train: &Bound<'py, PyAny>,
    y_train: &Bound<'py, PyAny>,
    x_test: &Bound<'py, PyAny>,
    y_test: &Bound<'py, PyAny>,
    model: Option<&Bound<'py, PyAny>>,
    k: usize,
    l2: f64,
    samples: usize,
    seed: u64,
    target_se: Option<f64>,
    groups: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let config = sampling(samples, seed, target_se)?;
    let logreg = PyString::new(py, "logreg").into_any();
    let args = GameArgs {
        x_train,
        y_train,
        x_test,
        y_test,
        model: model.unwrap_or(&logreg),
        k,
        l2,
        groups,
        threads,
    };
    value_game(py, &args, Method::Msr, &config)
}

/// Quality scores, as `procura quality`: q_i is the share of group i's
/// rows whose label a reference model, trained on the trusted set, predicts.
///
/// `model` is `"logreg"` (`l2`) or `"knn"` (`k`). `groups` has one hashable
/// label per row of `x`. Returns a `dict` from each group to its q_i, in
/// order of first appearance. q measures agreement with a model, not truth:
/// compare groups with one another, not with 1.
///
/// >>> import numpy as np, procura
/// >>> trusted = np.array([[0.0], [1.0], [10.0], [11.0]])
/// >>> x = np.array([[0.5], [10.5], [0.5], [10.5]])
/// >>> procura.quality(trusted, [0, 0, 1, 1], x, [0, 1, 1, 0], ["a", "a", "b", "b"], model="knn", k=1)
/// {'a': 1.0, 'b': 0.0}
#[pyfunction]
#[pyo3(signature = (x_trusted, y_trusted, x, y, groups, *, model = "logreg", k = 5, l2 = 1.0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn quality<'py>(
    py: Python<'py>,
    x_trusted: &Bound<'py, PyAny>,
    y_trusted: &Bound<'py, PyAny>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    groups: &Bound<'py, PyAny>,
    model: &str,
    k: usize,
    l2: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let model = builtin_model(model, k, l2)?.ok_or_else(|| unknown_model(model))?;
    let data = data(
        (x, y),
        (x_trusted, y_trusted),
        ["x", "y", "x_trusted", "y_trusted"],
    )?;
    let (players, keys) = players(Some(groups), &data.train, "x")?;
    let (scored, trusted) = (&data.train, &data.test);
    let quality = py
        .detach(|| quality_scores(trusted, scored, &players, &model))
        .map_err(|error| match error {
            ValuationError::Model(error) => input_error(format!("x_trusted: {error} (model)")),
            other => input_error(other),
        })?;
    values_out(py, quality, keys)
}
