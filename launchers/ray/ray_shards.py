#!/usr/bin/env python3
"""Run a sharded `procura experiment` sweep on Ray, then merge the shards.

Each shard I of N is one Ray task that runs

    PROCURA experiment EXPERIMENT --out OUT/shard-I --shard I/N --threads T

in a subprocess and reserves T CPUs (`num_cpus=T`). When all tasks have
succeeded, the driver runs `PROCURA merge OUT/shard-1 ... OUT/shard-N --out
OUT/merged` (or --merged): the same bytes one unsharded run writes; N = 1
takes the same path (one shard folder, merged). If any
shard fails, its stderr is printed, nothing is merged, and the driver exits
with status 1.

    python launchers/ray/ray_shards.py sweep.toml --out runs/sweep --shards 4 \\
        --procura target/release/procura --threads 1

By default Ray starts on this machine (`ray.init()`); `--address auto` joins
a running cluster. On a cluster the binary, the experiment file and OUT must
be at the same paths on every node (a shared filesystem); paths are made
absolute here before the tasks are sent. See docs/DISTRIBUTED.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time

import ray


def run_shard(procura: str, experiment: str, out: str, index: int, count: int, threads: int):
    """Runs one shard in a subprocess; returns what the driver reports."""
    command = [
        procura,
        "experiment",
        experiment,
        "--out",
        out,
        "--shard",
        f"{index}/{count}",
        "--threads",
        str(threads),
    ]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    except OSError as error:  # e.g. the binary is missing on this node
        returncode, stdout, stderr = 127, "", f"cannot run {procura}: {error}\n"
    return {
        "index": index,
        "returncode": returncode,
        "stdout": stdout,
        "stderr": stderr,
        "host": socket.gethostname(),
        "seconds": time.perf_counter() - start,
        "command": command,
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run `procura experiment` as N Ray tasks (one per shard) and merge them."
    )
    parser.add_argument("experiment", help="experiment file (TOML)")
    parser.add_argument(
        "--out", required=True, help="folder for shard-1 … shard-N (shared by all nodes)"
    )
    parser.add_argument("--shards", type=int, required=True, help="number of shards N (≥ 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per shard, also the CPUs each Ray task reserves (default 1)",
    )
    parser.add_argument(
        "--procura", default="procura", help="procura binary (default: procura on PATH)"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster address; 'auto' joins the running cluster (default: start Ray locally)",
    )
    parser.add_argument("--merged", default=None, help="result folder (default: OUT/merged)")
    args = parser.parse_args(argv)
    if args.shards < 1:
        parser.error("--shards must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def resolve_binary(procura: str) -> str:
    """An absolute path for the binary, so that every worker runs the same one."""
    if os.sep in procura:
        return os.path.abspath(procura)
    found = shutil.which(procura)
    if found is None:
        sys.exit(f"ray_shards: {procura} is not on PATH (give --procura PATH)")
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    procura = resolve_binary(args.procura)
    experiment = os.path.abspath(args.experiment)
    out = os.path.abspath(args.out)
    merged = os.path.abspath(args.merged) if args.merged else os.path.join(out, "merged")
    if not os.access(procura, os.X_OK):
        sys.exit(f"ray_shards: {procura} is not an executable")
    if not os.path.isfile(experiment):
        sys.exit(f"ray_shards: cannot read {experiment}")
    os.makedirs(out, exist_ok=True)

    start = time.perf_counter()
    if args.address is None:
        ray.init(include_dashboard=False)
    else:
        ray.init(address=args.address)
    started = time.perf_counter()
    print(f"ray_shards: Ray {ray.__version__} up in {started - start:.1f} s", file=sys.stderr)

    # Ray retries a task whose worker died (the default max_retries); that is
    # safe, since a shard writes the same bytes every time it runs.
    task = ray.remote(run_shard).options(num_cpus=args.threads)
    n = args.shards
    folders = [os.path.join(out, f"shard-{i}") for i in range(1, n + 1)]
    pending = {
        task.remote(procura, experiment, folder, i, n, args.threads): i
        for i, folder in enumerate(folders, start=1)
    }
    failed = []
    while pending:
        [ready], _ = ray.wait(list(pending))
        index = pending.pop(ready)
        try:
            result = ray.get(ready)
        except ray.exceptions.RayError as error:  # the task itself died (node lost, …)
            result = {"index": index, "returncode": None, "stderr": f"{error}\n", "host": "?"}
        if result["returncode"] == 0:
            sys.stdout.write(result["stdout"])
            print(
                f"ray_shards: shard {index}/{n} done on {result['host']} "
                f"in {result['seconds']:.1f} s",
                file=sys.stderr,
            )
        else:
            failed.append(result)
    ran = time.perf_counter()
    print(
        f"ray_shards: all {n} shard task(s) returned after {ran - started:.1f} s", file=sys.stderr
    )

    if failed:
        for result in sorted(failed, key=lambda r: r["index"]):
            print(
                f"ray_shards: shard {result['index']}/{n} FAILED on {result['host']} "
                f"(exit status {result['returncode']}):",
                file=sys.stderr,
            )
            sys.stderr.write(result["stderr"])
        print(f"ray_shards: {len(failed)} of {n} shard(s) failed; nothing merged", file=sys.stderr)
        return 1

    merge = subprocess.run(
        [procura, "merge", *folders, "--out", merged],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(merge.stdout)
    if merge.returncode != 0:
        sys.stderr.write(merge.stderr)
        print(f"ray_shards: merge failed (exit status {merge.returncode})", file=sys.stderr)
        return 1
    end = time.perf_counter()
    print(
        f"ray_shards: merged into {merged}; merge {end - ran:.1f} s, total {end - start:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
