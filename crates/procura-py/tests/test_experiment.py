"""experiment: the command line's tables, column for column; the same
records on any thread count, from a dict or TOML text, and after sharding
and merge; errors that name the key."""

import csv
import io
import math

import pytest

import procura

TOML = """
name = "small"
seed = 11
replicates = 5
mechanisms = ["qmia", "volume", "trust"]

[procurement]
providers = 8
budget_fraction = 0.3
cost = { distribution = "lognormal", mu = 0.0, sigma = 0.5 }
quality = { distribution = "beta", alpha = 4.0, beta = 2.0 }
utility = { distribution = "uniform", low = 0.0, high = 1.0 }
volume = { distribution = "pareto", scale = 10.0, shape = 2.0 }

[strategic]
mechanisms = ["volume", "trust"]
markups = [0.8, 1.0, 1.5, 2.0]
max_rounds = 5

[audit]
grid = 4
coalition_size = 2
max_coalitions = 3
max_participants = 3

[[sweep]]
key = "procurement.budget_fraction"
values = [0.1, 0.4]

[[sweep]]
key = "procurement.providers"
values = [5, 9]
"""

THRESHOLD = {
    "name": "tiny",
    "seed": 1,
    "replicates": 4,
    "mechanisms": ["subsidy", "withdrawal-simultaneous", "withdrawal-small-first"],
    "threshold": {
        "users": 5,
        "threshold_fraction": 0.5,
        "payment": 0.6,
        "floor": 1.0,
        "reserve_price": 1.0,
        "cost": {"distribution": "uniform", "low": 0.0, "high": 1.5},
        "capacity": {"distribution": "uniform", "low": 0.5, "high": 2.0},
    },
    "sweep": [{"key": "threshold.threshold_fraction", "values": [0.2, 0.6, 0.9]}],
}


def same_columns(actual, expected):
    assert list(actual) == list(expected)
    for name in expected:
        assert len(actual[name]) == len(expected[name]), name
        for a, e in zip(actual[name], expected[name]):
            if isinstance(e, float) and math.isnan(e):
                assert isinstance(a, float) and math.isnan(a), name
            else:
                assert a == e, (name, a, e)


def table(text, text_columns):
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    columns = {name: [] for name in header}
    for row in body:
        for name, cell in zip(header, row):
            if name in text_columns:
                value = cell
            elif name in ("cell", "replicate", "n"):
                value = int(cell)
            elif cell == "":
                value = None
            else:
                value = float(cell)
            columns[name].append(value)
    return columns


@pytest.mark.parametrize("config", ["procurement", "threshold"])
def test_results_and_summary_equal_the_cli_files(cli, tmp_path, config):
    if config == "procurement":
        source = TOML
    else:
        result = procura.experiment(THRESHOLD)
        source = result["experiment"]
    path = tmp_path / "experiment.toml"
    path.write_text(source)
    run = cli("experiment", path, "--out", tmp_path / "out", "--threads", "2")
    assert run.returncode == 0, run.stderr
    result = procura.experiment(source)
    results = table((tmp_path / "out" / "results.csv").read_text(), {"mechanism"})
    same_columns(result["results"], results)
    summary = table((tmp_path / "out" / "summary.csv").read_text(), {"mechanism", "metric"})
    # summary.csv leaves a NaN statistic empty; the dict holds NaN.
    for name in ["mean", "sd", "ci_low", "ci_high"]:
        summary[name] = [math.nan if v is None else v for v in summary[name]]
    same_columns(result["summary"], summary)


def test_the_same_records_on_any_thread_count_and_shards():
    whole = procura.experiment(TOML, threads=1)
    assert procura.experiment(TOML, threads=2)["results"] == whole["results"]
    assert procura.experiment(TOML)["results"] == whole["results"]
    parts = [procura.experiment(TOML, shard=f"{i}/3", threads=2) for i in (3, 1, 2)]
    merged = procura.merge(parts)
    assert merged["results"] == whole["results"]
    same_columns(merged["summary"], whole["summary"])
    assert {len(column) for column in whole["results"].values()} == {4 * 5 * 3}


def test_a_dict_is_the_same_experiment_as_its_toml():
    from_dict = procura.experiment(THRESHOLD, threads=2)
    from_text = procura.experiment(from_dict["experiment"], threads=1)
    assert from_dict["results"] == from_text["results"]
    assert from_dict["name"] == "tiny" and from_dict["shard"] == "1/1"
    assert from_dict["results"]["threshold.threshold_fraction"][:1] == [0.2]


def test_merge_refuses_missing_repeated_and_foreign_shards():
    one = procura.experiment(THRESHOLD, shard=(1, 2))
    two = procura.experiment(THRESHOLD, shard=(2, 2))
    other = procura.experiment(dict(THRESHOLD, seed=2), shard=(2, 2))
    with pytest.raises(procura.InputError, match="missing shards 2/2"):
        procura.merge([one])
    with pytest.raises(procura.InputError, match="given twice"):
        procura.merge([one, one, two])
    with pytest.raises(procura.InputError, match="another experiment"):
        procura.merge([one, other])


def test_errors_name_the_key():
    cases = [
        (dict(THRESHOLD, replicates="many"), "replicates"),
        (dict(THRESHOLD, mechanisms=["vickrey"]), "vickrey"),
        (dict(THRESHOLD, sweep=[{"key": "threshold.users", "values": [0]}]), "threshold.users"),
        ("name = ", "string values must be quoted"),
        ({"name": None}, "config"),
    ]
    for config, named in cases:
        with pytest.raises(procura.InputError) as caught:
            procura.experiment(config)
        assert named in str(caught.value), str(caught.value)
    with pytest.raises(procura.InputError, match="shard"):
        procura.experiment(THRESHOLD, shard="3/2")
    with pytest.raises(procura.InputError, match="threads must be at least 1"):
        procura.experiment(THRESHOLD, threads=0)
