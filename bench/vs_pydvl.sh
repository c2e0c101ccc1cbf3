#!/usr/bin/env bash
# Side-by-side benchmark of `procura value` against pyDVL 0.10.0.
#
#   bench/vs_pydvl.sh            # from the repository root
#
# Creates a virtualenv (~/.cache/procura-pydvl-venv, or $PYDVL_VENV if set) with pydvl==0.10.0,
# scikit-learn 1.9.1 and NumPy 1.26 (the versions BENCHMARKS.md records; an
# existing virtualenv with other versions gets a warning), builds procura in
# release mode, writes the same CSV files
# for both tools (bench/pydvl_run.py generate), runs both in this session and
# reports wall time, peak memory (maximum resident set size) and the largest
# difference between their values. Cases:
#
#   1. exact KNN-Shapley, 10,000 train x 500 test, 20 features, k = 5;
#   2. provider-level MSR-Banzhaf, logistic regression (C = 1, l2 = 1),
#      2,000 rows, 20 providers, 500 test rows, 500 samples; the two tools
#      sample differently, so both are also compared with a 20,000-sample
#      procura reference;
#   3. provider-level leave-one-out on the same data (exact): checks that
#      the two tools' utilities (logistic-regression accuracy) agree.
#
# Each tool runs once single-threaded (pyDVL's default, n_jobs = 1;
# procura --threads 1) and once on every core. Needs python3 (with venv),
# cargo and GNU time (/usr/bin/time, for peak memory). Not part of CI.
set -euo pipefail

pydvl_version="0.10.0"
sklearn_version="1.9.1"
numpy_version="1.26"

if [ ! -x /usr/bin/time ]; then
    echo "error: /usr/bin/time (GNU time) is needed to measure peak memory;" \
        "install it (Debian/Ubuntu: apt-get install time)" >&2
    exit 1
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${PYDVL_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/procura-pydvl-venv}"
work="${BENCH_DIR:-$(mktemp -d)}"
cores="$(nproc)"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "pydvl==$pydvl_version" \
        "scikit-learn==$sklearn_version" "numpy==$numpy_version.*"
fi
python="$venv/bin/python"
installed="$("$python" -c 'import importlib.metadata as m; print(m.version("pydvl"), m.version("scikit-learn"), m.version("numpy"))')"
read -r have_pydvl have_sklearn have_numpy <<<"$installed"
if [ "$have_pydvl" != "$pydvl_version" ] || [ "$have_sklearn" != "$sklearn_version" ] ||
    [ "${have_numpy%.*}" != "$numpy_version" ]; then
    echo "warning: $venv has pydvl $have_pydvl, scikit-learn $have_sklearn, numpy $have_numpy;" \
        "BENCHMARKS.md records pydvl $pydvl_version, scikit-learn $sklearn_version, numpy $numpy_version" >&2
fi

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p procura-cli
procura="${CARGO_TARGET_DIR:-$root/target}/release/procura"

"$python" "$root/bench/pydvl_run.py" generate "$work"
# pyDVL prints deprecation warnings of its own dependencies.
export PYTHONWARNINGS=ignore

# Runs a command, prints "wall <s> peak <MiB>" and, for pyDVL, its fit time.
measure() {
    local label="$1"
    shift
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr"
    read -r wall kib <"$work/time"
    local fit
    fit="$(grep '^fit ' "$work/stderr" | cut -d' ' -f2 || true)"
    # KiB to MiB with one decimal, in shell arithmetic.
    local mib="$((kib / 1024)).$(((kib % 1024) * 10 / 1024))"
    printf '%-34s wall %7.2f s   peak %7.1f MiB%s\n' "$label" "$wall" \
        "$mib" "${fit:+   (fit alone $fit s)}"
}

# Says whether procura wrote the same bytes on 1 thread and on every core.
same_bytes() {
    if cmp -s "$1" "$2"; then
        echo "procura: same bytes on 1 thread and on $cores"
    else
        echo "warning: procura's output differs between 1 thread and $cores: $1 vs $2" >&2
    fi
}

echo "== exact KNN-Shapley: 10,000 x 500, 20 features, k = 5 ($cores cores)"
measure "pyDVL, n_jobs=1" "$python" "$root/bench/pydvl_run.py" knn "$work" "$work/pydvl-knn.csv" 1
measure "pyDVL, n_jobs=$cores" "$python" "$root/bench/pydvl_run.py" knn "$work" "$work/pydvl-knn-par.csv" "$cores"
measure "procura, --threads 1" "$procura" value --method knn-shapley --k 5 --threads 1 \
    --train "$work/knn-train.csv" --test "$work/knn-test.csv" --out "$work/procura-knn-1.csv"
measure "procura, all cores" "$procura" value --method knn-shapley --k 5 \
    --train "$work/knn-train.csv" --test "$work/knn-test.csv" --out "$work/procura-knn.csv"
same_bytes "$work/procura-knn-1.csv" "$work/procura-knn.csv"
"$python" "$root/bench/pydvl_run.py" compare "$work/pydvl-knn.csv" "$work/procura-knn.csv"

echo
echo "== provider-level MSR-Banzhaf, logistic regression: 2,000 rows, 20 providers, 500 samples"
measure "pyDVL, n_jobs=1" "$python" "$root/bench/pydvl_run.py" msr "$work" "$work/pydvl-msr.csv" 1 500
measure "pyDVL, n_jobs=$cores" "$python" "$root/bench/pydvl_run.py" msr "$work" "$work/pydvl-msr-par.csv" "$cores" 500
measure "procura, --threads 1" "$procura" value --method banzhaf-msr --model logreg --l2 1 \
    --samples 500 --seed 1 --threads 1 --provider-column provider \
    --train "$work/msr-train.csv" --test "$work/msr-test.csv" --out "$work/procura-msr-1.csv"
measure "procura, all cores" "$procura" value --method banzhaf-msr --model logreg --l2 1 \
    --samples 500 --seed 1 --provider-column provider \
    --train "$work/msr-train.csv" --test "$work/msr-test.csv" --out "$work/procura-msr.csv"
same_bytes "$work/procura-msr-1.csv" "$work/procura-msr.csv"
echo "The tools draw different samples, so their values differ by Monte-Carlo error."
echo "pyDVL (500 samples) against procura (500 samples):"
"$python" "$root/bench/pydvl_run.py" compare "$work/pydvl-msr.csv" "$work/procura-msr.csv"
"$procura" value --method banzhaf-msr --model logreg --l2 1 --samples 20000 --seed 2 \
    --provider-column provider --train "$work/msr-train.csv" --test "$work/msr-test.csv" \
    --out "$work/reference-msr.csv" >/dev/null
echo "pyDVL (500 samples) against a 20,000-sample procura reference:"
"$python" "$root/bench/pydvl_run.py" compare "$work/pydvl-msr.csv" "$work/reference-msr.csv"
echo "procura (500 samples) against the same reference:"
"$python" "$root/bench/pydvl_run.py" compare "$work/procura-msr.csv" "$work/reference-msr.csv"

echo
echo "== same utility: provider-level leave-one-out, logistic regression (exact, no sampling)"
measure "pyDVL (lbfgs, tol 1e-10)" "$python" "$root/bench/pydvl_run.py" loo "$work" "$work/pydvl-loo.csv"
measure "procura" "$procura" value --method loo --model logreg --l2 1 --provider-column provider \
    --train "$work/msr-train.csv" --test "$work/msr-test.csv" --out "$work/procura-loo.csv"
"$python" "$root/bench/pydvl_run.py" compare "$work/pydvl-loo.csv" "$work/procura-loo.csv"
echo
echo "files in $work"
