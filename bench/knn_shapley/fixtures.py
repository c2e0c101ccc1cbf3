"""The committed fixtures of crates/procura-valuation/tests/knn_numpy.rs.

    python bench/knn_shapley/oracle.py --fixtures crates/procura-valuation/tests/fixtures/knn_numpy

Writes, for each case, `CASE.train.npz` and `CASE.test.npz` (arrays `x`,
`y` and, for some, `provider`), and one `expected.tsv` with the oracle's
values: columns case, metric, k, k_star ("all" for exact, else Jia et
al.'s K* of Theorem 2: ranks K* and beyond of each test point get 0, as
with procura's `KnnShapley::with_neighbours(K*)`), player ("row:I" or "provider:NAME", a provider's value being
the sum of its rows' values) and the value as Python's shortest round-trip
decimal of the float64.

Every case is checked to be robust to how the distances are computed: the
neighbour order of every test point must be the same under several ways of
summing (from the differences, left to right, in 4 lanes, through
|a|^2 + |b|^2 - 2 a.b; cosine from normalised rows, dividing twice), and
distances that are not bit-equal must be 1e-9 apart (relatively), so
procura's order can only differ from the oracle's through a real bug.
Exact ties come from duplicate rows, integer coordinates and, for cosine,
rows scaled by powers of two (whose cosine distances are the same bits by
any of those formulas).
"""

from __future__ import annotations

import os

import numpy as np

from oracle import METRICS, distances_to, knn_shapley

HEADER = (
    "# Exact and truncated KNN-Shapley values of the knn_numpy fixtures, float64, from\n"
    "# bench/knn_shapley/oracle.py (Jia et al. 2019, Theorems 1 and 2), written by\n"
    "# python bench/knn_shapley/oracle.py --fixtures crates/procura-valuation/tests/fixtures/knn_numpy\n"
    "# k_star: all = exact; else Theorem 2's K*: ranks i >= K* of each test point get 0 (1-based ranks;\n"
    "# K* > N is exact, K* = N sets the farthest row to 0).\n"
    "case\tmetric\tk\tk_star\tplayer\tvalue\n"
)


def variants(a: np.ndarray, b: np.ndarray, metric: str):
    """Other plausible float64 computations of the same distances."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    out = []
    if metric == "euclidean":
        diff = a - b
        seq = np.zeros(len(a))
        for d in range(a.shape[1]):
            seq += diff[:, d] * diff[:, d]
        out.append(seq)
        lanes = np.zeros((len(a), 4))
        for d in range(a.shape[1]):
            lanes[:, d % 4] += diff[:, d] * diff[:, d]
        out.append((lanes[:, 0] + lanes[:, 1]) + (lanes[:, 2] + lanes[:, 3]))
        out.append(np.einsum("nd,nd->n", a, a) + b @ b - 2.0 * (a @ b))
        out.append(np.maximum(out[-1], 0.0))
    else:
        na = np.sqrt(np.einsum("nd,nd->n", a, a))
        nb = np.sqrt(b @ b)
        out.append(1.0 - (a / na[:, None]) @ (b / nb))
        out.append(1.0 - (a @ b) / na / nb)
        seq = np.zeros(len(a))
        for d in range(a.shape[1]):
            seq += a[:, d] * b[d]
        out.append(1.0 - seq / (na * nb))
        out.append(np.maximum(1.0 - (a @ b) / (na * nb), 0.0))
    return out


def check_robust(name: str, train_x, test_x, metric: str) -> None:
    for t, point in enumerate(test_x):
        d = distances_to(train_x, point, metric)
        order = np.argsort(d, kind="stable")
        for other in variants(np.asarray(train_x), np.asarray(point), metric):
            if not np.array_equal(np.argsort(other, kind="stable"), order):
                raise SystemExit(f"{name} {metric} test row {t}: order depends on the formula")
        sorted_d = d[order]
        gaps = np.diff(sorted_d)
        scale = np.maximum(np.abs(sorted_d[1:]), 1e-3)
        close = (gaps != 0.0) & (gaps < 1e-9 * scale)
        if np.any(close):
            raise SystemExit(f"{name} {metric} test row {t}: near-tie {sorted_d[1:][close]}")


def grid_ties():
    """2-D integer points: many tied distances, duplicate rows with equal
    and with different labels, a test point on a training row; 3 integer
    classes; N = 16 >= K; float64."""
    x = np.array(
        [
            [1, 1], [-1, 1], [1, -1], [2, 0], [0, 2], [2, 0], [2, 0], [-2, 0],
            [0, -2], [1, 2], [2, 1], [4, 4], [1, 1], [-1, -1], [3, -1], [0, 3],
        ],
        dtype=np.float64,
    )
    y = np.array([0, 1, 2, 0, 1, 1, 1, 2, 0, 2, 1, 0, 2, 1, 0, 2])
    xt = np.array([[1, 1], [0, 1], [2, 2], [-1, 0], [3, 1], [1, 0]], dtype=np.float64)
    yt = np.array([0, 1, 2, 2, 0, 1])
    return dict(x=x, y=y), dict(x=xt, y=yt), [1, 3, 5], [(3, 3), (3, 7), (3, 15), (3, 16), (3, 17), (1, 1), (1, 2), (5, 10)]


def few_rows():
    """N = 3 training rows, K up to 5 (N < K, N = K, N > K); float32; two
    string classes."""
    x = np.array([[0.5, 1.0, -1.5], [2.0, -0.25, 0.75], [-1.0, -1.0, 1.0]], dtype=np.float32)
    y = np.array(["cat", "dog", "cat"])
    xt = np.array(
        [[0.0, 1.0, -1.0], [1.5, 0.0, 0.5], [-1.0, -1.0, 1.0], [3.0, 2.0, 1.0]], dtype=np.float32
    )
    yt = np.array(["cat", "dog", "dog", "cat"])
    return dict(x=x, y=y), dict(x=xt, y=yt), [1, 2, 3, 5], [(2, 2), (1, 1), (1, 2), (3, 3), (5, 5)]


def scaled_cosine():
    """4-D integer rows, with duplicates and copies scaled by 2 and 4
    (cosine ties that are not Euclidean ones), a test point parallel to
    training rows whose cosine distance to them rounds below 0 (1 - 3/3.0000000000000004);
    4 numeric classes written 10, 20, 30, 40; float32; two providers
    numbered 0 and 1 as integers."""
    base = np.array(
        [[0, 1, 1, 1], [1, 0, 2, 0], [3, 1, 0, 1], [1, 2, 3, 4], [2, 2, 0, 1], [0, 0, 1, 5], [4, 1, 1, 0]],
        dtype=np.float32,
    )
    extra = np.array([[1, 1, 1, 1], [5, 0, 0, 1]], dtype=np.float32)
    x = np.concatenate([base, 2 * base[:3], 4 * base[:2], base[3:6], extra])
    y = np.array([10, 20, 30, 40, 10, 20, 30, 20, 20, 30, 10, 10, 40, 10, 30, 20, 40])
    provider = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1])
    xt = np.array(
        [[0, 1, 1, 1], [1, 1, 0, 0], [2, 0, 4, 0], [1, 2, 2, 3], [0, 3, 1, 1], [5, 1, 0, 2], [1, 0, 0, 0], [0, 0, 2, 9]],
        dtype=np.float32,
    )
    yt = np.array([10, 20, 20, 40, 10, 30, 30, 20])
    return dict(x=x, y=y, provider=provider), dict(x=xt, y=yt), [1, 2, 4], [(2, 2), (2, 5), (4, 10)]


def gauss():
    """Gaussian float64 rows in 8 dimensions, 5 string classes, 6 string
    providers, a test point equal to a training row."""
    rng = np.random.default_rng(20250113)
    x = rng.standard_normal((40, 8))
    y = np.array(list("abcde"))[rng.integers(0, 5, size=40)]
    provider = np.array([f"p{i}" for i in rng.integers(0, 6, size=40)])
    xt = rng.standard_normal((12, 8))
    xt[3] = x[17]
    yt = np.array(list("abcde"))[rng.integers(0, 5, size=12)]
    return dict(x=x, y=y, provider=provider), dict(x=xt, y=yt), [1, 3, 7], [(3, 8), (7, 16), (3, 40)]


def embeddings():
    """Unit float32 vectors in 32 dimensions around 4 class centres, 4
    integer classes, 5 integer providers."""
    rng = np.random.default_rng(384)
    centres = rng.standard_normal((4, 32))

    def draw(n):
        labels = rng.integers(0, 4, size=n)
        v = centres[labels] + 1.5 * rng.standard_normal((n, 32))
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32), labels

    x, y = draw(60)
    xt, yt = draw(15)
    provider = rng.integers(0, 5, size=60)
    return dict(x=x, y=y, provider=provider), dict(x=xt, y=yt), [5], [(5, 11), (5, 20)]


CASES = {
    "grid_ties": (grid_ties, "savez"),
    "few_rows": (few_rows, "savez_compressed"),
    "scaled_cosine": (scaled_cosine, "savez"),
    "gauss": (gauss, "savez_compressed"),
    "embeddings": (embeddings, "savez"),
}


def fmt(value: float) -> str:
    return repr(float(value))


def write_fixtures(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    lines = [HEADER]
    for name, (make, saver) in CASES.items():
        train, test, ks, truncated = make()
        for metric in METRICS:
            check_robust(name, train["x"], test["x"], metric)
        getattr(np, saver)(os.path.join(folder, f"{name}.train.npz"), **train)
        getattr(np, saver)(os.path.join(folder, f"{name}.test.npz"), **test)
        runs = [(k, None) for k in ks] + list(truncated)
        for metric in METRICS:
            for k, k_star in runs:
                values = knn_shapley(train["x"], train["y"], test["x"], test["y"], k, metric, k_star, loop=True)
                tag = "all" if k_star is None else str(k_star)
                for row, value in enumerate(values):
                    lines.append(f"{name}\t{metric}\t{k}\t{tag}\trow:{row}\t{fmt(value)}\n")
                if "provider" in train:
                    providers = train["provider"]
                    for p in sorted(set(providers.tolist()), key=str):
                        total = float(values[providers == p].sum())
                        lines.append(f"{name}\t{metric}\t{k}\t{tag}\tprovider:{p}\t{fmt(total)}\n")
    with open(os.path.join(folder, "expected.tsv"), "w") as out:
        out.writelines(lines)
    print(f"wrote {len(CASES)} cases, {len(lines) - 1} values to {folder}")
