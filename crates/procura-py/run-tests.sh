#!/usr/bin/env bash
# Tests of the Python package, as a user installs it: a fresh virtualenv in
# a temporary folder, `pip install ./crates/procura-py pytest numpy` (pip
# fetches maturin, maturin builds the extension in release mode with
# cargo --locked), then pytest on crates/procura-py/tests.
#
#   crates/procura-py/run-tests.sh [PYTEST ARGS...]
#
# The tests compare the package with the `procura` binary: $PROCURA_BIN,
# else target/debug/procura, built here when missing (`cargo build -p
# procura-cli`, a no-op after `cargo test --workspace`); they fail, rather
# than skip, without it. $PYTHON picks the interpreter (default python3,
# ≥ 3.9). Needs Rust, CPython with venv, and pip's registry.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

start=$SECONDS
"$python" -m venv "$work/venv"
# maturin's PEP 517 build takes cargo's --locked from here, as CI's cargo
# commands have it: Cargo.lock must already hold every dependency.
MATURIN_PEP517_ARGS="--locked" \
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    "$root/crates/procura-py" pytest numpy
echo "procura-py: installed in a fresh virtualenv in $((SECONDS - start)) s"

if [ -z "${PROCURA_BIN:-}" ]; then
    cargo build --quiet --locked -p procura-cli --manifest-path "$root/Cargo.toml"
    export PROCURA_BIN="$root/target/debug/procura"
fi
export PROCURA_REQUIRE_CLI=1

# From the tests' folder, so that `import procura` is the installed
# package, never a folder of the work tree.
cd "$root/crates/procura-py/tests"
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$@" .
echo "procura-py: $((SECONDS - start)) s in all"
