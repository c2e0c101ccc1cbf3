"""clear and audit: every golden case of the specification equal to the
command line's output, and every bad instance file of the CLI's tests
refused with the CLI's message."""

import json
import math

import pytest

import procura
from conftest import DATA, cli_message, load_json

GOLDEN = DATA / "golden"
BAD = DATA / "bad"

AUCTIONS = ["qmia", "mut", "mixed", "volume", "trust"]
CASES = [f"{n:03d}" for n in range(6)]
GOLDEN_CASES = [(f"proc-{case}", m) for case in CASES for m in AUCTIONS] + [
    (f"thr-{case}", m) for case in CASES for m in ["subsidy", "withdrawal"]
]


def same_outcome(actual, expected, at=""):
    """The golden comparison of the CLI's tests (crates/procura-cli/tests/
    common): same keys, strings and booleans; numbers to 1e-9 relative, and
    to 1e-6 inside `protocol`."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        assert actual == expected, at
    elif isinstance(expected, (int, float)):
        tolerance = 1e-6 if ".protocol" in at else 1e-9
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), at
        assert math.isclose(actual, expected, rel_tol=tolerance, abs_tol=tolerance), (
            f"{at}: {actual} vs {expected}"
        )
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), at
        for k, (a, e) in enumerate(zip(actual, expected)):
            same_outcome(a, e, f"{at}[{k}]")
    else:
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), at
        for key in expected:
            same_outcome(actual[key], expected[key], f"{at}.{key}")


@pytest.mark.parametrize("case,mechanism", GOLDEN_CASES)
def test_golden_cases_match_the_expected_outcomes(case, mechanism):
    instance = load_json(GOLDEN / f"{case}.json")
    expected = load_json(GOLDEN / f"{case}.{mechanism}.expected.json")
    from_dict = procura.clear(instance, mechanism)
    same_outcome(from_dict, expected, f"{case} {mechanism}")
    # The same instance as JSON text (str and bytes) gives the same outcome.
    text = (GOLDEN / f"{case}.json").read_text()
    assert procura.clear(text, mechanism) == from_dict
    assert procura.clear(text.encode(), mechanism) == from_dict


def test_every_golden_case_is_covered():
    instances = sorted(p.name for p in GOLDEN.glob("*.json") if ".expected" not in p.name)
    assert instances == sorted(f"{case}.json" for case in {c for c, _ in GOLDEN_CASES})
    expected = sorted(p.name for p in GOLDEN.glob("*.expected.json"))
    assert expected == sorted(f"{c}.{m}.expected.json" for c, m in GOLDEN_CASES)


@pytest.mark.parametrize("case,mechanism", GOLDEN_CASES)
def test_golden_cases_equal_the_cli_output(cli, case, mechanism):
    path = GOLDEN / f"{case}.json"
    run = cli("clear", path, "--mechanism", mechanism)
    assert run.returncode == 0, run.stderr
    # Equal as parsed JSON: every number the same double.
    assert procura.clear(load_json(path), mechanism) == json.loads(run.stdout)


def test_protocol_overrides_the_instance(cli):
    path = GOLDEN / "thr-001.json"
    for protocol in ["simultaneous", "small-first", "large-first"]:
        run = cli("clear", path, "--mechanism", "withdrawal", "--protocol", protocol)
        assert run.returncode == 0, run.stderr
        outcome = procura.clear(load_json(path), "withdrawal", protocol=protocol)
        assert outcome == json.loads(run.stdout)
        named = procura.clear(load_json(path), f"withdrawal-{protocol}")
        assert named == outcome


# The CLI's bad files and the messages its tests expect
# (crates/procura-cli/tests/cli.rs and threshold_cli.rs).
BAD_PROCUREMENT = [
    ("empty", "qmia", "empty input, expected a JSON object"),
    ("truncated", "qmia", "EOF while parsing"),
    ("top-array", "qmia", "expected a JSON object at the top level"),
    ("providers-object", "qmia", "providers: invalid type: map, expected a sequence"),
    ("provider-array", "qmia", "provider #0: invalid type: sequence, expected an object"),
    ("huge-number", "qmia", "budget: number out of range"),
    (
        "underflow",
        "qmia",
        'provider "tiny" (#1): bid: 1e-400 is not zero, but below the smallest double '
        "(about 4.9e-324): it would read as 0",
    ),
    ("nan", "qmia", "provider #0: bid: expected value"),
    ("string-bid", "qmia", 'provider "acme" (#0): bid: invalid type: string "2", expected f64'),
    ("unknown-provider-field", "qmia", 'provider "acme" (#0): colour: unknown field `colour`'),
    ("unknown-top-field", "qmia", "currency: unknown field `currency`"),
    ("missing-utility", "qmia", 'provider "acme" (#0): missing field `utility`'),
    ("missing-budget", "qmia", "missing field `budget`"),
    ("null-volume", "qmia", 'provider "acme" (#0): volume: invalid type: null, expected f64'),
    ("duplicate-key", "qmia", 'provider "acme" (#0): duplicate field `bid`'),
    ("duplicate-id", "qmia", 'provider "acme" (#1): id is a duplicate of provider #0'),
    ("empty-id", "qmia", "provider #0: id is empty"),
    ("negative-bid", "qmia", 'provider "acme" (#0): bid -2 is negative'),
    ("quality-above-one", "qmia", 'provider "acme" (#0): quality 1.5 is outside [0, 1]'),
    ("zero-budget", "qmia", "budget 0 is not > 0"),
    ("liquidity-above-one", "qmia", "liquidity 2 is outside [0, 1]"),
    ("trailing", "qmia", "trailing characters"),
    ("integer-id", "qmia", "provider #0: id: invalid type: integer `7`, expected a string"),
    ("no-token-budget", "mut", "cannot clear with mut: token_budget is required by mut"),
]
BAD_THRESHOLD = [
    ("negative-cost", "withdrawal", 'user "u1" (#0): cost -1 is negative'),
    ("zero-capacity", "withdrawal", 'user "u1" (#0): capacity 0 is not > 0'),
    ("bad-protocol", "withdrawal", "protocol: unknown variant `random`"),
    ("belief-above-one", "withdrawal", "belief 1.5 is outside [0, 1]"),
    ("unknown-user-field", "withdrawal", 'user "u1" (#0): age: unknown field `age`'),
    ("missing-threshold", "withdrawal", "missing field `threshold`"),
    ("duplicate-user", "withdrawal", 'user "u1" (#1): id is a duplicate of user #0'),
    ("no-reserve", "withdrawal", "reserve_price is required by withdrawal"),
    ("no-reserve", "subsidy", "payment is required by subsidy"),
    ("nan-benefit", "withdrawal", "user #0: benefit: expected value"),
    ("string-cost", "withdrawal", 'user "u1" (#0): cost: invalid type: string "1", expected f64'),
]
BAD_CASES = [(BAD / f"{f}.json", m, e) for f, m, e in BAD_PROCUREMENT] + [
    (BAD / "threshold" / f"{f}.json", m, e) for f, m, e in BAD_THRESHOLD
]


def test_every_bad_file_is_listed():
    listed = {path.resolve() for path, _, _ in BAD_CASES}
    files = set(p.resolve() for p in BAD.glob("*.json")) | set(
        p.resolve() for p in (BAD / "threshold").glob("*.json")
    )
    assert files == listed


@pytest.mark.parametrize("path,mechanism,expected", BAD_CASES, ids=lambda v: str(v)[-40:])
def test_bad_files_raise_the_cli_message(path, mechanism, expected):
    text = path.read_bytes()
    with pytest.raises(ValueError) as caught:
        procura.clear(text, mechanism)
    assert isinstance(caught.value, procura.InputError)
    assert expected in str(caught.value), str(caught.value)


@pytest.mark.parametrize("path,mechanism,expected", BAD_CASES, ids=lambda v: str(v)[-40:])
def test_bad_files_raise_exactly_what_the_cli_prints(cli, path, mechanism, expected):
    run = cli("clear", path, "--mechanism", mechanism)
    assert run.returncode == 2 and run.stdout == ""
    with pytest.raises(procura.InputError) as caught:
        procura.clear(path.read_bytes(), mechanism)
    assert str(caught.value) == cli_message(run.stderr, path)


def test_a_dict_with_a_nan_is_refused_like_the_file():
    instance = load_json(GOLDEN / "proc-000.json")
    instance["providers"][0]["bid"] = float("nan")
    with pytest.raises(procura.InputError, match="bid: expected value"):
        procura.clear(instance, "qmia")


def test_an_instance_of_the_other_market_is_named(cli):
    path = GOLDEN / "thr-000.json"
    run = cli("clear", path, "--mechanism", "qmia")
    with pytest.raises(procura.InputError) as caught:
        procura.clear(load_json(path), "qmia")
    assert str(caught.value) == cli_message(run.stderr, path)
    assert "this is a threshold instance" in str(caught.value)


def test_unknown_mechanisms_and_protocols_are_refused():
    instance = load_json(GOLDEN / "proc-000.json")
    with pytest.raises(procura.InputError, match='unknown mechanism "vickrey"'):
        procura.clear(instance, "vickrey")
    with pytest.raises(procura.InputError, match='unknown protocol "random"'):
        procura.clear(load_json(GOLDEN / "thr-000.json"), "withdrawal", protocol="random")
    with pytest.raises(procura.InputError, match="protocol applies only to withdrawal"):
        procura.clear(instance, "qmia", protocol="small-first")
    with pytest.raises(procura.InputError, match="cannot be written as JSON"):
        procura.clear({"budget": object()}, "qmia")


def test_hostile_values_do_not_crash():
    for value in [None, 1, [], {"providers": None}, b"\xff\xfe", "{" * 100000, "[" * 100000]:
        with pytest.raises(ValueError):
            procura.clear(value, "qmia")
    with pytest.raises(TypeError):
        procura.clear("{}", 7)
    circular = {"budget": 1.0}
    circular["providers"] = [circular]
    with pytest.raises(procura.InputError, match="Circular reference"):
        procura.clear(circular, "qmia")
    deep = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(procura.InputError):
        procura.clear({"budget": 1.0, "providers": deep}, "qmia")


def test_a_dict_reads_as_its_json_text():
    """Whatever json.dumps writes: big integers, numpy floats, tuples,
    non-string keys, escapes."""
    import numpy as np

    base = load_json(GOLDEN / "proc-002.json")
    variants = [
        dict(base, budget=np.float64(base["budget"])),
        dict(base, providers=tuple(base["providers"])),
        dict(base, providers=[dict(p, id=p["id"] + '\u00e9"\\') for p in base["providers"]]),
        dict(base, budget=10**30),
        {**base, 7: 1},
    ]
    for variant in variants:
        text = json.dumps(variant)
        try:
            expected = procura.clear(text, "qmia")
        except procura.InputError as error:
            with pytest.raises(procura.InputError) as caught:
                procura.clear(variant, "qmia")
            assert str(caught.value) == str(error)
        else:
            assert procura.clear(variant, "qmia") == expected


@pytest.mark.parametrize(
    "case,mechanism",
    [(f"proc-{c}", m) for c in ["000", "003", "005"] for m in ["qmia", "mixed", "volume", "trust"]]
    + [("thr-002", "withdrawal")],
)
def test_audit_equals_the_cli_report(cli, case, mechanism):
    path = GOLDEN / f"{case}.json"
    args = ["--grid", "16", "--coalition-size", "2", "--max-coalitions", "50", "--seed", "3"]
    run = cli("audit", path, "--mechanism", mechanism, *args)
    assert run.returncode == 0, run.stderr
    report = procura.audit(
        load_json(path), mechanism, grid=16, coalition_size=2, max_coalitions=50, seed=3
    )
    assert report == cli_report(run.stdout, path)
    # The seed is a string (JSON readers round integers above 2**53), and a
    # string seed is read as the same seed.
    assert report["search"]["seed"] == "3"
    again = procura.audit(
        load_json(path), mechanism, grid=16, coalition_size=2, max_coalitions=50, seed="3"
    )
    assert again == report


def cli_report(stdout, path):
    """The CLI's audit report as Python's: `INSTANCE` in its replay command
    where the CLI names the instance's file."""
    expected = json.loads(stdout)
    assert str(path) in expected["replay"], expected["replay"]
    expected["replay"] = expected["replay"].replace(str(path), "INSTANCE", 1)
    return expected


def test_audit_defaults_are_the_cli_defaults(cli):
    path = GOLDEN / "proc-001.json"
    run = cli("audit", path, "--mechanism", "volume")
    assert run.returncode == 0, run.stderr
    report = procura.audit(path.read_text(), "volume")
    assert report == cli_report(run.stdout, path)
    assert report["search"] == {
        "grid": 64,
        "coalition_size": 2,
        "max_coalitions": 2000,
        "max_participants": None,
        "seed": "0",
        "sampled": False,
    }
    assert report["replay"] == (
        "procura audit INSTANCE --mechanism volume --grid 64 --coalition-size 2 "
        "--max-coalitions 2000 --seed 0"
    )


def test_a_seed_above_2_to_the_53_survives_the_round_trip(cli):
    path = GOLDEN / "proc-000.json"
    seed = 2**64 - 1
    run = cli("audit", path, "--mechanism", "qmia", "--grid", "4", "--max-participants", "1",
              "--seed", str(seed))
    assert run.returncode == 0, run.stderr
    expected = cli_report(run.stdout, path)
    assert expected["search"]["seed"] == str(seed)
    for given in (seed, str(seed), f'"{seed}"'):
        report = procura.audit(load_json(path), "qmia", grid=4, max_participants=1, seed=given)
        assert report == expected, given


def test_audit_errors():
    instance = load_json(GOLDEN / "proc-000.json")
    with pytest.raises(procura.InputError, match="grid: 0 is not between 1 and"):
        procura.audit(instance, "qmia", grid=0)
    with pytest.raises(procura.InputError, match="coalition_size: 9 is not between 1 and 8"):
        procura.audit(instance, "qmia", coalition_size=9)
    with pytest.raises(procura.InputError, match="subsidy cannot be audited"):
        procura.audit(load_json(GOLDEN / "thr-000.json"), "subsidy")
    with pytest.raises(TypeError):
        procura.audit(instance, "qmia", 16)  # keyword-only
    with pytest.raises(procura.InputError, match="^seed: "):
        procura.audit(instance, "qmia", seed="x")


def test_clear_arguments_after_the_star_are_keyword_only():
    with pytest.raises(TypeError):
        procura.clear(load_json(GOLDEN / "thr-000.json"), "withdrawal", "simultaneous")
