"""procura from Python against pyDVL, in one process, on the same arrays.

    python bench/pydvl_knn.py                # every figure
    python bench/pydvl_knn.py --write DIR    # write the arrays for the Rust call:
    cargo bench -p procura-py --bench knn_library -- DIR

Figures (BENCHMARKS.md, "procura from Python"):

1. `procura.knn_shapley` on 10,000 train x 500 test rows (20 features,
   k = 5; the arrays of bench/vs_pydvl.sh, from the same NumPy seed) on one
   thread and on every core, best of 5; with --rust, the library call
   under it (`cargo bench -p procura-py --bench knn_library`) on the same
   arrays, and the ratio;
2. pyDVL 0.10's `KNNShapleyValuation` (scikit-learn's
   `KNeighborsClassifier(n_neighbors=5)`, n_jobs = 1) on the same arrays in
   this process, its largest difference from procura's values (required:
   at most 1e-12) and the speed-up;
3. the call overhead of `procura.clear` on a 10-provider market (a dict
   in, a dict out), and of the same call with JSON text in;
4. what a model of the caller's costs: provider-level Banzhaf-MSR (2,000
   rows, 20 providers, 500 test rows, 200 samples) with the built-in
   logistic regression against scikit-learn's `LogisticRegression(C=1)`
   passed as `model=` (needs scikit-learn).

Needs numpy, procura (pip install ./crates/procura-py) and, for 2,
pydvl==0.10.* with scikit-learn. Not part of CI.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np

import procura

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arrays():
    """The KNN-Shapley case of bench/pydvl_run.py's `generate`: the same
    draws from the same seed."""
    rng = np.random.default_rng(20240601)
    w = rng.standard_normal(20)
    x = rng.standard_normal((10_500, 20))
    y = (x @ w + 2.0 * rng.standard_normal(x.shape[0]) > 0).astype(int)
    return x[:10_000], y[:10_000], x[10_000:], y[10_000:]


def write(folder, x_train, y_train, x_test, y_test, k=5):
    os.makedirs(folder, exist_ok=True)
    np.ascontiguousarray(x_train, dtype="<f8").tofile(f"{folder}/x_train.f64")
    np.ascontiguousarray(x_test, dtype="<f8").tofile(f"{folder}/x_test.f64")
    # Labels 0 and 1 are classes 0 and 1, as procura numbers them.
    np.asarray(y_train, dtype="<u8").tofile(f"{folder}/y_train.u64")
    np.asarray(y_test, dtype="<u8").tofile(f"{folder}/y_test.u64")
    with open(f"{folder}/shape.txt", "w") as f:
        f.write(f"{len(y_train)} {len(y_test)} {x_train.shape[1]} 2 {k}\n")


def best_of(function, runs=10):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def rust_library(data):
    with tempfile.TemporaryDirectory() as folder:
        write(folder, *data)
        run = subprocess.run(
            ["cargo", "bench", "--quiet", "-p", "procura-py", "--bench", "knn_library", "--", folder],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        line = run.stdout.strip().splitlines()[-1]
        values = np.fromfile(f"{folder}/rust-values.f64", dtype="<f8")
    # "library knn_shapley 10000x500x20: 1 thread 0.1234 s, 2 threads 0.0678 s"
    words = line.replace(",", "").split()
    return float(words[5]), float(words[9]), values, line


def run_pydvl(x_train, y_train, x_test, y_test):
    from pydvl.valuation import Dataset, KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    start = time.perf_counter()
    valuation = KNNShapleyValuation(
        KNeighborsClassifier(n_neighbors=5), Dataset(x_test, y_test), progress=False
    )
    valuation.fit(Dataset(x_train, y_train))
    seconds = time.perf_counter() - start
    result = valuation.result
    values = np.zeros(len(y_train))
    values[np.asarray(result.indices)] = result.values
    return seconds, values


def clear_overhead():
    market = {
        "budget": 10.0,
        "providers": [
            {"id": f"p{i}", "bid": 0.5 + 0.1 * i, "quality": 0.5 + 0.05 * i, "utility": 1.0 + 0.1 * i}
            for i in range(10)
        ],
    }
    import json

    text = json.dumps(market)
    procura.clear(market, "qmia")
    n = 20_000
    as_dict = min(timeit.repeat(lambda: procura.clear(market, "qmia"), number=n, repeat=5)) / n
    as_text = min(timeit.repeat(lambda: procura.clear(text, "qmia"), number=n, repeat=5)) / n
    return as_dict, as_text


def byo_model_cost():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(20240601)
    w = rng.standard_normal(20)
    x = rng.standard_normal((2_500, 20))
    y = (x @ w + 1.0 * rng.standard_normal(2_500) > 0).astype(int)
    providers = np.repeat(np.arange(20), 100)
    flip = rng.random(2_000) < providers / 40.0
    y_train = np.where(flip, 1 - y[:2_000], y[:2_000])
    data = (x[:2_000], y_train, x[2_000:], y[2_000:])
    kwargs = {"samples": 200, "seed": 1, "groups": providers}
    builtin_one, a = best_of(
        lambda: procura.banzhaf_msr(*data, model="logreg", threads=1, **kwargs), runs=3
    )
    builtin, _ = best_of(lambda: procura.banzhaf_msr(*data, model="logreg", **kwargs), runs=3)
    sklearn, b = best_of(
        lambda: procura.banzhaf_msr(*data, model=LogisticRegression(C=1.0), **kwargs), runs=1
    )
    gap = max(abs(a[p] - b[p]) for p in a)
    return builtin_one, builtin, sklearn, gap


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="DIR", help="only write the arrays for the Rust call")
    parser.add_argument("--rust", action="store_true", help="also time the library call (cargo bench)")
    parser.add_argument("--no-pydvl", action="store_true", help="skip pyDVL")
    args = parser.parse_args()
    data = arrays()
    if args.write:
        write(args.write, *data)
        return
    cores = os.cpu_count()
    print(f"procura {procura.__version__}, numpy {np.__version__}, {cores} cores")

    one, values = best_of(lambda: procura.knn_shapley(*data, k=5, threads=1))
    every, values_all = best_of(lambda: procura.knn_shapley(*data, k=5))
    assert np.array_equal(values, values_all), "values differ between 1 thread and every core"
    print(f"procura.knn_shapley 10000x500x20, k=5: 1 thread {one:.4f} s, {cores} threads {every:.4f} s")
    x_train, y_train, x_test, y_test = data
    fixed, _ = best_of(
        lambda: procura.knn_shapley(x_train, y_train, x_test[:1], y_test[:1], k=5, threads=1),
        runs=20,
    )
    print(f"the same call on 1 test row (the fixed cost: reading the arrays, numbering "
          f"the classes, one point's values): {fixed * 1e3:.2f} ms")

    if args.rust:
        rust_one, rust_all, rust_values, line = rust_library(data)
        print(line)
        assert np.array_equal(rust_values, values), "the library call gives other values"
        print(
            f"Python call / library call: {one / rust_one:.3f}x on 1 thread, "
            f"{every / rust_all:.3f}x on {cores} threads (same values, bit for bit)"
        )

    if not args.no_pydvl:
        import pydvl

        seconds, theirs = run_pydvl(*data)
        diff = float(np.max(np.abs(theirs - values)))
        print(
            f"pyDVL {pydvl.__version__} KNNShapleyValuation, n_jobs=1: {seconds:.2f} s; "
            f"largest |difference| {diff:.2e} (largest |value| {np.max(np.abs(values)):.2e})"
        )
        print(f"speed-up: {seconds / one:.0f}x (1 thread), {seconds / every:.0f}x ({cores} threads)")
        if diff > 1e-12:
            sys.exit(f"values differ by {diff:.3e} > 1e-12")

    if not args.no_pydvl:
        builtin_one, builtin, sklearn, gap = byo_model_cost()
        print(
            f"banzhaf_msr, 20 providers, 200 samples: built-in logreg {builtin_one:.2f} s "
            f"(1 thread), {builtin:.2f} s ({cores} threads); scikit-learn "
            f"LogisticRegression as model= {sklearn:.2f} s ({sklearn / builtin_one:.0f}x the "
            f"built-in on 1 thread; largest value difference {gap:.1e}, the two solvers' "
            "optima differ)"
        )

    as_dict, as_text = clear_overhead()
    print(
        f"procura.clear, 10 providers, qmia: {as_dict * 1e6:.1f} us per call (dict), "
        f"{as_text * 1e6:.1f} us (JSON text)"
    )


if __name__ == "__main__":
    main()
