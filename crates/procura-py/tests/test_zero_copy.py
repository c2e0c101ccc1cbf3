"""Features are read in place: a large float64 array in C or Fortran
order, or a float32 one for KNN-Shapley, is not copied by NumPy on the way
in (tracemalloc sees every NumPy allocation); an array that needs
converting is, which shows the check catches a copy. procura's own
row-major dataset is one copy in Rust memory (float32 kept float32 for
KNN-Shapley), which tracemalloc does not see; see the package README."""

import tracemalloc

import numpy as np
import pytest

import procura

ROWS, COLS = 100_000, 40  # 32 MB of float64


def peak_during(function):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, COLS))
    y = rng.integers(0, 2, size=ROWS)
    return x, y, x[:3].copy(), y[:3].copy()


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_large_float64_array_is_not_copied(arrays, order):
    x, y, x_test, y_test = arrays
    features = np.asarray(x, order=order)
    assert features.flags["C_CONTIGUOUS" if order == "C" else "F_CONTIGUOUS"]
    features.flags.writeable = False  # read-only arrays are read in place too
    expected = procura.knn_shapley(x, y, x_test, y_test, k=5)
    values = []
    peak = peak_during(lambda: values.append(procura.knn_shapley(features, y, x_test, y_test, k=5)))
    assert peak < features.nbytes / 10, f"peak {peak} bytes for a {features.nbytes}-byte array"
    assert np.array_equal(values[0], expected)


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_large_float32_array_is_not_widened_by_numpy(arrays, order):
    x, y, x_test, y_test = arrays
    features = np.asarray(x, dtype=np.float32, order=order)
    expected = procura.knn_shapley(features.astype(np.float64), y, x_test, y_test, k=5)
    values = []
    peak = peak_during(lambda: values.append(procura.knn_shapley(features, y, x_test, y_test, k=5)))
    assert peak < features.nbytes / 10, f"peak {peak} bytes for a {features.nbytes}-byte array"
    assert np.array_equal(values[0], expected)


def test_an_array_that_needs_converting_is_copied(arrays):
    x, y, x_test, y_test = arrays
    features = (x * 100).astype(np.int32)
    peak = peak_during(lambda: procura.knn_shapley(features, y, x_test, y_test, k=5))
    # int32 → float64: NumPy makes a float64 copy, twice the bytes.
    assert peak >= 2 * features.nbytes
