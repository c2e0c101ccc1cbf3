#!/usr/bin/env python3
"""Value data providers in parallel Ray tasks with the procura package,
then price and clear their market.

The shipped wine market (data/wine: 30 providers' rows, a test set, a
trusted set and the providers' bids): exact KNN-Shapley is a mean over
test points, so each Ray task values every provider group on its own
slice of the test set (`procura.knn_shapley(..., groups=providers)`, GIL
released, `threads` threads per task), and the driver weighs the slices
back into the values of the whole test set; one more task scores the
providers' label quality against the trusted set. The driver then builds
the procurement instance (utility = max(0, value), quality = q, budget 30%
of the bids' total) and clears it with Q-MIA.

    python examples/python/ray_valuation.py [--tasks N] [--threads T]
        [--address ADDRESS] [--check]

--check also values the whole test set in one call and prints the largest
difference (rounding only: the slices are summed in another order). Needs
`pip install ray ./crates/procura-py`. Not part of CI; see
docs/DISTRIBUTED.md.
"""

import argparse
import csv
import os
import time

import numpy as np
import ray

import procura

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WINE = os.path.join(ROOT, "data", "wine")


def read(name):
    """Features, labels and (when there is one) the provider column."""
    with open(os.path.join(WINE, name)) as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    label = header.index("label")
    provider = header.index("provider") if "provider" in header else None
    features = [j for j in range(len(header)) if j not in (label, provider)]
    x = np.array([[float(row[j]) for j in features] for row in body])
    y = np.array([int(row[label]) for row in body])
    groups = np.array([row[provider] for row in body]) if provider is not None else None
    return x, y, groups


@ray.remote
def value_slice(x, y, groups, x_test, y_test, threads):
    start = time.perf_counter()
    values = procura.knn_shapley(x, y, x_test, y_test, k=5, groups=groups, threads=threads)
    return values, len(y_test), time.perf_counter() - start


@ray.remote
def quality(x_trusted, y_trusted, x, y, groups):
    return procura.quality(x_trusted, y_trusted, x, y, groups, model="logreg", l2=1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4, help="slices of the test set")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--address", help="Ray cluster to join (default: start one here)")
    parser.add_argument("--check", action="store_true", help="compare with one whole call")
    args = parser.parse_args()

    x, y, groups = read("train.csv")
    x_test, y_test, _ = read("test.csv")
    x_trusted, y_trusted, _ = read("trusted.csv")
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    print(f"procura {procura.__version__}, Ray {ray.__version__}; {len(y)} rows of "
          f"{len(set(groups))} providers, {len(y_test)} test rows, {len(y_trusted)} trusted")

    start = time.perf_counter()
    train = [ray.put(a) for a in (x, y, groups)]
    slices = np.array_split(np.arange(len(y_test)), args.tasks)
    tasks = [
        value_slice.options(num_cpus=args.threads).remote(
            *train, x_test[rows], y_test[rows], args.threads)
        for rows in slices
    ]
    scores = quality.remote(x_trusted, y_trusted, *train)
    parts = ray.get(tasks)
    q = ray.get(scores)
    values = {name: sum(part[name] * n for part, n, _ in parts) / len(y_test)
              for name in parts[0][0]}
    print(f"{args.tasks} valuation tasks and 1 quality task in {time.perf_counter() - start:.2f} s "
          f"(tasks: {', '.join(f'{s:.2f} s' for _, _, s in parts)})")

    if args.check:
        whole = procura.knn_shapley(x, y, x_test, y_test, k=5, groups=groups)
        gap = max(abs(values[name] - whole[name]) for name in whole)
        print(f"one call on the whole test set: largest difference {gap:.1e}")

    with open(os.path.join(WINE, "bids.csv")) as f:
        bids = list(csv.DictReader(f))
    bidders = {bid["provider"] for bid in bids}
    # The demo's budget: 30% of what every bid asks together.
    market = {
        "budget": 0.3 * sum(float(bid["bid"]) for bid in bids),
        "providers": [
            {
                "id": bid["provider"],
                "bid": float(bid["bid"]),
                "quality": q[bid["provider"]],
                "utility": max(0.0, values[bid["provider"]]),
                "volume": float(bid["volume"]),
                "claimed_quality": float(bid["claimed_quality"]),
            }
            for bid in bids
        ],
    }
    print(f"{len(bidders)} providers bid (data/wine/bids.csv); budget {market['budget']:.3f}")
    print("provider   value    quality  bid")
    for p in market["providers"]:
        print(f"{p['id']:<9} {values[p['id']]:+.5f}  {p['quality']:.3f}   {p['bid']:.2f}")
    outcome = procura.clear(market, "qmia")
    paid = ", ".join(f"{pay['id']} {pay['cash']:.3f}" for pay in outcome["payments"])
    print(f"Q-MIA buys {outcome['winners']} for {outcome['total_cash']:.3f} "
          f"(value {outcome['value']:.5f}): {paid}")
    ray.shutdown()


if __name__ == "__main__":
    main()
