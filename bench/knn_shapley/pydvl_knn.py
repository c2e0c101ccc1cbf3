"""pyDVL 0.10's exact KNN-Shapley on embedding-like data, next to the oracle.

    python bench/knn_shapley/pydvl_knn.py generate DIR N N_TEST   # DIR/train.npz, DIR/test.npz
    python bench/knn_shapley/pydvl_knn.py pydvl DIR [--k 5] [--metric euclidean|cosine] [--jobs 1]
    python bench/knn_shapley/pydvl_knn.py oracle DIR [--k 5] [--metric ...]
    python bench/knn_shapley/pydvl_knn.py compare DIR [--k 5] [--metric ...]
    python bench/knn_shapley/pydvl_knn.py fixtures FIXTURE_DIR
    python bench/knn_shapley/pydvl_knn.py groups
    python bench/knn_shapley/pydvl_knn.py sweep WORK [--mem-gib 12] [--limit-s 600]

Data: `generate` draws, from numpy.random.default_rng(SEED), unit vectors
in 384 dimensions around 5 class centres (centre + noise of 1.5 times its
norm, then normalised) with 10% of the labels redrawn at random, and writes
`train.npz` and `test.npz` with `x` float32 (rows, 384) and `y` int64, the
layout `procura value --method knn-shapley --train DIR/train.npz --test
DIR/test.npz` reads. Train and test come from one stream of draws per
size, so a given (N, N_TEST, SEED) is always the same files.

pyDVL: `pydvl.valuation.KNNShapleyValuation(KNeighborsClassifier(
n_neighbors=K, metric=...), test_data=Dataset(x_test, y_test),
progress=False).fit(Dataset(x_train, y_train))`, n_jobs = 1 (its default
outside a joblib context). Its utility is the same as procura's and the
paper's: the share of the K nearest rows that carry the test label (soft
vote, not majority accuracy), averaged over test points, values summing to
U(all); it starts the recursion from h_N / N, not h_N / max(N, K), so it
is not the Shapley value when N < K (`fixtures` shows it). Inside `fit`
it asks scikit-learn for the full neighbour order of every test point
(`kneighbors(x_test, n_neighbors=N)`, an N_TEST x N int64 array, with the
N_TEST x N float64 distances behind it) and fills an N_TEST x N float64
matrix of per-point values in a Python loop: memory ~ 24-32 bytes x N x
N_TEST, time ~ N x N_TEST Python steps.

`pydvl` writes DIR/pydvl_K_METRIC.npy and prints one JSON line with the
time of `fit`; `sweep` runs `generate` and `pydvl` for growing sizes, each
in its own process under /usr/bin/time -v (peak RSS), `prlimit --as`
(address-space cap, default 12 GiB, so a run that wants more fails with
MemoryError instead of hurting the machine) and a wall-clock limit
(default 600 s), one at a time, and prints a table. `compare` prints the
largest difference between pyDVL's values and the oracle's
(bench/knn_shapley/oracle.py) on the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SEED = 20250113
DIM = 384
CLASSES = 5
NOISE = 1.5
FLIP = 0.10


def draw(rng, n, centres):
    labels = rng.integers(0, CLASSES, size=n)
    x = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 65536):
        stop = min(n, start + 65536)
        v = centres[labels[start:stop]] + NOISE * rng.standard_normal((stop - start, DIM)) / np.sqrt(DIM)
        x[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    flip = rng.random(n) < FLIP
    labels[flip] = rng.integers(0, CLASSES, size=int(flip.sum()))
    return x, labels.astype(np.int64)


def generate(folder, n, n_test, seed=SEED):
    rng = np.random.default_rng([seed, n, n_test])
    centres = rng.standard_normal((CLASSES, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x, y = draw(rng, n, centres)
    xt, yt = draw(rng, n_test, centres)
    os.makedirs(folder, exist_ok=True)
    np.savez(os.path.join(folder, "train.npz"), x=x, y=y)
    np.savez(os.path.join(folder, "test.npz"), x=xt, y=yt)


def load(folder):
    train = np.load(os.path.join(folder, "train.npz"))
    test = np.load(os.path.join(folder, "test.npz"))
    return train["x"], train["y"], test["x"], test["y"]


def sklearn_metric(metric):
    # Squared Euclidean orders rows as Euclidean does.
    return {"euclidean": "euclidean", "cosine": "cosine"}[metric]


def pydvl_values(x, y, xt, yt, k, metric, jobs=1):
    from joblib import parallel_config
    from pydvl.valuation import Dataset, KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(n_neighbors=k, metric=sklearn_metric(metric))
    valuation = KNNShapleyValuation(model, test_data=Dataset(xt, yt), progress=False)
    start = time.perf_counter()
    # pyDVL splits the test points into n_jobs batches, one joblib job each.
    with parallel_config(n_jobs=jobs):
        valuation.fit(Dataset(x, y))
    seconds = time.perf_counter() - start
    result = valuation.result
    # The result is sorted by value; put it back in row order.
    values = np.empty(len(y))
    values[np.asarray(result.indices, dtype=np.int64)] = result.values
    return values, seconds


def run_pydvl(folder, k, metric, jobs):
    x, y, xt, yt = load(folder)
    values, seconds = pydvl_values(x, y, xt, yt, k, metric, jobs)
    np.save(os.path.join(folder, f"pydvl_{k}_{metric}.npy"), values)
    print(json.dumps({"n": len(y), "n_test": len(yt), "k": k, "metric": metric, "jobs": jobs,
                      "fit_s": round(seconds, 3)}))


def run_oracle(folder, k, metric):
    from oracle import knn_shapley

    x, y, xt, yt = load(folder)
    start = time.perf_counter()
    values = knn_shapley(x, y, xt, yt, k, metric)
    seconds = time.perf_counter() - start
    np.save(os.path.join(folder, f"oracle_{k}_{metric}.npy"), values)
    print(json.dumps({"n": len(y), "n_test": len(yt), "k": k, "metric": metric, "oracle_s": round(seconds, 3)}))


def differences(a, b):
    diff = np.abs(a - b)
    return {
        "max_abs_diff": float(diff.max()),
        "rows_differing_over_1e-12": int((diff > 1e-12).sum()),
        "max_abs_value": float(np.abs(b).max()),
        "sum_a": float(a.sum()),
        "sum_b": float(b.sum()),
    }


def compare(folder, k, metric):
    a = np.load(os.path.join(folder, f"pydvl_{k}_{metric}.npy"))
    b = np.load(os.path.join(folder, f"oracle_{k}_{metric}.npy"))
    print(json.dumps({"folder": folder, "k": k, "metric": metric, **differences(a, b)}))


def fixtures(folder):
    """pyDVL against the oracle on the committed fixtures, exact runs only."""
    from oracle import knn_shapley

    with open(os.path.join(folder, "expected.tsv")) as f:
        runs = sorted(
            {tuple(line.split("\t")[:4]) for line in f if not line.startswith(("#", "case\t"))}
        )
    for case, metric, k, neighbours in runs:
        if neighbours != "all":
            continue
        train = np.load(os.path.join(folder, f"{case}.train.npz"))
        test = np.load(os.path.join(folder, f"{case}.test.npz"))
        x, y, xt, yt = train["x"], train["y"], test["x"], test["y"]
        k = int(k)
        exact = knn_shapley(x, y, xt, yt, k, metric)
        try:
            values, _ = pydvl_values(x, y, xt, yt, k, metric)
        except Exception as e:  # report, don't stop: the point is what pyDVL does
            print(f"{case:14} {metric:9} k={k}: pyDVL error {type(e).__name__}: {e}")
            continue
        d = differences(values, exact)
        # The oracle's recursion on scikit-learn's own neighbour order: if
        # pyDVL equals this, the differences above come from tie-breaking
        # (and from its h_N / N start when N < K) only.
        same_order, ties_only = with_sklearn_order(x, y, xt, yt, k, metric)
        print(
            f"{case:14} {metric:9} N={len(y):3} k={k}: max |pyDVL - oracle| = {d['max_abs_diff']:.3g}"
            f" ({d['rows_differing_over_1e-12']} rows > 1e-12), sums {d['sum_a']:.6f} vs {d['sum_b']:.6f};"
            f" on sklearn's order {np.abs(values - same_order).max():.3g};"
            f" sklearn's order differs from the stable one only within ties: {ties_only}"
        )


def with_sklearn_order(x, y, xt, yt, k, metric):
    from oracle import distances_to, point_values
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(n_neighbors=k, metric=sklearn_metric(metric)).fit(x, y)
    orders = model.kneighbors(xt, n_neighbors=len(y), return_distance=False)
    total = np.zeros(len(y))
    ties_only = True
    for t, order in enumerate(orders):
        d = distances_to(x, xt[t], metric)
        ties_only &= bool(np.array_equal(d[order], np.sort(d)))
        total[order] += point_values((y[order] == yt[t]).astype(float), k)
    return total / len(yt), ties_only


def groups():
    """Does pyDVL value groups (providers) with KNN-Shapley?"""
    from pydvl.valuation import Dataset, GroupedDataset, KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 4)), rng.integers(0, 2, 30)
    data = GroupedDataset.from_dataset(Dataset(x, y), data_groups=rng.integers(0, 3, 30))
    valuation = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=3), Dataset(x[:5], y[:5]), progress=False)
    try:
        valuation.fit(data)
        print("pyDVL valued the groups:", valuation.result.values)
    except Exception as e:
        print(f"pyDVL KNNShapleyValuation on a GroupedDataset: {type(e).__name__}: {e}")


def sweep(work, mem_gib, limit_s, sizes, k=5, metric="euclidean"):
    """Each size in its own process, one at a time, capped in memory and time."""
    rows = []
    for n, n_test in sizes:
        folder = os.path.join(work, f"n{n}_t{n_test}")
        if not os.path.exists(os.path.join(folder, "test.npz")):
            subprocess.run([sys.executable, __file__, "generate", folder, str(n), str(n_test)], check=True)
        command = [
            # time outside timeout, so that a killed run still reports its peak RSS.
            "/usr/bin/time", "-v", "prlimit", f"--as={mem_gib << 30}", "timeout", "--signal=KILL", str(limit_s),
            sys.executable, __file__, "pydvl", folder, "--k", str(k), "--metric", metric,
        ]
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        fit = re.search(r'"fit_s": ([0-9.]+)', done.stdout)
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        if fit:
            outcome = "ok"
        elif "Command terminated by signal 9" in done.stderr or done.returncode in (-9, 137):
            outcome = f"killed at the {limit_s} s limit"
        else:
            last = [line for line in done.stderr.splitlines() if "Error" in line]
            outcome = last[-1].strip() if last else f"exit {done.returncode}"
        row = {
            "n": n,
            "n_test": n_test,
            "fit_s": float(fit.group(1)) if fit else None,
            "wall_s": round(wall, 1),
            "peak_rss_mib": round(int(rss.group(1)) / 1024) if rss else None,
            "outcome": outcome,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("\n| N | N_test | pyDVL fit (s) | wall (s) | peak RSS (MiB) | outcome |\n|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['n']:,} | {r['n_test']:,} | {r['fit_s']} | {r['wall_s']} | {r['peak_rss_mib']} | {r['outcome']} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("folder")
    g.add_argument("n", type=int)
    g.add_argument("n_test", type=int)
    g.add_argument("--seed", type=int, default=SEED)
    for name in ("pydvl", "oracle", "compare"):
        p = sub.add_parser(name)
        p.add_argument("folder")
        p.add_argument("--k", type=int, default=5)
        p.add_argument("--metric", choices=("euclidean", "cosine"), default="euclidean")
        p.add_argument("--jobs", type=int, default=1, help="joblib jobs for pyDVL (pydvl only)")
    f = sub.add_parser("fixtures")
    f.add_argument("folder")
    sub.add_parser("groups")
    s = sub.add_parser("sweep")
    s.add_argument("work")
    s.add_argument("--mem-gib", type=int, default=12)
    s.add_argument("--limit-s", type=int, default=600)
    s.add_argument("--sizes", default="1000x1000,10000x1000,30000x1000,100000x1000,300000x1000",
                   help="comma-separated NxN_TEST")
    s.add_argument("--k", type=int, default=5)
    s.add_argument("--metric", choices=("euclidean", "cosine"), default="euclidean")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.folder, args.n, args.n_test, args.seed)
    elif args.command == "pydvl":
        run_pydvl(args.folder, args.k, args.metric, args.jobs)
    elif args.command == "oracle":
        run_oracle(args.folder, args.k, args.metric)
    elif args.command == "compare":
        compare(args.folder, args.k, args.metric)
    elif args.command == "fixtures":
        fixtures(args.folder)
    elif args.command == "groups":
        groups()
    else:
        sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
        sweep(args.work, args.mem_gib, args.limit_s, sizes, args.k, args.metric)


if __name__ == "__main__":
    main()
