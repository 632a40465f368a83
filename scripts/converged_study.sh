#!/usr/bin/env bash
# Issue 32's study in one resumable command, in the order the rules demand:
#   1. irecgan_true's budget curves (scripts/budget_curves.sh --methods=irecgan_true: every
#      variant, 5 seeds, --max_epochs adversarial epochs) and their report (results/budget);
#   2. each log's converged preset by the rule of irecgan.report.preset, from those curves
#      alone: results/budget/converged_<log>.cfg copied to configs/converged/<log>.cfg when that
#      file is missing (a committed preset that differs from the rule's choice is an error: the
#      curves changed; delete the file to accept the new choice);
#   3. the decomposition at convergence (scripts/decomposition.sh --preset=converged: lstm, pg,
#      irecgan_nod, irecgan, irecgan_seq, irecgan_true, 10 seeds, each log at its preset);
#   4. each gap against the budget (python -m irecgan.cli.decomposition --by_budget: the
#      cpu_short decomposition, results/decomposition/gaps.csv, beside the converged one) in
#      results/decomposition_converged/by_budget.
# The compared methods' budget curves (scripts/budget_curves.sh without --methods) are not part
# of it: they never decide anything, and cost far more.
# Killing it and running it again goes on where it stopped (every step skips finished runs).
#
#   scripts/converged_study.sh [--jobs=N] [--datasets="mdp_sharp neural recsim mdp_random"]
#       [--max_epochs=100] [--budget_seeds="1 2 3 4 5"] [--seeds="1 2 ... 10"]
#   SMOKE=1 scripts/converged_study.sh     step 1 only, at toy sizes (toy curves choose no preset)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
DATASETS="mdp_sharp neural recsim mdp_random"
MAX_EPOCHS=100
BUDGET_SEEDS="1 2 3 4 5"
VARIANTS="lr1e-4_r10 lr1e-4_r0.1 lr1e-3_r10 lr1e-3_r0.1"  # the curves' variants (agent lr x mixing)
SEEDS="1 2 3 4 5 6 7 8 9 10"
JOBS=()
for arg in "$@"; do
  case "$arg" in
    --jobs=*) JOBS=("$arg") ;;
    --datasets=*) DATASETS=${arg#*=} ;;
    --max_epochs=*) MAX_EPOCHS=${arg#*=} ;;
    --budget_seeds=*) BUDGET_SEEDS=${arg#*=} ;;
    --seeds=*) SEEDS=${arg#*=} ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "converged_study.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)

echo "== converged_study.sh 1/4: irecgan_true's budget curves"
bash scripts/budget_curves.sh --methods=irecgan_true --datasets="$DATASETS" --variants="$VARIANTS" \
    --seeds="$BUDGET_SEEDS" --max_epochs="$MAX_EPOCHS" ${JOBS[@]+"${JOBS[@]}"}
if [ "${SMOKE:-0}" = 1 ]; then
  echo "converged_study.sh: SMOKE stops after the budget report (toy curves choose no preset)"
  exit 0
fi

echo "== converged_study.sh 2/4: the presets (irecgan.report.preset)"
flags_of() { grep -v '^#' "$1" | grep .; }
for dataset in $DATASETS; do
  missing=0
  for variant in $VARIANTS; do
    for seed in $BUDGET_SEEDS; do
      [ -f "runs/budget/$variant/runs/$dataset/irecgan_true/seed$seed/results.json" ] || missing=$((missing + 1))
    done
  done
  if [ "$missing" -gt 0 ]; then
    echo "converged_study.sh: $dataset: $missing irecgan_true budget runs unfinished: no preset chosen yet"
    continue
  fi
  chosen=results/budget/converged_$dataset.cfg
  committed=configs/converged/$dataset.cfg
  if [ ! -f "$chosen" ]; then
    echo "converged_study.sh: $dataset has no converged preset (results/budget/budget.md says why)"
    continue
  fi
  if [ -f "$committed" ]; then
    if [ "$(flags_of "$chosen")" != "$(flags_of "$committed")" ]; then
      echo "converged_study.sh: $committed differs from the rule's choice $chosen; the curves changed: delete $committed to accept it" >&2
      exit 2
    fi
  else
    mkdir -p configs/converged
    cp "$chosen" "$committed"
    echo "converged_study.sh: $committed written (commit it)"
  fi
done

echo "== converged_study.sh 3/4: the decomposition at convergence"
bash scripts/decomposition.sh --preset=converged --datasets="$DATASETS" --seeds="$SEEDS" \
    ${JOBS[@]+"${JOBS[@]}"}

echo "== converged_study.sh 4/4: each gap against the budget"
"$PY" -m irecgan.cli.decomposition --out=results/decomposition_converged/by_budget \
    --by_budget="cpu_short=results/decomposition/gaps.csv,converged=results/decomposition_converged/gaps.csv"
echo "converged_study.sh: finished in $(( $(date +%s) - start )) s"
