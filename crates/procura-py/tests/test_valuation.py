"""Valuation: exact KNN-Shapley against a numpy implementation written
here (Euclidean and cosine, exact and truncated), the groups' Shapley
values against subset enumeration, float32 features valued as the same
numbers in float64, .npz files read as the CLI reads them, seeded
sampling the same on 1 and 2 threads, the command line's values to the
last bit, labels numbered as the CLI numbers them, models of the
caller's, and named errors."""

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
    by_group = procura.knn_shapley(
        x_train, y_train, x_test, y_test, k=3, groups=groups, provider_value="row-sum"
    )
    assert list(by_group) == ["z", "a", "m"]
    for name in by_group:
        assert math.isclose(by_group[name], rows[groups == name].sum(), abs_tol=1e-12)
    # Any hashable labels, kept as given, whatever the value.
    for provider_value in ["shapley", "row-sum"]:
        mixed = procura.knn_shapley(
            x_train, y_train, x_test, y_test, k=3, groups=[(i % 2, "p") for i in range(24)],
            provider_value=provider_value,
        )
        assert list(mixed) == [(0, "p"), (1, "p")]


def group_shapley_by_enumeration(x_train, y_train, x_test, y_test, k, groups):
    """The groups' Shapley values in the KNN game whose players are the
    groups, by enumerating every coalition of the others:
    φ_i = Σ_{S ⊆ N∖i} |S|! (n − |S| − 1)! / n! · [U(R(S ∪ i)) − U(R(S))],
    R(S) the rows of the groups in S and U the KNN utility."""
    names = list(dict.fromkeys(groups))
    rows_of = {name: [r for r, g in enumerate(groups) if g == name] for name in names}
    n = len(names)
    utility = {}
    for size in range(n + 1):
        for coalition in itertools.combinations(names, size):
            rows = [r for name in coalition for r in rows_of[name]]
            utility[frozenset(coalition)] = knn_utility(x_train, y_train, x_test, y_test, k, rows)
    values = {}
    for name in names:
        others = [other for other in names if other != name]
        values[name] = sum(
            math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            * (utility[frozenset(subset) | {name}] - utility[frozenset(subset)])
            for size in range(n)
            for subset in itertools.combinations(others, size)
        )
    return values, utility[frozenset(names)]


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_knn_shapley_of_groups_is_their_shapley_value(k):
    # Five providers of 1 to 4 rows, in no order, on integer coordinates
    # (distance ties, broken by row) and on continuous ones.
    groups = ["b", "a", "c", "a", "d", "b", "e", "a", "c", "b", "a", "d"]
    rng = np.random.default_rng(k)
    for x_train, x_test in [
        (rng.integers(0, 3, size=(12, 2)).astype(float), rng.integers(0, 3, size=(6, 2)).astype(float)),
        (rng.normal(size=(12, 2)), rng.normal(size=(6, 2))),
    ]:
        y_train, y_test = rng.integers(0, 3, size=12), rng.integers(0, 3, size=6)
        expected, whole = group_shapley_by_enumeration(
            x_train, y_train, x_test, y_test, k, groups
        )
        values = procura.knn_shapley(x_train, y_train, x_test, y_test, k=k, groups=groups)
        assert list(values) == list(expected) == ["b", "a", "c", "d", "e"]
        for name in expected:
            assert math.isclose(values[name], expected[name], abs_tol=1e-12), (name, k)
        # Efficiency: U(∅) = 0, so the groups' values add up to U(all rows).
        assert math.isclose(sum(values.values()), whole, abs_tol=1e-12)
        # Not the rows' values summed by group (rows as players).
        sums = procura.knn_shapley(
            x_train, y_train, x_test, y_test, k=k, groups=groups, provider_value="row-sum"
        )
        assert math.isclose(sum(sums.values()), whole, abs_tol=1e-12)
        assert any(abs(values[g] - sums[g]) > 1e-6 for g in values), k


def test_knn_shapley_of_many_groups_is_sampled_and_efficient(cli, tmp_path):
    # 60 providers, k = 5 and 200 test points: past the exact method's
    # bound (test points × Σ_{j ≤ 5} C(60, j) > 2³⁰), so 1000 permutations
    # of seed 0, as the command line samples them, each adding up to U(N).
    x_train, y_train = blobs(180, seed=80)
    x_test, y_test = blobs(200, seed=81)
    groups = np.array([f"p{i % 60}" for i in range(180)])
    values = procura.knn_shapley(x_train, y_train, x_test, y_test, k=5, groups=groups)
    whole = knn_utility(x_train, y_train, x_test, y_test, 5, range(180))
    assert math.isclose(sum(values.values()), whole, abs_tol=1e-9)
    assert values == procura.knn_shapley(
        x_train, y_train, x_test, y_test, k=5, groups=groups, threads=1
    )
    write_csv(tmp_path / "train.csv", x_train, y_train, groups)
    write_csv(tmp_path / "test.csv", x_test, y_test)
    run = cli("value", "--method", "knn-shapley", "--k", "5", "--train", tmp_path / "train.csv",
              "--test", tmp_path / "test.csv", "--provider-column", "provider", "--out", "-",
              "--quiet")
    assert run.returncode == 0, run.stderr
    lines = [line.split(",") for line in run.stdout.strip().splitlines()[1:]]
    assert {line[3] for line in lines} == {"1000"}  # sampled: 1000 permutations
    assert [(p, float(v)) for p, v, _, _ in lines] == list(values.items())


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


# --- float32, cosine and truncation ----------------------------------------


def knn_shapley_reference(x_train, y_train, x_test, y_test, k, metric="euclidean", k_star=None):
    """KNN-Shapley by the recursion of knn_shapley_numpy, with the cosine
    distance 1 − x·r / (‖x‖ ‖r‖) as `metric="cosine"`, and, with `k_star`,
    Theorem 2's truncation: only the K* nearest rows are ranked, the value
    at rank K* is 0 and the recursion runs up from it; farther rows are
    worth 0 (K* > N is exact)."""
    n = len(y_train)
    values = np.zeros(n)
    for point, label in zip(x_test, y_test):
        if metric == "cosine":
            d = 1 - (x_train @ point) / (np.linalg.norm(x_train, axis=1) * np.linalg.norm(point))
        else:
            d = squared_distances(x_train, point)
        order = np.lexsort((np.arange(n), d))
        hit = (y_train[order] == label).astype(float)
        s = np.zeros(n)
        if k_star is None or k_star > n:
            last = n - 1
            s[last] = hit[last] / max(n, k)
        else:
            last = k_star - 1
        for i in range(last - 1, -1, -1):
            rank = i + 1
            s[i] = s[i + 1] + (hit[i] - hit[i + 1]) / k * min(k, rank) / rank
        values[order] += s
    return values / len(y_test)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_cosine_and_truncation_equal_numpy(k):
    # Continuous features: no two distances are within rounding of each
    # other, so the two ways of computing them rank the rows alike.
    x_train, y_train = blobs(60, d=4, seed=90 + k)
    x_test, y_test = blobs(15, d=4, seed=95 + k)
    for metric in ["euclidean", "cosine"]:
        exact = procura.knn_shapley(x_train, y_train, x_test, y_test, k=k, metric=metric)
        expected = knn_shapley_reference(x_train, y_train, x_test, y_test, k, metric)
        np.testing.assert_allclose(exact, expected, rtol=0, atol=1e-12)
        for k_star in [k, 10, 59, 60, 61]:
            truncated = procura.knn_shapley(
                x_train, y_train, x_test, y_test, k=k, metric=metric, neighbours=k_star
            )
            expected = knn_shapley_reference(x_train, y_train, x_test, y_test, k, metric, k_star)
            np.testing.assert_allclose(truncated, expected, rtol=0, atol=1e-12)
            # Theorem 2: every value within 1/K* of the exact one.
            assert np.max(np.abs(truncated - exact)) <= 1 / k_star + 1e-12
        # epsilon = ε is K* = max(k, ⌈1/ε⌉).
        for epsilon, k_star in [(0.1, 10), (0.3, max(k, 4)), (1.0, k)]:
            assert np.array_equal(
                procura.knn_shapley(x_train, y_train, x_test, y_test, k=k, metric=metric,
                                    epsilon=epsilon),
                procura.knn_shapley(x_train, y_train, x_test, y_test, k=k, metric=metric,
                                    neighbours=k_star),
            )
    # Cosine ranks by angle: scaling a row does not change its value.
    scaled = x_train * np.linspace(0.5, 3.0, 60)[:, None]
    assert np.allclose(
        procura.knn_shapley(scaled, y_train, x_test, y_test, k=k, metric="cosine"),
        procura.knn_shapley(x_train, y_train, x_test, y_test, k=k, metric="cosine"),
        rtol=0, atol=1e-12,
    )


def test_float32_features_give_the_values_of_the_same_numbers_as_float64():
    rng = np.random.default_rng(14)
    x_train = rng.normal(size=(70, 6)).astype(np.float32)
    x_test = rng.normal(size=(25, 6)).astype(np.float32)
    y_train, y_test = rng.integers(0, 3, size=70), rng.integers(0, 3, size=25)
    groups = np.array([f"p{i % 4}" for i in range(70)])
    wide_train, wide_test = x_train.astype(np.float64), x_test.astype(np.float64)
    for kwargs in [
        {},
        {"metric": "cosine", "neighbours": 12},
        {"epsilon": 0.2, "groups": groups, "provider_value": "row-sum"},
        {"groups": groups},
    ]:
        narrow = procura.knn_shapley(x_train, y_train, x_test, y_test, k=3, **kwargs)
        wide = procura.knn_shapley(wide_train, y_train, wide_test, y_test, k=3, **kwargs)
        mixed = procura.knn_shapley(x_train, y_train, wide_test, y_test, k=3, **kwargs)
        fortran = procura.knn_shapley(np.asfortranarray(x_train), y_train, x_test, y_test, k=3,
                                      **kwargs)
        if isinstance(narrow, dict):
            assert list(narrow.items()) == list(wide.items()) == list(mixed.items())
            assert list(narrow.items()) == list(fortran.items())
        else:
            assert narrow.dtype == np.float64
            for other in [wide, mixed, fortran]:
                assert np.array_equal(narrow, other), kwargs
    nan = x_train.copy()
    nan[5, 2] = np.nan
    with pytest.raises(procura.InputError, match="x_train: row 5: feature 2: NaN is not finite"):
        procura.knn_shapley(nan, y_train, x_test, y_test)


# --- .npz embedding files --------------------------------------------------


NPZ_CASES = [
    # x dtype, y, provider, writer
    (np.float32, np.array(["pos", "neg", "pos", "mid", "neg"]), None, np.savez),
    (np.float64, np.array([3, -1, 3, 200, -1], dtype=np.int16), np.array(["a", "b", "a", "é", "b"]),
     np.savez_compressed),
    (">f4", np.array([10, 9, 10, 11, 9], dtype=">u4"), np.array([7, 7, 8, 8, 9]), np.savez),
    (np.float64, np.array([b"x", b"yy", b"x", b"x", b"z"]), np.array([b"p", b"q", b"p", b"q", b"p"]),
     np.savez),
]


@pytest.mark.parametrize("case", range(len(NPZ_CASES)))
@pytest.mark.parametrize("order", ["C", "F"])
def test_read_npz_round_trips(tmp_path, case, order):
    dtype, y, provider, writer = NPZ_CASES[case]
    rng = np.random.default_rng(case)
    x = np.asarray(rng.normal(size=(5, 3)).astype(dtype), order=order)
    arrays = {"x": x, "y": y, "other": np.zeros(2)}
    if provider is not None:
        arrays["provider"] = provider
    writer(tmp_path / "data.npz", **arrays)
    data = procura.read_npz(tmp_path / "data.npz")
    assert sorted(data) == sorted(["x", "y"] + (["provider"] if provider is not None else []))
    # x: its precision kept, in native byte order and C order.
    assert data["x"].dtype == np.dtype(dtype).newbyteorder("=")
    assert data["x"].flags["C_CONTIGUOUS"] and data["x"].shape == (5, 3)
    assert np.array_equal(data["x"], x)
    for name in ["y", "provider"]:
        if name not in arrays:
            continue
        given, read = arrays[name], data[name]
        if given.dtype.kind in "iu":
            assert read.dtype == given.dtype.newbyteorder("=")
            assert read.tolist() == given.tolist()
        else:  # strings, bytes decoded as UTF-8
            assert read.dtype.kind == "U"
            assert read.tolist() == [v.decode() if isinstance(v, bytes) else v for v in given.tolist()]
    # A str path too.
    assert np.array_equal(procura.read_npz(str(tmp_path / "data.npz"))["x"], x)


def bad_npz():
    x = np.arange(15, dtype=np.float64).reshape(5, 3)
    y = np.array([0, 1, 0, 1, 1])
    nan = x.astype(np.float32)
    nan[2, 1] = np.nan
    return [
        ({"x": nan, "y": y}, "array x: row 2, column 1: NaN is not finite"),
        ({"x": np.where(x == 13, np.inf, x), "y": y}, "array x: row 4, column 1: inf is not finite"),
        ({"x": x, "y": y[:4]}, "array y: 4 entries, but x has 5 rows"),
        ({"x": x, "y": y, "provider": np.arange(6)}, "array provider: 6 entries, but x has 5 rows"),
        ({"x": x}, 'no array named "y" (the archive holds: x)'),
        ({"x": x.astype(np.float16), "y": y}, 'array x: dtype "<f2" is not'),
        ({"x": x[:, 0], "y": y}, "array x: shape [5] has 1 dimensions, expected 2"),
        ({"x": x, "y": y.astype(bool)}, 'array y: dtype "|b1" is not'),
    ]


@pytest.mark.parametrize("case", range(len(bad_npz())))
def test_a_bad_npz_file_is_named(cli, tmp_path, case):
    arrays, message = bad_npz()[case]
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(procura.InputError) as caught:
        procura.read_npz(path)
    assert str(caught.value).startswith(f"{path}: "), str(caught.value)
    assert message in str(caught.value)
    # The command line's message, file name and all.
    np.savez(tmp_path / "test.npz", x=np.ones((2, 3)), y=np.array([0, 1]))
    run = cli("value", "--method", "knn-shapley", "--k", "1", "--train", path,
              "--test", tmp_path / "test.npz", "--out", "-", "--quiet")
    assert run.returncode != 0
    assert run.stderr.strip() == f"error: {caught.value}"


def test_a_file_that_is_not_an_npz_archive_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    path.write_text("x,y\n1,0\n")
    with pytest.raises(procura.InputError, match="not a readable .npz"):
        procura.read_npz(path)
    with pytest.raises(FileNotFoundError) as caught:
        procura.read_npz(tmp_path / "missing.npz")
    assert caught.value.filename == str(tmp_path / "missing.npz")


NPZ_CLI_CASES = [
    ([], {}),
    (["--metric", "cosine"], {"metric": "cosine"}),
    (["--neighbours", "9"], {"neighbours": 9}),
    (["--metric", "cosine", "--epsilon", "0.2"], {"metric": "cosine", "epsilon": 0.2}),
    (["--provider-column", "provider"], {"groups": "provider"}),
    (["--provider-column", "provider", "--provider-value", "row-sum", "--metric", "cosine",
      "--neighbours", "6"],
     {"groups": "provider", "provider_value": "row-sum", "metric": "cosine", "neighbours": 6}),
]


@pytest.mark.parametrize("case", range(len(NPZ_CLI_CASES)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_knn_shapley_on_npz_files_equals_the_cli(cli, tmp_path, case, dtype):
    flags, kwargs = NPZ_CLI_CASES[case]
    rng = np.random.default_rng(case)
    x_train, y_train = blobs(80, d=8, classes=3, seed=100 + case)
    x_test, y_test = blobs(30, d=8, classes=3, seed=200 + case)
    names = np.array(["neg", "pos", "10"])
    np.savez(tmp_path / "train.npz", x=x_train.astype(dtype), y=names[y_train],
             provider=rng.integers(0, 6, size=80) * 11)
    np.savez(tmp_path / "test.npz", x=x_test.astype(dtype), y=names[y_test])
    run = cli("value", "--method", "knn-shapley", "--k", "3", "--train", tmp_path / "train.npz",
              "--test", tmp_path / "test.npz", "--out", tmp_path / "out.csv", *flags)
    assert run.returncode == 0, run.stderr
    expected = read_values((tmp_path / "out.csv").read_text())
    train, test = procura.read_npz(tmp_path / "train.npz"), procura.read_npz(tmp_path / "test.npz")
    assert train["x"].dtype == dtype
    if kwargs.get("groups"):
        kwargs = {**kwargs, "groups": train["provider"]}
    values = procura.knn_shapley(train["x"], train["y"], test["x"], test["y"], k=3, **kwargs)
    if "groups" in kwargs:
        assert [(str(p), v) for p, v in values.items()] == expected
    else:
        assert [(str(i), v) for i, v in enumerate(values)] == expected


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


def test_bad_knn_configurations_are_named():
    x, y, _ = errors()
    groups = [i % 3 for i in range(10)]
    zero = x.copy()
    zero[4] = 0.0
    cases = [
        ((x, y, x, y), {"metric": "manhattan"},
         'metric: unknown metric "manhattan": expected "euclidean" or "cosine"'),
        ((x, y, x, y), {"k": 3, "neighbours": 2}, "neighbours: K* = 2 is less than k = 3"),
        ((x, y, x, y), {"epsilon": 0.0}, "epsilon: 0 is not in (0, 1]"),
        ((x, y, x, y), {"epsilon": 1.5}, "epsilon: 1.5 is not in (0, 1]"),
        ((x, y, x, y), {"neighbours": 5, "epsilon": 0.1}, "neighbours and epsilon: give one"),
        ((x, y, x, y), {"groups": groups, "provider_value": "sum"},
         'provider_value: unknown value "sum": expected "shapley" or "row-sum"'),
        ((x, y, x, y), {"provider_value": "row-sum"},
         "provider_value needs groups: without them rows are valued"),
        ((x, y, x, y), {"groups": None, "provider_value": "shapley"},
         "provider_value needs groups"),
        ((x, y, x, y), {"groups": groups, "metric": "cosine"},
         "a group's Shapley value (provider_value=\"shapley\", the default) is computed for "
         "the exact Euclidean game"),
        ((x, y, x, y), {"groups": groups, "provider_value": "shapley", "neighbours": 6},
         "the exact Euclidean game"),
        ((zero, y, x, y), {"metric": "cosine"},
         "x_train: row 4 is all zeros, which has no cosine distance"),
        ((x, y, zero, y), {"metric": "cosine", "groups": groups, "provider_value": "row-sum"},
         "x_test: row 4 is all zeros, which has no cosine distance"),
        ((x, y[:9], x, y), {"groups": groups}, "y_train: 9 labels, but x_train has 10 rows"),
        ((x, y, x, y), {"groups": [1, 2]}, "groups: 2 labels, but x_train has 10 rows"),
        ((np.where(x > 0.5, np.nan, x), y, x, y), {"groups": groups}, "is not finite"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(procura.InputError) as caught:
            procura.knn_shapley(*args, **kwargs)
        assert message in str(caught.value), (kwargs, str(caught.value))


def test_a_logistic_model_too_large_for_the_data_is_refused():
    x = np.zeros((2, 5000))
    with pytest.raises(procura.InputError, match="x_train: logistic regression on 5000 features"):
        procura.loo(x, [0, 1], x, [0, 1])
