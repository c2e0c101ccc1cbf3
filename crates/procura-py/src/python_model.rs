//! Bring your own model: a [`CooperativeGame`] whose utility is the test
//! accuracy of a Python object with scikit-learn's `fit(X, y)` and
//! `predict(X)` (or `score(X, y)`), trained on a coalition's rows.
//!
//! The sampling, truncation, stopping rule and bookkeeping are procura's
//! (the same `tmc_shapley`, `banzhaf_msr` and `leave_one_out` as for the
//! built-in models); only `fit` and `predict` (or `score`) run in Python,
//! holding the GIL for those calls alone. The conventions are the built-in
//! models': the empty coalition is worth the test set's majority rate and
//! a coalition whose rows all carry one class predicts that class, without
//! calling the model (scikit-learn's classifiers refuse one class). The
//! game is evaluated on one worker thread, since the GIL would serialise
//! the calls anyway and one model object is refitted for each coalition;
//! the estimates are the same bits whatever the thread count.

use std::sync::Mutex;

use numpy::PyArray1;
use procura::valuation::{CooperativeGame, Dataset, Players};
use pyo3::prelude::*;

/// The game of a Python model, a training set and players, scored on a
/// test set. The first exception a call raises is kept; later coalitions
/// are then worth NaN without calling Python, and the caller raises it.
pub(crate) struct PythonGame<'a> {
    model: Py<PyAny>,
    /// The training features and labels as Python arrays (what `fit` is
    /// given, indexed by the coalition's rows).
    x_train: Py<PyAny>,
    y_train: Py<PyAny>,
    x_test: Py<PyAny>,
    y_test: Py<PyAny>,
    /// Whether to call `predict` (else `score`).
    predict: bool,
    train: &'a Dataset,
    test: &'a Dataset,
    players: &'a Players,
    error: Mutex<Option<PyErr>>,
}

/// The Python side of a [`PythonGame`].
pub(crate) struct PythonModel {
    /// The model object.
    pub(crate) model: Py<PyAny>,
    /// The training features, labels, test features and test labels.
    pub(crate) arrays: [Py<PyAny>; 4],
}

/// Whether `model` can be a utility's model: it has `fit` and `predict` or
/// `score`.
pub(crate) fn is_model(model: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(model.hasattr("fit")? && (model.hasattr("predict")? || model.hasattr("score")?))
}

impl<'a> PythonGame<'a> {
    /// The game of `model` on `train`'s rows owned by `players`, scored on
    /// `test`.
    pub(crate) fn new(
        py: Python<'_>,
        model: PythonModel,
        train: &'a Dataset,
        test: &'a Dataset,
        players: &'a Players,
    ) -> PyResult<PythonGame<'a>> {
        let predict = model.model.bind(py).hasattr("predict")?;
        let [x_train, y_train, x_test, y_test] = model.arrays;
        Ok(PythonGame {
            model: model.model,
            x_train,
            y_train,
            x_test,
            y_test,
            predict,
            train,
            test,
            players,
            error: Mutex::new(None),
        })
    }

    /// The first exception a call raised, if any.
    pub(crate) fn take_error(&self) -> Option<PyErr> {
        self.error.lock().ok()?.take()
    }

    fn failed(&self) -> bool {
        self.error.lock().map_or(true, |error| error.is_some())
    }

    /// Fits the model on `rows` and scores it on the test set.
    fn fit_and_score(&self, py: Python<'_>, rows: &[usize]) -> PyResult<f64> {
        py.check_signals()?;
        let index = PyArray1::from_iter(py, rows.iter().map(|&row| row as i64));
        let x = self.x_train.bind(py).get_item(&index)?;
        let y = self.y_train.bind(py).get_item(&index)?;
        let model = self.model.bind(py);
        model.call_method1("fit", (x, y))?;
        let (x_test, y_test) = (self.x_test.bind(py), self.y_test.bind(py));
        if self.predict {
            let predicted = model.call_method1("predict", (x_test,))?;
            let numpy = py.import("numpy")?;
            numpy
                .call_method1("equal", (predicted, y_test))?
                .call_method0("mean")?
                .extract()
        } else {
            model.call_method1("score", (x_test, y_test))?.extract()
        }
    }
}

impl CooperativeGame for PythonGame<'_> {
    fn n_players(&self) -> usize {
        self.players.n_players()
    }

    fn utility(&self, coalition: &[usize]) -> f64 {
        if self.failed() {
            return f64::NAN;
        }
        let mut rows: Vec<usize> = coalition
            .iter()
            .flat_map(|&player| self.players.rows_of(player).iter().copied())
            .collect();
        rows.sort_unstable();
        let Some(&first) = rows.first() else {
            return self.test.majority_rate();
        };
        let class = self.train.label(first);
        if rows.iter().all(|&row| self.train.label(row) == class) {
            let hits = self
                .test
                .labels()
                .iter()
                .filter(|&&label| Some(label) == class)
                .count();
            return hits as f64 / self.test.n_rows() as f64;
        }
        Python::attach(|py| match self.fit_and_score(py, &rows) {
            Ok(utility) => utility,
            Err(error) => {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(error);
                }
                f64::NAN
            }
        })
    }
}
