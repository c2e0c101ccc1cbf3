"""Helpers of bench/vs_pydvl.sh: write the benchmark's CSV files, run pyDVL
on them, and compare pyDVL's values with procura's.

    python pydvl_run.py generate DIR
    python pydvl_run.py knn DIR OUT.csv JOBS
    python pydvl_run.py msr DIR OUT.csv JOBS SAMPLES
    python pydvl_run.py loo DIR OUT.csv
    python pydvl_run.py compare PYDVL.csv PROCURA.csv

Every dataset comes from a fixed NumPy seed, so both tools read the same
bytes. The pyDVL runs print the seconds spent in `fit` alone (imports and
CSV reading excluded) on stderr.
"""

import sys
import time

import numpy as np


def write_csv(path, x, y, providers=None):
    columns = [f"x{j}" for j in range(x.shape[1])]
    with open(path, "w") as f:
        header = (["provider"] if providers is not None else []) + columns + ["label"]
        f.write(",".join(header) + "\n")
        for i in range(x.shape[0]):
            cells = [f"p{providers[i]:02d}"] if providers is not None else []
            cells += [repr(float(v)) for v in x[i]]
            cells.append(str(int(y[i])))
            f.write(",".join(cells) + "\n")


def linear_labels(rng, x, w, noise):
    return (x @ w + noise * rng.standard_normal(x.shape[0]) > 0).astype(int)


def generate(folder):
    rng = np.random.default_rng(20240601)
    # Exact KNN-Shapley: 10,000 train x 500 test, 20 features.
    w = rng.standard_normal(20)
    x = rng.standard_normal((10_500, 20))
    y = linear_labels(rng, x, w, 2.0)
    write_csv(f"{folder}/knn-train.csv", x[:10_000], y[:10_000])
    write_csv(f"{folder}/knn-test.csv", x[10_000:], y[10_000:])
    # Provider-level MSR-Banzhaf: 2,000 rows, 20 providers of 100 rows each,
    # provider p flipping its labels at rate p / 40; 500 test rows.
    x = rng.standard_normal((2_500, 20))
    y = linear_labels(rng, x, w, 1.0)
    providers = np.repeat(np.arange(20), 100)
    flip = rng.random(2_000) < providers / 40.0
    y_train = np.where(flip, 1 - y[:2_000], y[:2_000])
    write_csv(f"{folder}/msr-train.csv", x[:2_000], y_train, providers)
    write_csv(f"{folder}/msr-test.csv", x[2_000:], y[2_000:])


def read_csv(path):
    header = open(path).readline().strip().split(",")
    provider = header[0] == "provider"
    table = np.loadtxt(
        path,
        delimiter=",",
        skiprows=1,
        dtype=str if provider else float,
    )
    if provider:
        groups = np.array([int(p[1:]) for p in table[:, 0]])
        table = table[:, 1:].astype(float)
    else:
        groups = None
    return table[:, :-1], table[:, -1].astype(int), groups


def write_values(path, key, names, values):
    with open(path, "w") as f:
        f.write(f"{key},value\n")
        for name, value in zip(names, values):
            f.write(f"{name},{value!r}\n")


def knn(folder, out, jobs):
    from joblib import parallel_config
    from pydvl.valuation import Dataset, KNNShapleyValuation
    from sklearn.neighbors import KNeighborsClassifier

    x, y, _ = read_csv(f"{folder}/knn-train.csv")
    xt, yt, _ = read_csv(f"{folder}/knn-test.csv")
    train, test = Dataset(x, y), Dataset(xt, yt)
    start = time.perf_counter()
    valuation = KNNShapleyValuation(KNeighborsClassifier(n_neighbors=5), test, progress=False)
    with parallel_config(n_jobs=jobs):
        valuation.fit(train)
    result = valuation.result
    print(f"fit {time.perf_counter() - start:.3f}", file=sys.stderr)
    values = np.zeros(len(y))
    values[np.asarray(result.indices)] = result.values
    write_values(out, "row", range(len(y)), values)


def provider_game(folder, model_options):
    """The provider-level learning game: grouped training data and the
    utility (accuracy of LogisticRegression(C=1, **model_options), default
    score the test set's majority rate, as procura's convention)."""
    from pydvl.valuation import Dataset, GroupedDataset, ModelUtility, SupervisedScorer
    from sklearn.linear_model import LogisticRegression

    x, y, groups = read_csv(f"{folder}/msr-train.csv")
    xt, yt, _ = read_csv(f"{folder}/msr-test.csv")
    train = GroupedDataset.from_dataset(Dataset(x, y), data_groups=groups)
    test = Dataset(xt, yt)
    majority = max(np.mean(yt == c) for c in np.unique(yt))
    scorer = SupervisedScorer("accuracy", test, default=majority, range=(0.0, 1.0))
    model = LogisticRegression(C=1.0, **model_options)
    return train, ModelUtility(model, scorer, show_warnings=False)


def loo(folder, out):
    from pydvl.valuation import LOOValuation

    # A tight tolerance, so that lbfgs reaches the optimum that procura's
    # Newton solver reaches: then the two utilities agree subset by subset.
    train, utility = provider_game(folder, {"tol": 1e-10, "max_iter": 10_000})
    valuation = LOOValuation(utility, progress=False)
    valuation.fit(train)
    result = valuation.result
    values = np.zeros(20)
    values[np.asarray(result.indices)] = result.values
    write_values(out, "provider", [f"p{g:02d}" for g in range(20)], values)


def msr(folder, out, jobs, samples):
    from joblib import parallel_config
    from pydvl.valuation import MaxSamples, MSRBanzhafValuation

    # scikit-learn's defaults, as a pyDVL user runs it.
    train, utility = provider_game(folder, {})
    start = time.perf_counter()
    valuation = MSRBanzhafValuation(utility, is_done=MaxSamples(None, 1), seed=1, progress=False)
    valuation.is_done = MaxSamples(valuation.sampler, samples)
    with parallel_config(n_jobs=jobs):
        valuation.fit(train)
    result = valuation.result
    print(f"fit {time.perf_counter() - start:.3f}", file=sys.stderr)
    values = np.zeros(20)
    values[np.asarray(result.indices)] = result.values
    write_values(out, "provider", [f"p{g:02d}" for g in range(20)], values)


def compare(first, second):
    def load(path):
        rows = [line.strip().split(",") for line in open(path).readlines()[1:]]
        return {key: float(value) for key, value in rows}

    a, b = load(first), load(second)
    assert a.keys() == b.keys(), "the two files value different players"
    keys = sorted(a)
    va = np.array([a[k] for k in keys])
    vb = np.array([b[k] for k in keys])
    diff = np.abs(va - vb)
    corr = np.corrcoef(va, vb)[0, 1] if len(keys) > 1 else 1.0
    print(
        f"largest |difference| {diff.max():.3e}, "
        f"largest |value| {np.abs(va).max():.3e}, "
        f"Pearson correlation {corr:.6f}"
    )


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "generate":
        generate(*args)
    elif command == "knn":
        knn(args[0], args[1], int(args[2]))
    elif command == "msr":
        msr(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "loo":
        loo(*args)
    elif command == "compare":
        compare(*args)
    else:
        sys.exit(f"unknown command {command}")
