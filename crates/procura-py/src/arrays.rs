//! NumPy arrays in: features, labels and groups, checked with messages that
//! name the array, the row and the column.
//!
//! Features are read where they lie: a float64 array in C or Fortran order
//! (or any strides) is read through its buffer, without a NumPy copy; any
//! other array-like goes through `numpy.asarray(x, dtype=float64)` first.
//! The library's [`Dataset`] owns its features, row-major, so they are
//! copied once into it (a tiled transpose for Fortran order).
//!
//! KNN-Shapley also reads a float32 array where it lies ([`knn_rows`]):
//! its rows are copied once, still float32, into the library's
//! [`Embeddings`], which ranks them without widening the whole array.

use numpy::ndarray::ArrayView2;
use numpy::{Element, PyArray1, PyArray2, PyArrayMethods};
use procura::valuation::{Dataset, Embeddings, Features, Players};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use crate::{input_error, python_message};

/// The features `value` as a float64 NumPy array of two dimensions: the
/// object itself when it is one, else `numpy.asarray(value,
/// dtype=float64)`.
pub(crate) fn features<'py>(
    value: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    if let Ok(array) = value.cast::<PyArray2<f64>>() {
        return Ok(array.clone());
    }
    let numpy = value.py().import("numpy")?;
    let kwargs = PyDict::new(value.py());
    kwargs.set_item("dtype", numpy.getattr("float64")?)?;
    let array = numpy
        .call_method("asarray", (value,), Some(&kwargs))
        .map_err(|error| {
            input_error(format!(
                "{name}: cannot be read as an array of float64: {}",
                python_message(&error)
            ))
        })?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 2 {
        return Err(input_error(format!(
            "{name}: expected a 2-D array (rows × features), not {ndim}-D"
        )));
    }
    Ok(array.cast_into::<PyArray2<f64>>()?)
}

/// The rows of `array`, row-major, in a new buffer: one copy, whatever the
/// layout.
pub(crate) fn row_major<T: Element + Copy + Default>(
    array: &Bound<'_, PyArray2<T>>,
) -> PyResult<(Vec<T>, usize, usize)> {
    let readonly = array.try_readonly()?;
    let view = readonly.as_array();
    let (rows, cols) = view.dim();
    Ok((copy_rows(&view), rows, cols))
}

fn copy_rows<T: Copy + Default>(view: &ArrayView2<'_, T>) -> Vec<T> {
    if let Some(slice) = view.as_slice() {
        return slice.to_vec();
    }
    let (rows, cols) = view.dim();
    let transposed = view.t();
    let Some(columns) = transposed.as_slice() else {
        return view.iter().copied().collect();
    };
    // Fortran order: `columns[c * rows + r]` is row r, column c. Tiles keep
    // both the reads and the writes within the cache.
    const TILE: usize = 64;
    let mut out = vec![T::default(); rows * cols];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for c in c0..(c0 + TILE).min(cols) {
                let column = &columns[c * rows..(c + 1) * rows];
                for r in r0..(r0 + TILE).min(rows) {
                    out[r * cols + c] = column[r];
                }
            }
        }
    }
    out
}

/// A dataset of `features` (already row-major) and class indices, with the
/// library's checks; a message names the features' array.
pub(crate) fn dataset(
    (features, rows, cols): (Vec<f64>, usize, usize),
    labels: Vec<usize>,
    n_classes: usize,
    name: &str,
) -> Result<Dataset, String> {
    if rows == 0 {
        return Err(format!("{name}: dataset has no rows"));
    }
    Dataset::new(features, cols, labels, n_classes).map_err(|error| format!("{name}: {error}"))
}

/// Feature rows as KNN-Shapley reads them, row-major, in the precision
/// they were given: float32 stays float32, anything else is float64.
pub(crate) enum KnnRows {
    /// A float32 array's values.
    F32(Vec<f32>),
    /// Every other array's, as float64.
    F64(Vec<f64>),
}

/// The features `value` for KNN-Shapley, with their rows and columns: a
/// float32 array of two dimensions is read through its buffer and kept
/// float32; anything else is read as [`features`] reads it.
pub(crate) fn knn_rows(value: &Bound<'_, PyAny>, name: &str) -> PyResult<(KnnRows, usize, usize)> {
    if let Ok(array) = value.cast::<PyArray2<f32>>() {
        let (values, rows, cols) = row_major(array)?;
        return Ok((KnnRows::F32(values), rows, cols));
    }
    let (values, rows, cols) = row_major(&features(value, name)?)?;
    Ok((KnnRows::F64(values), rows, cols))
}

/// Labelled rows for KNN-Shapley, with the library's checks ([`dataset`]'s
/// messages); a message names the features' array.
pub(crate) fn embeddings(
    (values, rows, cols): (KnnRows, usize, usize),
    labels: Vec<usize>,
    n_classes: usize,
    name: &str,
) -> Result<Embeddings, String> {
    if rows == 0 {
        return Err(format!("{name}: dataset has no rows"));
    }
    let features = match values {
        KnnRows::F32(values) => Features::from_f32(values, cols),
        KnnRows::F64(values) => Features::from_f64(values, cols),
    };
    features
        .and_then(|features| Embeddings::new(features, labels, n_classes))
        .map_err(|error| format!("{name}: {error}"))
}

/// The rows as a float64 dataset (float32 widened, exactly), with
/// [`dataset`]'s checks and messages.
pub(crate) fn widened_dataset(
    (values, rows, cols): (KnnRows, usize, usize),
    labels: Vec<usize>,
    n_classes: usize,
    name: &str,
) -> Result<Dataset, String> {
    let values = match values {
        KnnRows::F32(values) => values.into_iter().map(f64::from).collect(),
        KnnRows::F64(values) => values,
    };
    dataset((values, rows, cols), labels, n_classes, name)
}

/// Labels: a 1-D array (or sequence) of integers or strings, as text, the
/// way a CSV file holds them, and the array itself (what a Python model is
/// given). Booleans are 0 and 1; floats are accepted when finite.
pub(crate) fn labels<'py>(
    value: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<(Bound<'py, PyAny>, Labels)> {
    let numpy = value.py().import("numpy")?;
    let array = numpy.call_method1("asarray", (value,)).map_err(|error| {
        input_error(format!(
            "{name}: cannot be read as an array: {}",
            python_message(&error)
        ))
    })?;
    let ndim: usize = array.getattr("ndim")?.extract()?;
    if ndim != 1 {
        return Err(input_error(format!(
            "{name}: expected a 1-D array of labels, not {ndim}-D"
        )));
    }
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    let text = match kind.as_str() {
        "b" | "i" => Labels::Integers(integer_labels::<i64>(&array, "int64")?),
        "u" => Labels::Integers(integer_labels::<u64>(&array, "uint64")?),
        "U" => Labels::Text(array.call_method0("tolist")?.extract()?),
        "S" => Labels::Text(
            array
                .call_method1("astype", ("U",))
                .map_err(|error| {
                    input_error(format!(
                        "{name}: labels are not text: {}",
                        python_message(&error)
                    ))
                })?
                .call_method0("tolist")?
                .extract()?,
        ),
        "f" => {
            let kwargs = PyDict::new(array.py());
            kwargs.set_item("copy", false)?;
            let floats = array.call_method("astype", ("float64",), Some(&kwargs))?;
            let floats = floats.cast::<PyArray1<f64>>()?.try_readonly()?;
            let floats = floats.as_array();
            if let Some((row, value)) = floats.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(input_error(format!(
                    "{name}: row {row}: label {value} is not finite"
                )));
            }
            Labels::Floats(floats.to_vec())
        }
        "O" => Labels::Text(object_labels(&array, name)?),
        _ => {
            let dtype = array.getattr("dtype")?.str()?.to_string();
            return Err(input_error(format!(
                "{name}: labels must be integers or strings, not {dtype}"
            )));
        }
    };
    Ok((array, text))
}

/// Labels as read: numbers stay numbers (no text per label), and become
/// text only beside labels that are text (see [`crate::classes`]).
pub(crate) enum Labels {
    /// Integers (booleans as 0 and 1).
    Integers(Vec<i128>),
    /// Finite floats.
    Floats(Vec<f64>),
    /// Text.
    Text(Vec<String>),
}

impl Labels {
    /// Number of labels.
    pub(crate) fn len(&self) -> usize {
        match self {
            Labels::Integers(values) => values.len(),
            Labels::Floats(values) => values.len(),
            Labels::Text(values) => values.len(),
        }
    }
}

/// Integer (or boolean) labels, read through the array's buffer.
fn integer_labels<T>(array: &Bound<'_, PyAny>, dtype: &str) -> PyResult<Vec<i128>>
where
    T: Element + Copy + Into<i128>,
{
    let kwargs = PyDict::new(array.py());
    kwargs.set_item("copy", false)?;
    let integers = array.call_method("astype", (dtype,), Some(&kwargs))?;
    let integers = integers.cast::<PyArray1<T>>()?.try_readonly()?;
    Ok(integers
        .as_array()
        .iter()
        .map(|&value| value.into())
        .collect())
}

/// The labels of an object array: each a string or an integer.
fn object_labels(array: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<String>> {
    let items = array.call_method0("tolist")?;
    let mut text = Vec::new();
    for (row, item) in items.try_iter()?.enumerate() {
        let item = item?;
        if let Ok(string) = item.cast::<PyString>() {
            text.push(string.to_cow()?.into_owned());
        } else if item.is_instance_of::<PyBool>() {
            text.push(if item.is_truthy()? { "1" } else { "0" }.to_owned());
        } else if item.is_instance_of::<PyInt>() {
            text.push(item.str()?.to_string());
        } else {
            return Err(input_error(format!(
                "{name}: row {row}: label {} is not an integer or a string",
                item.repr()?
            )));
        }
    }
    Ok(text)
}

/// Players owning groups of rows: each row's group label, numbered in order
/// of first appearance, and the labels in that order.
pub(crate) struct Groups<'py> {
    /// The group labels, in order of first appearance.
    pub(crate) keys: Vec<Bound<'py, PyAny>>,
    /// The players.
    pub(crate) players: Players,
}

/// The groups of `value`, one hashable label per training row.
pub(crate) fn groups<'py>(
    value: &Bound<'py, PyAny>,
    n_rows: usize,
    rows_of: &str,
) -> PyResult<Groups<'py>> {
    let py = value.py();
    let items = if value.hasattr("tolist")? {
        value.call_method0("tolist")?
    } else {
        value.clone()
    };
    let index = PyDict::new(py);
    let mut keys = Vec::new();
    let mut of_row = Vec::new();
    let iterator = items.try_iter().map_err(|error| {
        input_error(format!(
            "groups: not a sequence: {}",
            python_message(&error)
        ))
    })?;
    for (row, item) in iterator.enumerate() {
        let item = item?;
        let player = match index.get_item(&item).map_err(|error| {
            input_error(format!("groups: row {row}: {}", python_message(&error)))
        })? {
            Some(player) => player.extract::<usize>()?,
            None => {
                index.set_item(&item, keys.len())?;
                keys.push(item);
                keys.len() - 1
            }
        };
        of_row.push(player);
    }
    if of_row.len() != n_rows {
        return Err(input_error(format!(
            "groups: {} labels, but {rows_of} has {n_rows} rows",
            of_row.len()
        )));
    }
    let players =
        Players::groups(of_row).map_err(|error| input_error(format!("groups: {error}")))?;
    Ok(Groups { keys, players })
}
