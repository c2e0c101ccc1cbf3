"""An independent NumPy oracle for exact KNN-Shapley, written from the paper.

    python bench/knn_shapley/oracle.py --self-test
    python bench/knn_shapley/oracle.py --fixtures crates/procura-valuation/tests/fixtures/knn_numpy

Jia et al., "Efficient task-specific data valuation for nearest neighbor
algorithms", PVLDB 12(11), 2019.

The game. For one test point (x, y), sort the N training rows by their
distance to x, ties by row index (a stable argsort): alpha_1, ..., alpha_N,
nearest first. The unweighted KNN utility of a subset S of the rows is the
share of the K nearest rows of S that carry the test label,

    U_x(S) = (1/K) sum_{j=1}^{min(K, |S|)} 1[y_{alpha_j(S)} = y],  U_x({}) = 0,

and the utility of a test set T is the average U(S) = (1/|T|) sum_x U_x(S),
so its Shapley values are the averages of the per-point ones.

Theorem 1 (exact), with ranks i counted from 1 and h_i = 1[y_{alpha_i} = y]:

    s_{alpha_N} = h_N / N                                   (N >= K)
    s_{alpha_i} = s_{alpha_{i+1}} + (h_i - h_{i+1}) / K * min(K, i) / i

For N < K every coalition keeps all its rows among the K nearest, the game is
additive and s_{alpha_i} = h_i / K; the recursion gives the same when its
first line reads h_N / max(N, K) (min(K, i) / i = 1 for every i < N < K).

Theorem 2 (truncated, the (epsilon, 0)-approximation): with K* >= K,

    s^_{alpha_i} = 0                                                for i >= K*
    s^_{alpha_i} = s^_{alpha_{i+1}} + (h_i - h_{i+1}) / K * min(K, i) / i   for i <= K* - 1

so each test point's K* nearest rows are read, the K* - 1 nearest get a
value, and each of those differs from the exact one by the same shift
s_{alpha_{K*}}, with |s_{alpha_{K*}}| <= 1/K* (for i >= K, s_{alpha_i} lies in
[h_i/i - 1/i, h_i/i]). At K* = N the theorem sets s^_{alpha_N} = 0; only
when N < K* is there no rank K*, and then the values are the exact ones.
`knn_shapley(..., k_star=K*)` takes the paper's K* (procura's
`KnnShapley::with_neighbours(K*)`).

Distances, in float64: "euclidean" is the squared Euclidean distance
sum_d (a_d - b_d)^2, computed from the differences (not from
|a|^2 + |b|^2 - 2 a.b, whose cancellation could break exact ties);
"cosine" is 1 - a.b / (|a| |b|).

Everything here is written from the formulas above, not from procura's Rust.
`--self-test` checks the recursion against Shapley values by subset
enumeration in exact rational arithmetic.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from fractions import Fraction

import numpy as np

METRICS = ("euclidean", "cosine")
CHUNK_ROWS = 8192


def distances_to(train_x: np.ndarray, point: np.ndarray, metric: str) -> np.ndarray:
    """Distance of every training row to one test point, float64, shape (N,)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    b = np.asarray(point, dtype=np.float64)
    out = np.empty(len(train_x))
    # Blocks of rows, each row's distance computed alone (the same bits as
    # all at once), so that a million 384-d rows need not be widened at once.
    for start in range(0, len(train_x), CHUNK_ROWS):
        a = np.asarray(train_x[start : start + CHUNK_ROWS], dtype=np.float64)
        if metric == "euclidean":
            diff = a - b
            out[start : start + len(a)] = np.einsum("nd,nd->n", diff, diff)
        else:
            norms = np.sqrt(np.einsum("nd,nd->n", a, a)) * math.sqrt(float(b @ b))
            if np.any(norms == 0.0):
                raise ValueError("cosine distance of a zero vector is undefined")
            out[start : start + len(a)] = 1.0 - (a @ b) / norms
    return out


def neighbour_order(train_x, point, metric: str) -> np.ndarray:
    """alpha_1..alpha_N: row indices nearest first, ties by row index."""
    return np.argsort(distances_to(train_x, point, metric), kind="stable")


def point_values_loop(hits: np.ndarray, k: int, k_star: int | None = None) -> np.ndarray:
    """Shapley values of one test point's game, by rank (index i - 1 holds
    s_{alpha_i}), by the recursion of Theorem 1 or, with `k_star`,
    Theorem 2. `hits[i - 1]` is h_i. A plain loop,
    line by line the paper's formula."""
    n = len(hits)
    s = np.zeros(n)
    if k_star is None or k_star > n:
        # Theorem 1: s_{alpha_N} = h_N / max(N, K), then i = N-1, ..., 1.
        s[n - 1] = hits[n - 1] / max(n, k)
        top = n - 1
    else:
        # Theorem 2: s^_{alpha_i} = 0 for i >= K* (already), then i = K*-1, ..., 1.
        top = k_star - 1
    for i in range(top, 0, -1):  # 1-based rank i is index i - 1
        s[i - 1] = s[i] + (hits[i - 1] - hits[i]) / k * min(k, i) / i
    return s


def point_values(hits: np.ndarray, k: int, k_star: int | None = None) -> np.ndarray:
    """`point_values_loop` as a reverse cumulative sum (for large N)."""
    n = len(hits)
    hits = np.asarray(hits, dtype=np.float64)
    exact = k_star is None or k_star > n
    top = n - 1 if exact else k_star - 1  # last rank the recursion sets
    s = np.zeros(n)
    start = hits[n - 1] / max(n, k) if exact else 0.0
    if exact:
        s[n - 1] = start
    ranks = np.arange(1, top + 1, dtype=np.float64)  # i = 1..top
    steps = (hits[:top] - hits[1 : top + 1]) / k * np.minimum(k, ranks) / ranks
    s[:top] = start + np.cumsum(steps[::-1])[::-1]
    return s


def knn_shapley(
    train_x,
    train_y,
    test_x,
    test_y,
    k: int,
    metric: str = "euclidean",
    k_star: int | None = None,
    loop: bool = False,
) -> np.ndarray:
    """Exact (or, with `k_star`, truncated) KNN-Shapley values of the
    training rows, averaged over the test points. float64, shape (N,)."""
    train_y = np.asarray(train_y)
    test_y = np.asarray(test_y)
    n = len(train_y)
    if n == 0 or len(test_y) == 0:
        raise ValueError("need at least one training and one test row")
    if k < 1:
        raise ValueError("k must be at least 1")
    one_point = point_values_loop if loop else point_values
    total = np.zeros(n)
    for t in range(len(test_y)):
        order = neighbour_order(train_x, test_x[t], metric)
        hits = (train_y[order] == test_y[t]).astype(np.float64)
        total[order] += one_point(hits, k, k_star)
    return total / len(test_y)


def provider_sums(values: np.ndarray, providers) -> dict:
    """A provider's value is the sum of its rows' values."""
    providers = np.asarray(providers)
    return {str(p): float(values[providers == p].sum()) for p in sorted(set(providers.tolist()))}


# ---------------------------------------------------------------------------
# Brute force, for the self-test: Shapley values by subset enumeration.


def utility(train_x, train_y, test_x, test_y, k, metric, rows) -> Fraction:
    """U(S) of the module docstring, in exact rationals."""
    if not rows:
        return Fraction(0)
    total = Fraction(0)
    rows = sorted(rows)
    for t in range(len(test_y)):
        d = distances_to(train_x[rows], test_x[t], metric)
        order = np.argsort(d, kind="stable")
        nearest = [rows[j] for j in order[:k]]
        total += Fraction(sum(1 for r in nearest if train_y[r] == test_y[t]), k)
    return total / len(test_y)


def shapley_by_enumeration(train_x, train_y, test_x, test_y, k, metric, groups=None):
    """Exact Shapley values of the players (rows, or the groups of rows in
    `groups`, a list of row lists) by the subset formula."""
    if groups is None:
        groups = [[r] for r in range(len(train_y))]
    p = len(groups)
    cache = {}

    def u(mask):
        if mask not in cache:
            rows = [r for g in range(p) if mask >> g & 1 for r in groups[g]]
            cache[mask] = utility(train_x, train_y, test_x, test_y, k, metric, rows)
        return cache[mask]

    values = []
    for g in range(p):
        phi = Fraction(0)
        others = [h for h in range(p) if h != g]
        for size in range(p):
            weight = Fraction(math.factorial(size) * math.factorial(p - size - 1), math.factorial(p))
            for subset in itertools.combinations(others, size):
                mask = sum(1 << h for h in subset)
                phi += weight * (u(mask | 1 << g) - u(mask))
        values.append(phi)
    return values


def self_test(seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    worst = 0.0
    cases = 0
    for n in range(1, 8):
        for k in (1, 2, 3, 5, 9):
            for metric in METRICS:
                # Small integers: many exact ties and duplicate rows.
                x = rng.integers(-2, 3, size=(n, 2)).astype(np.float64)
                xt = rng.integers(-2, 3, size=(3, 2)).astype(np.float64)
                if metric == "cosine":
                    x[np.all(x == 0, axis=1)] = [1.0, 1.0]
                    xt[np.all(xt == 0, axis=1)] = [1.0, -1.0]
                y = rng.integers(0, 3, size=n)
                yt = rng.integers(0, 3, size=3)
                brute = np.array([float(v) for v in shapley_by_enumeration(x, y, xt, yt, k, metric)])
                for loop in (True, False):
                    fast = knn_shapley(x, y, xt, yt, k, metric, loop=loop)
                    worst = max(worst, float(np.max(np.abs(fast - brute))))
                total = float(utility(x, y, xt, yt, k, metric, list(range(n))))
                assert abs(fast.sum() - total) < 1e-12, (n, k, metric)
                # Truncated: each row within 1/K* of the exact value; the loop
                # and the cumulative sum agree.
                for k_star in range(k, n + 2):
                    a = knn_shapley(x, y, xt, yt, k, metric, k_star=k_star, loop=True)
                    b = knn_shapley(x, y, xt, yt, k, metric, k_star=k_star)
                    assert np.max(np.abs(a - b)) < 1e-12
                    assert np.max(np.abs(a - brute)) <= 1.0 / k_star + 1e-12, (n, k, k_star)
                    if k_star > n:
                        assert np.max(np.abs(a - brute)) < 1e-12
                    else:
                        # Ranks K*..N of every test point: zero.
                        for t in range(len(yt)):
                            order = neighbour_order(x, xt[t], metric)
                            one = point_values_loop((y[order] == yt[t]).astype(float), k, k_star)
                            assert np.all(one[k_star - 1 :] == 0.0)
                cases += 1
    assert worst < 1e-12, worst
    # Provider-level: the sum of row values is not, in general, the group
    # Shapley value; report how far apart they are on one small case.
    x = rng.standard_normal((8, 3))
    y = rng.integers(0, 2, size=8)
    xt = rng.standard_normal((4, 3))
    yt = rng.integers(0, 2, size=4)
    groups = [[0, 1, 2], [3, 4], [5, 6, 7]]
    rows = knn_shapley(x, y, xt, yt, 3)
    sums = [rows[g].sum() for g in groups]
    group = [float(v) for v in shapley_by_enumeration(x, y, xt, yt, 3, "euclidean", groups)]
    print(f"self-test: {cases} cases, largest difference from subset enumeration {worst:.2e}")
    print(f"provider sums of row values {np.round(sums, 6).tolist()} vs group Shapley {np.round(group, 6).tolist()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--fixtures", metavar="DIR", help="write the committed fixtures to DIR")
    args = parser.parse_args()
    if args.self_test:
        self_test()
    if args.fixtures:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from fixtures import write_fixtures

        write_fixtures(args.fixtures)
    if not (args.self_test or args.fixtures):
        parser.print_help()
