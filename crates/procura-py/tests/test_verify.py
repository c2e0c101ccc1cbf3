"""verify: the specification's worked transcripts (copied from
crates/procura-market/tests/data) verify or fail at their expected rule
and entry, as `procura verify` says."""

import json

import pytest

import procura
from conftest import DATA, load_json

MARKET = DATA / "market"
EXPECTED = load_json(MARKET / "expected.json")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_transcripts_verify_or_fail_where_expected(name):
    text = (MARKET / name).read_text()
    result = procura.verify(text)
    assert set(result) == {"valid", "phase", "rule", "entry", "error"}
    expected = EXPECTED[name]
    assert result["valid"] is expected["valid"]
    if expected["valid"]:
        assert result["phase"] == expected["phase"]
        assert result["rule"] is None and result["entry"] is None and result["error"] is None
    else:
        assert (result["rule"], result["entry"]) == (expected["rule"], expected["entry"])
        assert result["phase"] is None and result["error"]
    # As a dict and as bytes: the same result.
    assert procura.verify(json.loads(text)) == result
    assert procura.verify(text.encode()) == result


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_cli_agrees(cli, name):
    path = MARKET / name
    run = cli("verify", path)
    result = procura.verify(path.read_text())
    if result["valid"]:
        assert run.returncode == 0, run.stderr
        assert f"phase {result['phase']}" in run.stdout
    else:
        assert run.returncode == 1
        entry = f"entry {result['entry']}: " if result["entry"] is not None else ""
        assert f"invalid: {entry}rule {result['rule']}: {result['error']}" in run.stderr


def test_every_transcript_is_covered():
    assert sorted(p.name for p in MARKET.glob("*.transcript.json")) == sorted(EXPECTED)


def test_what_is_not_a_transcript_is_an_input_error():
    for value in ["", "[]", "{}", {"origin": "x"}, b"\xff"]:
        with pytest.raises(procura.InputError):
            procura.verify(value)
    text = (MARKET / "procurement.transcript.json").read_text()
    with pytest.raises(procura.InputError, match=r"receipts\[0\]: not a receipt"):
        procura.verify(text, receipts=[{"index": 0}])


def test_a_receipt_that_does_not_check_fails_verification():
    text = (MARKET / "procurement.transcript.json").read_text()
    transcript = json.loads(text)
    receipt = {
        "index": 0,
        "leaf_hash": "00" * 32,
        "checkpoint": transcript["checkpoint"],
        "inclusion_proof": [],
    }
    result = procura.verify(text, receipts=[json.dumps(receipt)])
    assert result["valid"] is False and result["rule"] is None and result["entry"] == 0
    assert "the receipt for entry 0 does not check" in result["error"]
