//! `read_npz`: an embedding dataset in a NumPy `.npz` archive (arrays `x`,
//! `y` and optionally `provider`), read and checked by the reader
//! `procura value` uses ([`procura::valuation::npz::read`]: its limits on
//! memory, its dtypes, its messages naming the array and the row), as
//! NumPy arrays.

use std::io::BufReader;
use std::path::PathBuf;

use numpy::{PyArray1, PyArrayMethods};
use procura::valuation::npz::{self, NpzDataset};
use procura::valuation::Precision;
use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::{input_error, python_message};

/// Reads an embedding dataset from a NumPy `.npz` archive, as
/// `procura value --train FILE.npz` reads it.
///
/// The archive (``numpy.savez`` or ``numpy.savez_compressed``) holds `x`,
/// a 2-D array of float32 or float64, `y`, a 1-D array of integer or
/// string labels, one per row of `x`, and optionally `provider`, a 1-D
/// array of integers or strings naming each row's provider; other arrays
/// are ignored. Returns a `dict` with `x` (its dtype kept: float32 stays
/// float32; native byte order, C order), `y` and, when the archive has
/// it, `provider` (integers keep their dtype, strings come back as `str`
/// arrays). Bad input raises `procura.InputError` (a `ValueError`) naming
/// the file, the array and, for a bad value, the row: a NaN or infinity in
/// `x`, a `y` of another length, a dtype procura does not read, a header
/// or a size it refuses. A file that cannot be opened raises `OSError`.
/// The GIL is released while the file is read.
///
/// >>> import numpy as np, os, procura, tempfile
/// >>> with tempfile.TemporaryDirectory() as folder:
/// ...     path = os.path.join(folder, "train.npz")
/// ...     np.savez(path, x=np.eye(3, dtype=np.float32), y=np.array(["pos", "neg", "pos"]))
/// ...     data = procura.read_npz(path)
/// >>> data["x"].dtype, data["y"].tolist(), "provider" in data
/// (dtype('float32'), ['pos', 'neg', 'pos'], False)
#[pyfunction]
pub(crate) fn read_npz(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyDict>> {
    let source = path.display().to_string();
    let file = std::fs::File::open(&path).map_err(|error| os_error(&error, &source))?;
    let NpzDataset {
        features,
        labels,
        providers,
    } = py
        .detach(|| npz::read(BufReader::new(file)))
        .map_err(|error| input_error(format!("{source}: {error}")))?;
    let shape = [features.n_rows(), features.dim()];
    // The library owns the values: one copy into NumPy's memory.
    let x = match features.precision() {
        Precision::F32 => PyArray1::from_slice(py, features.as_f32().unwrap_or_default())
            .reshape(shape)?
            .into_any(),
        Precision::F64 => PyArray1::from_slice(py, features.as_f64().unwrap_or_default())
            .reshape(shape)?
            .into_any(),
    };
    drop(features);
    let dict = PyDict::new(py);
    dict.set_item("x", x)?;
    let numpy = py.import("numpy")?;
    // The library reads every label as text (integers in decimal); the
    // array's dtype tells integers from strings, which NumPy reads again
    // (only the 1-D array, now known to be valid).
    let archive = numpy
        .call_method1("load", (path,))
        .map_err(|error| numpy_error(&error, &source, "the archive"))?;
    for (name, text) in [("y", Some(labels)), ("provider", providers)] {
        let Some(text) = text else { continue };
        let stored = archive
            .get_item(name)
            .map_err(|error| numpy_error(&error, &source, &format!("array {name}")))?;
        let kind: String = stored.getattr("dtype")?.getattr("kind")?.extract()?;
        let array = if kind == "i" || kind == "u" {
            // Native byte order, as `x` has it.
            let native = stored
                .getattr("dtype")?
                .call_method1("newbyteorder", ("=",))?;
            stored.call_method1("astype", (native,))?
        } else {
            numpy.call_method1("array", (PyList::new(py, text)?, "U"))?
        };
        dict.set_item(name, array)?;
    }
    archive.call_method0("close")?;
    Ok(dict)
}

/// An `OSError` (`FileNotFoundError`, `PermissionError`, … by its errno)
/// naming `source`, as `open()` raises it.
fn os_error(error: &std::io::Error, source: &str) -> PyErr {
    let message = error.to_string();
    match error.raw_os_error() {
        Some(code) => {
            let reason = message
                .strip_suffix(&format!(" (os error {code})"))
                .unwrap_or(&message)
                .to_owned();
            PyOSError::new_err((code, reason, source.to_owned()))
        }
        None => PyOSError::new_err(format!("{source}: {message}")),
    }
}

/// NumPy's failure to read `what` (the archive, or one array) of a file
/// the library read.
fn numpy_error(error: &PyErr, source: &str, what: &str) -> PyErr {
    input_error(format!(
        "{source}: numpy cannot read {what}: {}",
        python_message(error)
    ))
}
