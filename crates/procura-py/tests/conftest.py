"""Shared helpers of the procura package's tests.

The tests compare the package with the `procura` command line where one is
at hand: the binary named by $PROCURA_BIN, else target/release/procura or
target/debug/procura of this repository. With $PROCURA_REQUIRE_CLI=1 (as
run-tests.sh sets it) a missing binary fails those tests instead of
skipping them.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
REPO = HERE.parents[2]


def cli_path():
    named = os.environ.get("PROCURA_BIN")
    if named:
        return Path(named)
    for profile in ("debug", "release"):
        path = REPO / "target" / profile / "procura"
        if path.exists():
            return path
    return None


@pytest.fixture(scope="session")
def cli():
    """A function running the `procura` binary: cli(*args) -> CompletedProcess."""
    path = cli_path()
    if path is None or not path.exists():
        if os.environ.get("PROCURA_REQUIRE_CLI") == "1":
            pytest.fail("no procura binary: build it with `cargo build -p procura-cli`")
        pytest.skip("no procura binary (set PROCURA_BIN or build procura-cli)")

    def run(*args, stdin=None):
        return subprocess.run(
            [str(path), *map(str, args)],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )

    return run


def cli_message(stderr, source):
    """The CLI's message without `error: SOURCE: ` before it."""
    line = stderr.strip()
    prefix = f"error: {source}: "
    assert line.startswith(prefix), line
    return line[len(prefix):]


def load_json(path):
    with open(path) as f:
        return json.load(f)
