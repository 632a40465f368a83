#!/usr/bin/env bash
# Issue 34's measurement: the agent objectives beyond the paper's (docs/OBJECTIVES.md) at each
# log's converged preset (run_sim.sh --preset=converged, configs/converged/<log>.cfg; logs
# without one are left out), against the paper objective's runs of the decomposition at
# convergence (scripts/decomposition.sh --preset=converged, runs/decomposition_converged),
# which are the same runs this script would make for `paper` (same preset, same seeds).
#   1. per objective, run_sim.sh --preset=converged --train_flags="--agent_objective=OBJ" with
#      its own tree runs/objectives/OBJ (default: irecgan_true only, 10 seeds);
#   2. the report (python -m irecgan.cli.decomposition) of those runs beside the paper
#      objective's: per objective, gap (a) ceiling - irecgan_true@OBJ (Welch), and (o@OBJ)
#      irecgan_true@OBJ - irecgan_true (paired by seed), with 95 % CIs and % of the headroom;
#      with more methods (--methods), the decomposition's gaps among the methods trained with OBJ;
#      before it, U's fit and U's answers to the agent's own lists (irecgan-evaluate --user_fit,
#      --model_value, scripts/lib/user_figures.sh) for every finished run with U lacking them
#      (not with --report_only), as decomposition.sh makes them;
#   3. every method's online reward per adversarial epoch (finished runs only; mean, 95 % CI)
#      in OUT/curves
#      (python -m irecgan.cli.budget), with the budget rule applied to each objective's own
#      irecgan_true@OBJ as to the paper objective's irecgan_true (it never picks a preset).
# --adv_epochs=N trains every run for N adversarial epochs instead of the preset's (a longer
# budget: give its own --runs and --out); the paper objective is then run too (`paper`, in
# RUNS/paper), as the preset's runs of PAPER_RUNS have the preset's budget.
# Killing it and running it again finishes only what is missing.
#
#   scripts/objectives_study.sh                     advantage, slate, topk_correction; irecgan_true
#   scripts/objectives_study.sh --objectives="slate+paper_logged+paper_own paper+T0.5"
#                                                   variants: NAME[+MOD...], MOD paper_logged
#                                                   (--logged_term=paper), paper_own
#                                                   (--own_clicks=paper), T<t> (--gen_temperature)
#   scripts/objectives_study.sh --objectives=slate --methods="pg irecgan_nod irecgan irecgan_seq irecgan_true"
#                                                   the decomposition for one objective
#   scripts/objectives_study.sh --adv_epochs=200 --objectives="paper slate" --seeds="1 2 3 4 5" \
#       --runs=runs/objectives_long --out=results/objectives_long
#                                                   a longer budget, the paper objective's too
# Options: --objectives="advantage slate topk_correction"  --methods="irecgan_true"
#          --datasets="mdp_sharp neural recsim"  --seeds="1 2 ... 10"  --jobs=N
#          --runs=DIR (default runs/objectives)  --out=DIR (default results/objectives)
#          --paper_runs=DIR (default runs/decomposition_converged)  --adv_epochs=N
#          --report_only  --dry_run
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/user_figures.sh  # U's fit and model_value of finished runs
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
OBJECTIVES="advantage slate topk_correction"
METHODS="irecgan_true"
DATASETS="mdp_sharp neural recsim"
SEEDS="1 2 3 4 5 6 7 8 9 10"
RUNS=runs/objectives
OUT=results/objectives
PAPER_RUNS=runs/decomposition_converged
PASS=()
DRY_RUN=0
ADV_EPOCHS=""
JOBS=$(nproc 2>/dev/null || echo 2)
REPORT_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --objectives=*) OBJECTIVES=${arg#*=} ;;
    --methods=*) METHODS=${arg#*=} ;;
    --datasets=*) DATASETS=${arg#*=} ;;
    --seeds=*) SEEDS=${arg#*=} ;;
    --runs=*) RUNS=${arg#*=} ;;
    --out=*) OUT=${arg#*=} ;;
    --paper_runs=*) PAPER_RUNS=${arg#*=} ;;
    --adv_epochs=*) ADV_EPOCHS=${arg#*=}
                    case "$ADV_EPOCHS" in ''|*[!0-9]*|0)
                      echo "objectives_study.sh: --adv_epochs must be a positive integer, got '$ADV_EPOCHS'" >&2; exit 2 ;;
                    esac ;;
    --jobs=*) JOBS=${arg#*=}; PASS+=("$arg") ;;
    --report_only) REPORT_ONLY=1; PASS+=("$arg") ;;
    --dry_run) DRY_RUN=1; PASS+=("--launcher=slurm" "$arg") ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "objectives_study.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
# an objective is NAME[+MOD...]: NAME paper, advantage, slate or topk_correction; MOD
# paper_logged (--logged_term=paper; advantage, slate), paper_own (--own_clicks=paper; slate) or
# T<t> (--gen_temperature=t);
# `paper` alone is PAPER_RUNS's runs (at --adv_epochs=N it is run). objective_flags prints the
# training flags, or fails.
objective_flags() {
  local name=${1%%+*} rest flags mod
  case "$name" in paper|advantage|slate|topk_correction) ;; *) return 1 ;; esac
  [ "$1" != paper ] || [ -n "$ADV_EPOCHS" ] || return 1
  flags="--agent_objective=$name${ADV_EPOCHS:+ --adv_epochs=$ADV_EPOCHS}"
  rest=${1#"$name"}
  IFS=+ read -r -a mods <<< "${rest#+}"
  for mod in ${mods[@]+"${mods[@]}"}; do
    case "$mod" in
      paper_logged) case "$name" in advantage|slate) ;; *) return 1 ;; esac
                    flags="$flags --logged_term=paper" ;;
      paper_own) [ "$name" = slate ] || return 1; flags="$flags --own_clicks=paper" ;;
      T[0-9]*) flags="$flags --gen_temperature=${mod#T}" ;;
      *) return 1 ;;
    esac
  done
  echo "$flags"
}
for objective in $OBJECTIVES; do
  if ! objective_flags "$objective" > /dev/null; then
    echo "objectives_study.sh: unknown objective $objective (NAME[+MOD...]: NAME advantage, slate, topk_correction or paper, MOD paper_logged, paper_own or T<t>; paper alone is $PAPER_RUNS's runs)" >&2
    exit 2
  fi
done
LOGS=""
for dataset in $DATASETS; do
  if [ ! -f "configs/converged/$dataset.cfg" ]; then
    echo "objectives_study.sh: $dataset left out: no converged preset (configs/converged/$dataset.cfg)"
    continue
  fi
  LOGS="$LOGS${LOGS:+ }$dataset"
done
[ -n "$LOGS" ] || { echo "objectives_study.sh: no log with a converged preset in --datasets=$DATASETS" >&2; exit 2; }
start=$(date +%s)

for objective in $OBJECTIVES; do
  bash ./run_sim.sh --preset=converged --runs="$RUNS/$objective" --out="$OUT/sim/$objective" \
      --methods="$METHODS" --datasets="$LOGS" --seeds="$SEEDS" \
      --train_flags="$(objective_flags "$objective")" ${PASS[@]+"${PASS[@]}"}
done
if [ "$DRY_RUN" = 1 ]; then
  echo "objectives_study.sh: --dry_run: no report"
  exit 0
fi

dirs=()
LOGGING=""
for dataset in $LOGS; do
  case "$dataset" in neural) logging=logging ;; *) logging=random ;; esac
  LOGGING=$LOGGING${LOGGING:+,}$dataset=$logging
  if [ -z "$ADV_EPOCHS" ]; then   # the paper objective's runs of the methods asked for
    for method in $METHODS; do
      [ -d "$PAPER_RUNS/runs/$dataset/$method" ] && dirs+=("$PAPER_RUNS/runs/$dataset/$method")
    done
  fi
  for objective in $OBJECTIVES; do   # the methods asked for only (a tree may hold others')
    for method in $METHODS; do
      [ -d "$RUNS/$objective/runs/$dataset/$method" ] && dirs+=("$RUNS/$objective/runs/$dataset/$method")
    done
  done
done
[ "${#dirs[@]}" -gt 0 ] || { echo "objectives_study.sh: no runs of $OBJECTIVES in $RUNS" >&2; exit 1; }
user_figures objectives_study.sh "$PY" "$JOBS" "$REPORT_ONLY" "${dirs[@]}"
first=${OBJECTIVES%% *}
"$PY" -m irecgan.cli.decomposition --out="$OUT" --policy_rows="$OUT/sim/$first/policy_rows.json" \
    --logging_policy="$LOGGING" \
    --title="Agent objectives at the converged preset ($(echo $OBJECTIVES | sed 's/ /, /g'); $(echo $METHODS | tr ' ' ','); seeds: $SEEDS)" \
    "${dirs[@]}"
"$PY" -m irecgan.cli.budget --out="$OUT/curves" --policy_rows="$OUT/sim/$first/policy_rows.json" \
    --logging_policy="$LOGGING" --finished_only \
    --title="Online reward per adversarial epoch, agent objectives ($(echo $METHODS | tr ' ' ','); seeds: $SEEDS)" \
    "${dirs[@]}" > /dev/null
echo "objectives_study.sh: finished in $(( $(date +%s) - start )) s; $OUT/gaps.md"
