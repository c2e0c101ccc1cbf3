#!/usr/bin/env bash
# Runs the Slurm launchers without Slurm: every array task of
# experiment.sbatch in turn, with the variables Slurm would set, then
# merge.sbatch. For checking the scripts on a machine without Slurm.
#
#   EXPERIMENT=sweep.toml OUT=/tmp/run SHARDS=4 PROCURA=target/release/procura \
#       launchers/slurm/simulate.sh
#
# SLURM_CPUS_PER_TASK (default 1) becomes each task's --threads. The result
# is in OUT/merged (or MERGED).

set -euo pipefail

: "${EXPERIMENT:?set EXPERIMENT}"
: "${OUT:?set OUT}"
: "${SHARDS:?set SHARDS}"
here="$(cd "$(dirname "$0")" && pwd)"

export EXPERIMENT OUT SHARDS
export SLURM_ARRAY_JOB_ID="${SLURM_ARRAY_JOB_ID:-$$}"
export SLURM_ARRAY_TASK_COUNT="$SHARDS"
export SLURM_ARRAY_TASK_MIN=1
export SLURM_ARRAY_TASK_MAX="$SHARDS"
export SLURM_CPUS_PER_TASK="${SLURM_CPUS_PER_TASK:-1}"

for ((task = 1; task <= SHARDS; task++)); do
    SLURM_ARRAY_TASK_ID="$task" bash "$here/experiment.sbatch"
done
bash "$here/merge.sbatch"
