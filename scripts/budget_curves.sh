#!/usr/bin/env bash
# Issue 32's budget curves: online reward against the adversarial epoch for irecgan_true,
# irecgan_nod, irecgan (the authors' D head) and irecgan_seq (irecgan --d_head=sequence) on the
# logs mdp_sharp, neural, recsim (where its extra imports) and mdp_random, for each variant
# agent lr x mixing: lr1e-4_r10 (the paper's lr and offline_ratio), lr1e-4_r0.1, lr1e-3_r10,
# lr1e-3_r0.1. Every run evaluates online after each adversarial epoch, so one run at the
# largest budget (--max_epochs) gives the whole curve. Each variant is one run_sim.sh call with
# its own tree:
#   run_sim.sh --runs=RUNS/<variant> --methods="irecgan_true irecgan_nod irecgan irecgan_seq"
#       --train_flags="--agent_lr=LR --offline_ratio=R --adv_epochs=MAX" ...
# then pg once per log at its own budget (RUNS/pg: --agent_epochs=PG_EPOCHS, online reward
# after every agent epoch), then the report (python -m irecgan.cli.budget): OUT/budget.md
# (per log and variant the budget the rule of irecgan.report.budget picks from irecgan_true's
# curves alone, and the measurement behind it), OUT/budget.csv (the curves: mean and 95 % CI
# over seeds per epoch) and OUT/<log>_budget.png (a panel per variant; ceiling, logging policy
# and pg's final reward as labelled lines; the policy rows come from run_sim.sh's report of
# the first variant, OUT/sim/<variant>/policy_rows.json). The rule is in docs/RESULTS.md.
#
#   scripts/budget_curves.sh                 everything at the cpu_short preset, 5 seeds
#   SMOKE=1 scripts/budget_curves.sh         toy sizes, 2 seeds, --max_epochs=4, --pg_epochs=4
#                                            (run_sim.sh's SMOKE: runs in RUNS_smoke, whose
#                                            variant trees run_sim.sh names <variant>_smoke, the
#                                            report in OUT_smoke)
# Options: --seeds="1 2 3 4 5"  --datasets="mdp_sharp neural recsim mdp_random"
#          --methods="irecgan_true irecgan_nod irecgan irecgan_seq pg" (the default; e.g.
#          --methods=irecgan_true for the preset rule's input alone; pg only when listed)
#          --max_epochs=100 (adversarial epochs of every run)  --pg_epochs=100 (pg's agent
#          epochs)  --variants="lr1e-4_r10 lr1e-4_r0.1 lr1e-3_r10 lr1e-3_r0.1" (any
#          lr<LR>_r<RATIO>)  --runs=DIR (default runs/budget)  --out=DIR (default
#          results/budget)  --preset=cpu_short|cpu|paper  --data_dir=DIR (default data/sim)
#          --report_only
#          and run_sim.sh's launcher options: --jobs=N  --gpus=0,1  --launcher=slurm
#          --slurm_args=...  --slurm_gres=...  --slurm_exec=...  --slurm_signal=N  --dry_run.
#          With --launcher=slurm every variant's runs are submitted and the script stops; run it
#          again when the arrays are done for the report.
# Killing it and running it again finishes the remaining runs only (run_sim.sh skips finished
# runs and resumes unfinished ones). A run made with another --max_epochs is refused by the
# trainer, which names the difference: give another --runs.
# Expected run time: not measured yet (runs x their wall time at MAX epochs, over --jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
SEEDS="1 2 3 4 5"
DATASETS="mdp_sharp neural recsim mdp_random"
METHODS="irecgan_true irecgan_nod irecgan irecgan_seq"
WITH_PG=1
VARIANTS="lr1e-4_r10 lr1e-4_r0.1 lr1e-3_r10 lr1e-3_r0.1"
MAX_EPOCHS=100
PG_EPOCHS=100
RUNS=runs/budget
OUT=results/budget
DATA=""
LAUNCHER=local
DRY_RUN=0
REPORT_ONLY=0
PASS=()  # options handed on to run_sim.sh as they are
for arg in "$@"; do
  case "$arg" in
    --seeds=*) SEEDS=${arg#*=} ;;
    --datasets=*) DATASETS=${arg#*=} ;;
    --variants=*) VARIANTS=${arg#*=} ;;
    --max_epochs=*) MAX_EPOCHS=${arg#*=} ;;
    --pg_epochs=*) PG_EPOCHS=${arg#*=} ;;
    --methods=*)
      METHODS=""; WITH_PG=0
      for m in ${arg#*=}; do
        case "$m" in
          pg) WITH_PG=1 ;;
          irecgan_true|irecgan_nod|irecgan|irecgan_seq) METHODS="$METHODS${METHODS:+ }$m" ;;
          *) echo "budget_curves.sh: unknown method $m in --methods (irecgan_true irecgan_nod irecgan irecgan_seq pg)" >&2; exit 2 ;;
        esac
      done
      [ -n "$METHODS" ] || [ "$WITH_PG" = 1 ] || { echo "budget_curves.sh: --methods is empty" >&2; exit 2; } ;;
    --runs=*) RUNS=${arg#*=} ;;
    --out=*) OUT=${arg#*=} ;;
    --data_dir=*) DATA=${arg#*=} ;;
    --jobs=*|--preset=*|--gpus=*|--slurm_*) PASS+=("$arg") ;;
    --launcher=*) LAUNCHER=${arg#*=}; PASS+=("$arg") ;;
    --dry_run) DRY_RUN=1; PASS+=("$arg") ;;
    --report_only) REPORT_ONLY=1; PASS+=("$arg") ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "budget_curves.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
for n in "$MAX_EPOCHS" "$PG_EPOCHS"; do
  case "$n" in
    ''|*[!0-9]*|0) echo "budget_curves.sh: --max_epochs and --pg_epochs must be positive integers (got $n)" >&2; exit 2 ;;
  esac
done
[ -n "${VARIANTS// /}" ] || { echo "budget_curves.sh: --variants is empty" >&2; exit 2; }
for variant in $VARIANTS; do
  if ! [[ $variant =~ ^lr[0-9.]+(e-?[0-9]+)?_r[0-9.]+(e-?[0-9]+)?$ ]]; then
    echo "budget_curves.sh: variant $variant is not lr<LR>_r<RATIO> (e.g. lr1e-4_r10)" >&2
    exit 2
  fi
done
if [ "${SMOKE:-0}" = 1 ]; then  # as run_sim.sh's SMOKE=1: 2 seeds, folders with _smoke
  SEEDS="1 2"
  MAX_EPOCHS=4
  PG_EPOCHS=4
  RUNS_USED=${RUNS%/}_smoke
  OUT_USED=${OUT%/}_smoke
  DATA=${DATA:-$RUNS_USED/data}  # one set of toy logs for every variant
  smoke_dir() { echo "${1%/}_smoke"; }
else
  RUNS_USED=$RUNS
  OUT_USED=$OUT
  smoke_dir() { echo "$1"; }
fi
if [ -n "$DATA" ]; then PASS+=("--data_dir=$DATA"); fi
start=$(date +%s)

# -- RecSim's log only where its extra imports ---------------------------------------------------
RECSIM=$("$PY" -c "
from irecgan.sim.recsim_env import available
ok, why = available()
print('yes' if ok else why)" 2>/dev/null) || { echo "budget_curves.sh: $PY cannot import irecgan (give PY=...)" >&2; exit 2; }
LOGS=""
for dataset in $DATASETS; do
  if [ "$dataset" = recsim ] && [ "$RECSIM" != yes ]; then
    echo "budget_curves.sh: recsim left out: $RECSIM"
    continue
  fi
  LOGS="$LOGS${LOGS:+ }$dataset"
done
[ -n "$LOGS" ] || { echo "budget_curves.sh: no log to run (--datasets=$DATASETS)" >&2; exit 2; }
echo "budget_curves.sh: variants: $VARIANTS; logs: $LOGS; seeds: $SEEDS; $MAX_EPOCHS adversarial epochs, pg $PG_EPOCHS agent epochs"

# -- 1. the runs: one run_sim.sh call per variant, then pg -----------------------------------
first=""
for variant in $VARIANTS; do
  [ -n "$METHODS" ] || break
  lr=${variant#lr}; lr=${lr%%_r*}
  ratio=${variant##*_r}
  first=${first:-$variant}
  bash ./run_sim.sh --runs="$RUNS_USED/$variant" --out="$OUT_USED/sim/$variant" \
      --methods="$METHODS" --datasets="$LOGS" --seeds="$SEEDS" \
      --train_flags="--agent_lr=$lr --offline_ratio=$ratio --adv_epochs=$MAX_EPOCHS" \
      ${PASS[@]+"${PASS[@]}"}
done
if [ "$WITH_PG" = 1 ]; then
  first=${first:-pg}
  bash ./run_sim.sh --runs="$RUNS_USED/pg" --out="$OUT_USED/sim/pg" --methods=pg \
      --datasets="$LOGS" --seeds="$SEEDS" \
      --train_flags="--agent_epochs=$PG_EPOCHS --online_every=1" ${PASS[@]+"${PASS[@]}"}
fi
missing=0
ALL_VARIANTS=$VARIANTS
if [ -z "$METHODS" ]; then ALL_VARIANTS=""; fi
if [ "$WITH_PG" = 1 ]; then ALL_VARIANTS="$ALL_VARIANTS pg"; fi
for variant in $ALL_VARIANTS; do
  if [ "$variant" = pg ]; then methods=pg; else methods=$METHODS; fi
  for dataset in $LOGS; do
    for method in $methods; do
      for seed in $SEEDS; do
        run=$(smoke_dir "$RUNS_USED/$variant")/runs/$dataset/$method/seed$seed
        [ -f "$run/results.json" ] || missing=$((missing + 1))
      done
    done
  done
done
if [ "$DRY_RUN" = 1 ]; then
  echo "budget_curves.sh: --dry_run: $missing runs to do, no report"
  exit 0
fi
if [ "$LAUNCHER" = slurm ] && [ "$REPORT_ONLY" = 0 ] && [ "$missing" -gt 0 ]; then
  echo "budget_curves.sh: $missing runs not finished yet; run the same command again when the Slurm arrays are done"
  exit 0
fi

# -- 2. the report ---------------------------------------------------------------------------
LOGGING=""
for dataset in $LOGS; do
  case "$dataset" in
    mdp_max) logging=max ;;
    neural) logging=logging ;;
    *) logging=random ;;
  esac
  LOGGING=$LOGGING${LOGGING:+,}$dataset=$logging
done
ROWS=$(smoke_dir "$OUT_USED/sim/$first")/policy_rows.json
ROW_FLAG=()
if [ -f "$ROWS" ]; then ROW_FLAG=(--policy_rows="$ROWS"); else echo "budget_curves.sh: no $ROWS: the plots have no ceiling / logging-policy lines"; fi
"$PY" -m irecgan.cli.budget --out="$OUT_USED" ${ROW_FLAG[@]+"${ROW_FLAG[@]}"} \
    --logging_policy="$LOGGING" \
    --title="Budget curves ($(echo $VARIANTS | tr ' ' ','); seeds: $SEEDS; up to $MAX_EPOCHS adversarial epochs)" \
    "$RUNS_USED"
echo "budget_curves.sh: finished in $(( $(date +%s) - start )) s; the budgets in $OUT_USED/budget.md"
