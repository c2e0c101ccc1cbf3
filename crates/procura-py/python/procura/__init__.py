"""procura: buy training data truthfully, from Python.

Clear and audit data markets, verify live rounds, value training data and
run Monte-Carlo experiments with the procura engine (Rust), with numpy
arrays in and out. Every function calls the same library code as the
``procura`` command line, so results are the CLI's to the last bit; long
calls release the GIL, so threads valuate in parallel.

>>> import numpy as np, procura
>>> x = np.array([[0.0], [1.0], [5.0]]); y = np.array([0, 1, 0])
>>> values = procura.knn_shapley(x, y, np.array([[0.2]]), np.array([0]), k=1)
>>> values.round(3).tolist()
[0.833, -0.167, 0.333]

Bad input raises :class:`procura.InputError`, a :class:`ValueError` whose
message is the command line's (it names the field and the record, or the
array, the row and the column).
"""

from ._procura import (
    InputError,
    __version__,
    audit,
    banzhaf_msr,
    clear,
    experiment,
    knn_shapley,
    loo,
    quality,
    read_npz,
    tmc_shapley,
    verify,
)

__all__ = [
    "InputError",
    "__version__",
    "audit",
    "banzhaf_msr",
    "clear",
    "experiment",
    "knn_shapley",
    "loo",
    "merge",
    "quality",
    "read_npz",
    "tmc_shapley",
    "verify",
]


def merge(parts):
    """Merge the results of an experiment's shards into the whole run's.

    ``parts`` are the dicts that ``experiment(config, shard=(I, N))``
    returned for I = 1 … N, in any order: each shard once, all of one
    experiment. Records depend only on (seed, cell, replicate), so the
    merged ``results`` and ``summary`` equal those of one unsharded run,
    row for row.

    >>> import procura
    >>> config = {"name": "tiny", "seed": 1, "replicates": 2, "mechanisms": ["subsidy"],
    ...           "threshold": {"users": 4, "threshold_fraction": 0.5, "payment": 0.6,
    ...                         "floor": 1.0,
    ...                         "cost": {"distribution": "uniform", "low": 0.0, "high": 1.5},
    ...                         "capacity": {"distribution": "uniform", "low": 0.5, "high": 2.0}},
    ...           "sweep": [{"key": "threshold.threshold_fraction", "values": [0.2, 0.6, 0.9]}]}
    >>> parts = [procura.experiment(config, shard=(i, 2)) for i in (1, 2)]
    >>> procura.merge(parts)["results"] == procura.experiment(config)["results"]
    True
    """
    parts = list(parts)
    if not parts:
        raise InputError("merge: no shards")
    first = parts[0]
    shards = {}
    for position, part in enumerate(parts):
        if part.get("experiment") != first.get("experiment"):
            raise InputError(
                f"merge: part {position} is a shard of another experiment than part 0"
            )
        index, count = (int(n) for n in str(part.get("shard", "1/1")).split("/"))
        expected = int(str(first.get("shard", "1/1")).split("/")[1])
        if count != expected:
            raise InputError(
                f"merge: part {position} is shard {index}/{count}, "
                f"but part 0 splits the experiment into {expected}"
            )
        if index in shards:
            raise InputError(
                f"merge: shard {index}/{count} is given twice (parts {shards[index]} "
                f"and {position})"
            )
        shards[index] = position
    missing = [i for i in range(1, expected + 1) if i not in shards]
    if missing:
        named = ", ".join(f"{i}/{expected}" for i in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InputError(f"merge: missing shards {named}{more}")

    def join(table):
        columns = list(first[table])
        rows = []
        for part in parts:
            block = part[table]
            if list(block) != columns:
                raise InputError(f"merge: the {table} of the parts have other columns")
            rows.extend(zip(*(block[name] for name in columns)))
        # Each shard's rows are in cell order and shards hold distinct
        # cells: a stable sort by cell gives the whole run's order.
        rows.sort(key=lambda row: row[0])
        return {name: [row[j] for row in rows] for j, name in enumerate(columns)}

    return {
        "name": first.get("name"),
        "experiment": first.get("experiment"),
        "shard": "1/1",
        "results": join("results"),
        "summary": join("summary"),
    }
