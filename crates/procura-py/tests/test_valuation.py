"""Valuation: exact KNN-Shapley against a numpy implementation written
here, seeded sampling the same on 1 and 2 threads, the command line's
values to the last bit, labels numbered as the CLI numbers them, models of
the caller's, and named errors."""

import itertools
import math

import numpy as np
import pytest

import procura

RNG = np.random.default_rng(12)


def blobs(n, d=3, classes=2, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(classes, d))
    y = rng.integers(0, classes, size=n)
    x = centres[y] + rng.normal(size=(n, d))
    flip = rng.random(n) < noise
    y = np.where(flip, rng.integers(0, classes, size=n), y)
    return x, y


# --- KNN-Shapley against numpy ------------------------------------------


def squared_distances(x_train, point):
    """Squared Euclidean distances, summed over features in order (as a
    left fold, feature by feature)."""
    d = np.zeros(len(x_train))
    for j in range(x_train.shape[1]):
        d += (x_train[:, j] - point[j]) ** 2
    return d


def knn_shapley_numpy(x_train, y_train, x_test, y_test, k):
    """Exact KNN-Shapley (Jia et al. 2019, Theorem 1) of the unweighted
    KNN utility U_x(S) = (1/K) Σ_{j ≤ min(K, |S|)} 1[y_{α_j(S)} = y]: rows
    sorted by distance, ties by row index;
    s_N = 1[y_{α_N} = y] / max(N, K),
    s_i = s_{i+1} + (1[y_{α_i} = y] − 1[y_{α_{i+1}} = y]) / K · min(K, i) / i;
    averaged over the test points."""
    n = len(y_train)
    values = np.zeros(n)
    for point, label in zip(x_test, y_test):
        d = squared_distances(x_train, point)
        order = np.lexsort((np.arange(n), d))
        hit = (y_train[order] == label).astype(float)
        s = np.zeros(n)
        s[n - 1] = hit[n - 1] / max(n, k)
        for i in range(n - 2, -1, -1):
            rank = i + 1
            s[i] = s[i + 1] + (hit[i] - hit[i + 1]) / k * min(k, rank) / rank
        values[order] += s
    return values / len(y_test)


def knn_utility(x_train, y_train, x_test, y_test, k, rows):
    rows = np.asarray(sorted(rows), dtype=int)
    if len(rows) == 0:
        return 0.0
    total = 0.0
    for point, label in zip(x_test, y_test):
        d = squared_distances(x_train[rows], point)
        nearest = rows[np.lexsort((rows, d))][:k]
        total += np.sum(y_train[nearest] == label) / k
    return total / len(y_test)


@pytest.mark.parametrize("k", [1, 3, 5, 40])
def test_knn_shapley_equals_numpy(k):
    x_train, y_train = blobs(30, seed=k)
    x_test, y_test = blobs(12, seed=100 + k)
    values = procura.knn_shapley(x_train, y_train, x_test, y_test, k=k)
    assert values.dtype == np.float64 and values.shape == (30,)
    expected = knn_shapley_numpy(x_train, y_train, x_test, y_test, k)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
    # Efficiency: U(∅) = 0, so the values add up to U(all rows).
    total = knn_utility(x_train, y_train, x_test, y_test, k, range(30))
    assert math.isclose(values.sum(), total, abs_tol=1e-12)


def test_knn_shapley_breaks_distance_ties_by_row():
    # Integer coordinates: many rows at exactly the same distance.
    rng = np.random.default_rng(3)
    x_train = rng.integers(0, 3, size=(40, 2)).astype(float)
    y_train = rng.integers(0, 3, size=40)
    x_test = rng.integers(0, 3, size=(15, 2)).astype(float)
    y_test = rng.integers(0, 3, size=15)
    for k in [1, 2, 7]:
        values = procura.knn_shapley(x_train, y_train, x_test, y_test, k=k)
        expected = knn_shapley_numpy(x_train, y_train, x_test, y_test, k)
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)


def test_knn_shapley_is_the_shapley_value_of_the_knn_utility():
    x_train, y_train = blobs(7, seed=5)
    x_test, y_test = blobs(4, seed=6)
    k = 3
    n = len(y_train)
    shapley = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                gain = knn_utility(x_train, y_train, x_test, y_test, k, [*subset, i])
                gain -= knn_utility(x_train, y_train, x_test, y_test, k, subset)
                shapley[i] += weight * gain
    values = procura.knn_shapley(x_train, y_train, x_test, y_test, k=k)
    np.testing.assert_allclose(values, shapley, rtol=0, atol=1e-12)


def test_knn_shapley_groups_sum_rows_in_order_of_first_appearance():
    x_train, y_train = blobs(24, seed=8)
    x_test, y_test = blobs(9, seed=9)
    groups = np.array(["z", "a", "m"] * 8)
    rows = procura.knn_shapley(x_train, y_train, x_test, y_test, k=3)
    by_group = procura.knn_shapley(x_train, y_train, x_test, y_test, k=3, groups=groups)
    assert list(by_group) == ["z", "a", "m"]
    for name in by_group:
        assert math.isclose(by_group[name], rows[groups == name].sum(), abs_tol=1e-12)
    # Any hashable labels, kept as given.
    mixed = procura.knn_shapley(
        x_train, y_train, x_test, y_test, k=3, groups=[(i % 2, "p") for i in range(24)]
    )
    assert list(mixed) == [(0, "p"), (1, "p")]


def test_layouts_and_dtypes_give_the_same_values():
    x_train, y_train = blobs(50, seed=10)
    x_test, y_test = blobs(10, seed=11)
    base = procura.knn_shapley(x_train, y_train, x_test, y_test, k=5)
    variants = [
        np.asfortranarray(x_train),
        x_train.tolist(),
        np.ascontiguousarray(x_train.T).T,
        np.repeat(x_train, 2, axis=1)[:, ::2],  # strided, neither C nor F
    ]
    for x in variants:
        values = procura.knn_shapley(x, list(y_train), x_test, y_test.astype(np.int32), k=5)
        assert np.array_equal(values, base)
    as_text = procura.knn_shapley(
        x_train, y_train.astype(str), x_test, y_test.astype(str), k=5
    )
    assert np.array_equal(as_text, base)
    mixed = procura.knn_shapley(x_train, y_train, x_test, y_test.astype(str), k=5)
    assert np.array_equal(mixed, base)
    as_objects = procura.knn_shapley(
        x_train, y_train.astype(object), x_test, y_test.astype(float), k=5
    )
    assert np.array_equal(as_objects, base)


# --- threads --------------------------------------------------------------


@pytest.mark.parametrize("model", ["logreg", "knn"])
def test_seeded_sampling_is_the_same_on_one_and_two_threads(model):
    x_train, y_train = blobs(40, seed=20)
    x_test, y_test = blobs(30, seed=21)
    groups = np.arange(40) % 8
    for kwargs in [{}, {"groups": groups}]:
        for method, extra in [
            (procura.tmc_shapley, {"truncation": 0.01}),
            (procura.banzhaf_msr, {}),
        ]:
            one = method(
                x_train, y_train, x_test, y_test, model=model, samples=96, seed=5,
                threads=1, **extra, **kwargs,
            )
            two = method(
                x_train, y_train, x_test, y_test, model=model, samples=96, seed=5,
                threads=2, **extra, **kwargs,
            )
            default = method(
                x_train, y_train, x_test, y_test, model=model, samples=96, seed=5,
                **extra, **kwargs,
            )
            if isinstance(one, dict):
                assert list(one) == list(two) == list(range(8))
                one, two, default = (np.array(list(v.values())) for v in (one, two, default))
            assert np.array_equal(one, two) and np.array_equal(one, default)
            other_seed = method(
                x_train, y_train, x_test, y_test, model=model, samples=96, seed=6,
                threads=2, **extra, **kwargs,
            )
            if isinstance(other_seed, dict):
                other_seed = np.array(list(other_seed.values()))
            assert not np.array_equal(one, other_seed)


def test_loo_and_knn_shapley_are_the_same_on_any_thread_count():
    x_train, y_train = blobs(60, seed=22)
    x_test, y_test = blobs(40, seed=23)
    for threads in [1, 2, 3]:
        assert np.array_equal(
            procura.loo(x_train, y_train, x_test, y_test, threads=threads),
            procura.loo(x_train, y_train, x_test, y_test, threads=1),
        )
        assert np.array_equal(
            procura.knn_shapley(x_train, y_train, x_test, y_test, threads=threads),
            procura.knn_shapley(x_train, y_train, x_test, y_test, threads=1),
        )


# --- the command line's values ------------------------------------------


def write_csv(path, x, y, providers=None):
    with open(path, "w") as f:
        header = (["provider"] if providers is not None else []) + [
            f"x{j}" for j in range(x.shape[1])
        ]
        f.write(",".join(header + ["label"]) + "\n")
        for i, (row, label) in enumerate(zip(x, y)):
            cells = ([str(providers[i])] if providers is not None else []) + [
                repr(float(v)) for v in row
            ]
            f.write(",".join(cells + [str(label)]) + "\n")


def read_values(text):
    """The (row or provider, value) pairs of `procura value`'s CSV,
    `row|provider,value,std_error,samples` (provider names here have no
    comma or quote)."""
    header, *lines = text.strip().splitlines()
    assert header.split(",")[1:] == ["value", "std_error", "samples"], header
    return [(key, float(value)) for key, value, _, _ in (line.split(",") for line in lines)]


CLI_CASES = [
    ("knn-shapley", procura.knn_shapley, ["--k", "3"], {"k": 3}),
    ("loo", procura.loo, ["--model", "knn", "--k", "2"], {"model": "knn", "k": 2}),
    ("loo", procura.loo, ["--model", "logreg", "--l2", "0.5"], {"l2": 0.5}),
    (
        "tmc-shapley",
        procura.tmc_shapley,
        ["--samples", "64", "--seed", "4", "--truncation", "0.05"],
        {"samples": 64, "seed": 4, "truncation": 0.05},
    ),
    (
        "banzhaf-msr",
        procura.banzhaf_msr,
        ["--model", "knn", "--samples", "100", "--seed", "9", "--target-se", "0.05"],
        {"model": "knn", "samples": 100, "seed": 9, "target_se": 0.05},
    ),
]

# Labels whose numbering matters: KNN breaks vote ties towards the
# smaller class, and multinomial logistic regression is parametrised by
# class order. Text, numbers written as text, and integers across 9 and 10
# (numerically 9 < 10, as text "10" < "9"), floats, and booleans (written
# True and False in the CSV file, 1 and 0 here: the same order).
LABEL_SETS = [
    np.array(["pear", "apple", "fig"]),
    np.array(["1", "1.0", "-0", "2"]),
    np.array([10, 9, 11]),
    np.array([0.5, 2.0, -1.0]),
    np.array([True, False]),
]


@pytest.mark.parametrize("method,function,flags,kwargs", CLI_CASES, ids=[c[0] for c in CLI_CASES])
@pytest.mark.parametrize("labels", range(len(LABEL_SETS)))
@pytest.mark.parametrize("providers", [False, True])
def test_values_equal_the_cli(cli, tmp_path, method, function, flags, kwargs, labels, providers):
    names = LABEL_SETS[labels]
    x_train, y_train = blobs(45, classes=len(names), seed=30 + labels)
    x_test, y_test = blobs(20, classes=len(names), seed=40 + labels)
    y_train, y_test = names[y_train], names[y_test]
    groups = np.array([f"p{(i * 7) % 5}" for i in range(45)]) if providers else None
    write_csv(tmp_path / "train.csv", x_train, y_train, groups)
    write_csv(tmp_path / "test.csv", x_test, y_test)
    args = ["value", "--method", method, "--train", tmp_path / "train.csv",
            "--test", tmp_path / "test.csv", "--out", tmp_path / "out.csv", *flags]
    if providers:
        args += ["--provider-column", "provider"]
    run = cli(*args)
    assert run.returncode == 0, run.stderr
    expected = read_values((tmp_path / "out.csv").read_text())
    values = function(x_train, y_train, x_test, y_test, groups=groups, **kwargs)
    if providers:
        assert list(values.items()) == expected
    else:
        assert [(str(i), v) for i, v in enumerate(values)] == expected


@pytest.mark.parametrize("model,flags", [("logreg", ["--l2", "2"]), ("knn", ["--k", "3"])])
def test_quality_equals_the_cli(cli, tmp_path, model, flags):
    x, y = blobs(60, classes=3, seed=50)
    x_trusted, y_trusted = blobs(25, classes=3, seed=51)
    groups = np.array([f"prov{i % 4}" for i in range(60)])
    write_csv(tmp_path / "data.csv", x, y, groups)
    write_csv(tmp_path / "trusted.csv", x_trusted, y_trusted)
    run = cli("quality", "--trusted", tmp_path / "trusted.csv", "--data", tmp_path / "data.csv",
              "--provider-column", "provider", "--model", model, *flags)
    assert run.returncode == 0, run.stderr
    expected = [line.split(",") for line in run.stdout.strip().splitlines()[1:]]
    kwargs = {"l2": 2.0} if model == "logreg" else {"k": 3}
    scores = procura.quality(x_trusted, y_trusted, x, y, groups, model=model, **kwargs)
    assert [(p, q) for p, q in scores.items()] == [(p, float(q)) for p, q, _ in expected]


# --- the caller's model ---------------------------------------------------


class OneNearestNeighbour:
    """1-NN in numpy, ties to the first (smallest) row: the built-in KNN
    with k = 1, so the utilities agree exactly."""

    def fit(self, X, y):
        self.X, self.y = np.asarray(X), np.asarray(y)
        return self

    def predict(self, X):
        return np.array([self.y[np.argmin(squared_distances(self.X, x))] for x in X])


class ScoreOnly:
    def __init__(self):
        self.inner = OneNearestNeighbour()

    def fit(self, X, y):
        self.inner.fit(X, y)

    def score(self, X, y):
        return float(np.mean(self.inner.predict(X) == np.asarray(y)))


@pytest.mark.parametrize("model", [OneNearestNeighbour, ScoreOnly])
def test_a_python_model_gives_the_builtin_models_values(model):
    x_train, y_train = blobs(16, seed=60)
    x_test, y_test = blobs(12, seed=61)
    labels = np.array(["no", "yes"])
    y_train, y_test = labels[y_train], labels[y_test]
    groups = np.arange(16) % 4
    for method, kwargs in [
        (procura.loo, {}),
        (procura.tmc_shapley, {"samples": 24, "seed": 3}),
        (procura.banzhaf_msr, {"samples": 24, "seed": 3, "groups": groups}),
    ]:
        builtin = method(x_train, y_train, x_test, y_test, model="knn", k=1, **kwargs)
        mine = method(x_train, y_train, x_test, y_test, model=model(), threads=2, **kwargs)
        if isinstance(builtin, dict):
            assert list(builtin.items()) == list(mine.items())
        else:
            assert np.array_equal(builtin, mine)


def test_a_python_models_exception_is_raised():
    class Broken:
        def fit(self, X, y):
            raise RuntimeError("boom")

        def predict(self, X):
            return X

    x, y = blobs(10, seed=62)
    with pytest.raises(RuntimeError, match="boom"):
        procura.tmc_shapley(x, y, x, y, model=Broken(), samples=8)


# --- errors ---------------------------------------------------------------


def errors():
    x, y = blobs(10, d=2, seed=70)
    nan = x.copy()
    nan[3, 1] = np.nan
    inf = x.copy()
    inf[0, 0] = np.inf
    return x, y, [
        ((nan, y, x, y), {}, "x_train: row 3: feature 1: NaN is not finite"),
        ((x, y, inf, y), {}, "x_test: row 0: feature 0: inf is not finite"),
        ((x, y[:9], x, y), {}, "y_train: 9 labels, but x_train has 10 rows"),
        ((x[:, 0], y, x, y), {}, "x_train: expected a 2-D array (rows × features), not 1-D"),
        ((x, y, x[:, :1], y), {}, "x_test: 1 features, but x_train has 2"),
        ((x, y.reshape(5, 2), x, y), {}, "y_train: expected a 1-D array of labels, not 2-D"),
        ((x, np.where(np.arange(10) == 2, np.nan, 1.0), x, y), {},
         "y_train: row 2: label NaN is not finite"),
        ((x, np.array([0, None] * 5, dtype=object), x, y), {},
         "y_train: row 1: label None is not an integer or a string"),
        ((x, np.arange(10) + 100, x, y), {}, 'label column "y_train" has 12 distinct values in 20 rows'),
        ((x, y, x, y), {"k": 0}, "k must be at least 1"),
        ((x, y, x, y), {"threads": 0}, "threads must be at least 1"),
        ((x, y, x, y), {"groups": [1, 2, 3]}, "groups: 3 labels, but x_train has 10 rows"),
        ((x, y, x, y), {"groups": [[1]] * 10}, "groups: row 0: unhashable type"),
        ((x[:0], y[:0], x, y), {}, "x_train: dataset has no rows"),
        ((x[:, :0], y, x[:, :0], y), {}, "x_train: dataset has no feature columns"),
        ((x, y, [["a", "b"]] * 10, y), {}, "x_test: cannot be read as an array of float64"),
    ]


@pytest.mark.parametrize("case", range(len(errors()[2])))
def test_bad_arrays_are_named(case):
    args, kwargs, message = errors()[2][case]
    with pytest.raises(procura.InputError) as caught:
        procura.knn_shapley(*args, **kwargs)
    assert message in str(caught.value)


def test_bad_configurations_are_named():
    x, y, _ = errors()
    cases = [
        (procura.tmc_shapley, {"samples": 0}, "samples must be at least 1"),
        (procura.tmc_shapley, {"target_se": 0.0}, "target_se: 0 is not finite and > 0"),
        (procura.tmc_shapley, {"truncation": -1.0}, "truncation: -1 is not finite and ≥ 0"),
        (procura.banzhaf_msr, {"l2": float("nan")}, "l2: NaN is not finite and > 0"),
        (procura.loo, {"model": "svm"}, 'model: unknown model "svm"'),
        (procura.loo, {"model": object()}, "is not \"logreg\", \"knn\" or an object"),
        (procura.loo, {"model": "knn", "k": 0}, "k must be at least 1"),
        (procura.loo, {"threads": 0}, "threads must be at least 1"),
    ]
    for function, kwargs, message in cases:
        with pytest.raises(procura.InputError) as caught:
            function(x, y, x, y, **kwargs)
        assert message in str(caught.value), (kwargs, str(caught.value))
    with pytest.raises(TypeError):
        procura.tmc_shapley(x, y, x, y, "logreg")  # keyword-only
    with pytest.raises(procura.InputError, match='model: unknown model "svm"'):
        procura.quality(x, y, x, y, [0] * 10, model="svm")


def test_a_logistic_model_too_large_for_the_data_is_refused():
    x = np.zeros((2, 5000))
    with pytest.raises(procura.InputError, match="x_train: logistic regression on 5000 features"):
        procura.loo(x, [0, 1], x, [0, 1])
