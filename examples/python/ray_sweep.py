#!/usr/bin/env python3
"""Run an experiment's shards as Ray tasks that call the procura package,
then merge them in the driver.

Each shard I of N is one Ray task, `procura.experiment(config, shard=(I,
N), threads=T)`, reserving T CPUs; the tasks return their rows (plain
dicts of column lists), and `procura.merge` joins them into the rows of
one unsharded run, the same numbers whatever N and T. No binary, no shared
filesystem: the experiment travels as TOML text, the results as Python
objects.

    python examples/python/ray_sweep.py [EXPERIMENT.toml] [--shards N]
        [--threads T] [--replicates R] [--address ADDRESS] [--out DIR] [--check]

Without EXPERIMENT the built-in sweep below runs. --replicates overrides
the file's `replicates` (Python ≥ 3.11, for tomllib). --out writes
results.csv and summary.csv. --check also runs the experiment unsharded in
the driver and requires the merged rows to be equal. `--address auto` joins
a running Ray cluster; without it Ray starts on this machine. Needs `pip
install ray ./crates/procura-py`. Not part of CI; see docs/DISTRIBUTED.md.
"""

import argparse
import csv
import os
import time

import ray

import procura

SWEEP = """
name = "ray-sweep"
seed = 11
replicates = 200
mechanisms = ["qmia", "volume", "trust", "mixed", "mut"]

[procurement]
providers = 30
budget_fraction = 0.3
token_budget_fraction = 0.3
liquidity = 0.5
cost = { distribution = "lognormal", mu = 0.0, sigma = 0.5 }
quality = { distribution = "beta", alpha = 4.0, beta = 2.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }
volume = { distribution = "pareto", scale = 10.0, shape = 2.0 }

[strategic]
mechanisms = ["volume", "trust"]

[[sweep]]
key = "procurement.budget_fraction"
values = [0.1, 0.2, 0.3, 0.4]

[[sweep]]
key = "procurement.providers"
values = [10, 30, 60]
"""


@ray.remote
def run_shard(config, index, count, threads):
    """One shard, in a Ray worker: the package releases the GIL and runs on
    `threads` threads."""
    start = time.perf_counter()
    part = procura.experiment(config, shard=(index, count), threads=threads)
    return part, time.perf_counter() - start


def load(path, replicates):
    with open(path) as f:
        text = f.read()
    if replicates is None:
        return text
    import tomllib  # Python ≥ 3.11

    config = tomllib.loads(text)
    config["replicates"] = replicates
    config.pop("quick_replicates", None)
    return config


def write_csv(path, columns):
    names = list(columns)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*(columns[name] for name in names)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", help="experiment file (TOML)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="threads (and CPUs) per shard")
    parser.add_argument("--replicates", type=int, help="override the file's replicates")
    parser.add_argument("--address", help="Ray cluster to join (default: start one here)")
    parser.add_argument("--out", help="folder for results.csv and summary.csv")
    parser.add_argument("--check", action="store_true", help="compare with an unsharded run")
    args = parser.parse_args()

    config = load(args.experiment, args.replicates) if args.experiment else SWEEP
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    print(f"procura {procura.__version__}, Ray {ray.__version__}, "
          f"{int(ray.cluster_resources().get('CPU', 0))} CPUs in the cluster")

    start = time.perf_counter()
    tasks = [
        run_shard.options(num_cpus=args.threads).remote(config, index, args.shards, args.threads)
        for index in range(1, args.shards + 1)
    ]
    done = ray.get(tasks)
    merged = procura.merge(part for part, _ in done)
    wall = time.perf_counter() - start
    for index, (part, seconds) in enumerate(done, start=1):
        cells = len(set(part["results"]["cell"]))
        print(f"shard {index}/{args.shards}: {cells} cells, "
              f"{len(part['results']['cell'])} rows in {seconds:.2f} s")
    rows = len(merged["results"]["cell"])
    print(f"{merged['name']}: {len(set(merged['results']['cell']))} cells, {rows} rows "
          f"merged from {args.shards} Ray tasks in {wall:.2f} s")

    # Mean value bought: a row per cell, a column per mechanism.
    summary = merged["summary"]
    keys = [k for k in summary if k not in
            ("cell", "mechanism", "metric", "n", "mean", "sd", "ci_low", "ci_high")]
    mechanisms = list(dict.fromkeys(summary["mechanism"]))
    table = {}
    for i, metric in enumerate(summary["metric"]):
        if metric == "value":
            swept = tuple(summary[k][i] for k in keys)
            table.setdefault((summary["cell"][i], swept), {})[summary["mechanism"][i]] = (
                summary["mean"][i]
            )
    print("mean value bought (Σ q·μ of the winners):")
    print(" ".join(f"{k.split('.')[-1]:>15}" for k in keys) + "".join(f"{m:>9}" for m in mechanisms))
    for (_, swept), means in sorted(table.items()):
        print(" ".join(f"{v:>15g}" for v in swept)
              + "".join(f"{means.get(m, float('nan')):>9.3f}" for m in mechanisms))

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        write_csv(os.path.join(args.out, "results.csv"), merged["results"])
        write_csv(os.path.join(args.out, "summary.csv"), merged["summary"])
        print(f"wrote {args.out}/results.csv and {args.out}/summary.csv")

    if args.check:
        start = time.perf_counter()
        whole = procura.experiment(config)
        same = whole["results"] == merged["results"]
        print(f"unsharded run in the driver: {time.perf_counter() - start:.2f} s; "
              f"merged results {'equal' if same else 'DIFFER'}")
        if not same:
            raise SystemExit(1)
    ray.shutdown()


if __name__ == "__main__":
    main()
