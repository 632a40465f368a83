#!/usr/bin/env bash
# Issue 22's decomposition: split each simulator log's headroom gap into
#   (a) ceiling - irecgan_true       what this agent cannot find even in the true world
#   (b) irecgan_true - irecgan_nod   what the user model's error costs
#   (c) irecgan - irecgan_nod        what D buys, for each D head (irecgan: the authors' head,
#                                    irecgan_seq: irecgan --d_head=sequence)
# with 95 % confidence intervals over seeds (paired by seed; Welch against the ceiling).
# Logs: mdp_sharp, neural, recsim (where its extra imports) and mdp_random (the saturated
# control); methods lstm pg irecgan_nod irecgan irecgan_seq irecgan_true; seeds 1..10.
# With --methods=irecgan_true_r01 (irecgan_true at --offline_ratio=0.1: 10 true-world sessions
# per offline one) too, gaps.md gets a context line (w) = irecgan_true_r01 - irecgan_true; the
# report shows every method whose runs are in the tree, e.g. after
#   scripts/decomposition.sh --methods=irecgan_true_r01 --datasets="mdp_sharp neural"
# The runs live in their own tree (--runs, default runs/decomposition), so that run_sim.sh's
# table keeps its 5 seeds; run_sim.sh's finished runs (--sim_runs, default runs/sim: seeds 1-5
# of lstm, pg, irecgan_nod, irecgan) are linked into it, never trained again, and the runs are
# made by run_sim.sh itself (same data folder and preset; it skips runs with results.json; a
# linked run made with other settings is refused by the trainer, which names the difference).
# Killing this script and running it again finishes only what is missing. Then, for each
# finished run with a user model that has no model_value.json yet, `irecgan-evaluate
# --model_value --run_dir=RUN` writes it (U's and the simulator's answers to the agent's own
# lists: gaps.md's "U's error on the agent's own lists"), and for each one that has no fit yet
# (results.json["user_fit"] or user_fit.json, e.g. runs made before the fit existed),
# `irecgan-evaluate --user_fit --run_dir=RUN` writes it; then the report is made:
# OUT/table.md, table.csv (one row per log and method), gaps.md, gaps.csv (the gaps with their
# CIs, the largest per log), seeds.csv (each run's figures: pairing by seed stays possible after
# the run folders are gone) and OUT/<log>_decomposition.png (python -m
# irecgan.cli.decomposition); run_sim.sh's own table of these runs, with the policy rows the
# report reads (policy_rows.json, computed there once), goes to OUT/sim; each method's online
# reward per adversarial epoch (finished runs' only, as the tables; mean and 95 % CI over
# seeds; python -m irecgan.cli.budget,
# whose budget rule is then applied to these runs' irecgan_true) to OUT/curves.
#
#   scripts/decomposition.sh                 everything at the cpu_short preset
#   scripts/decomposition.sh --preset=converged
#                                            the decomposition at convergence (issue 32): each
#                                            log at its converged preset (configs/converged/
#                                            <log>.cfg; logs without one are left out), runs in
#                                            runs/decomposition_converged, report in
#                                            results/decomposition_converged, nothing linked
#   SMOKE=1 scripts/decomposition.sh         toy sizes, 2 seeds (run_sim.sh's SMOKE: runs in
#                                            RUNS_smoke, the report in OUT_smoke)
# Options: --seeds="1 2 ... 10"  --jobs=N (parallel runs and fits; default: run_sim.sh's, the
#          number of cores)  --methods="..."  --datasets="mdp_sharp neural recsim mdp_random"
#          --preset=cpu_short|cpu|paper|converged  --runs=DIR (default runs/decomposition)
#          --sim_runs=DIR (run_sim.sh's --runs whose finished runs are linked; default runs/sim)
#          --data_dir=DIR (default data/sim)  --out=DIR (default results/decomposition)
#          --report_only
#          and run_sim.sh's launcher options: --gpus=0,1  --launcher=slurm  --slurm_args=...
#          --slurm_gres=...  --slurm_exec=...  --slurm_signal=N  --dry_run (see run_sim.sh).
#          With --launcher=slurm the runs are submitted and the script stops; run it again
#          when the array is done for the fits and the report.
# Expected run time: the runs dominate (run_sim.sh's wall time per run times the missing runs,
# over --jobs). Measured on a loaded 2-core machine (upper bounds): cpu_short, 180 runs of 4 logs
# in 64 min of wall time; converged, the sharp MDP's 60 runs ~5.2 core-hours (irecgan ~12 min,
# irecgan_seq ~19 min per run, every other method under 3 min).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/user_figures.sh  # U's fit and model_value of finished runs
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
SEEDS="1 2 3 4 5 6 7 8 9 10"
METHODS="lstm pg irecgan_nod irecgan irecgan_seq irecgan_true"
DATASETS="mdp_sharp neural recsim mdp_random"
RUNS=runs/decomposition
SIM_RUNS=runs/sim
DATA=""
OUT=results/decomposition
JOBS=$(nproc 2>/dev/null || echo 2)
LAUNCHER=local
DRY_RUN=0
REPORT_ONLY=0
PASS=()  # options handed on to run_sim.sh as they are
PRESET=cpu_short
GIVEN=" "  # the folder options given on the command line
for arg in "$@"; do
  case "$arg" in
    --seeds=*) SEEDS=${arg#*=} ;;
    --methods=*) METHODS=${arg#*=} ;;
    --datasets=*) DATASETS=${arg#*=} ;;
    --runs=*) RUNS=${arg#*=}; GIVEN="$GIVEN runs " ;;
    --sim_runs=*) SIM_RUNS=${arg#*=}; GIVEN="$GIVEN sim_runs " ;;
    --data_dir=*) DATA=${arg#*=}; PASS+=("$arg") ;;
    --out=*) OUT=${arg#*=}; GIVEN="$GIVEN out " ;;
    --jobs=*) JOBS=${arg#*=}; PASS+=("$arg") ;;
    --preset=*) PRESET=${arg#*=}; PASS+=("$arg") ;;
    --launcher=*) LAUNCHER=${arg#*=}; PASS+=("$arg") ;;
    --dry_run) DRY_RUN=1; PASS+=("$arg") ;;
    --report_only) REPORT_ONLY=1; PASS+=("$arg") ;;
    --gpus=*|--slurm_*) PASS+=("$arg") ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "decomposition.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$PRESET" = converged ]; then  # its own folders; the cpu_short runs are not its runs
  case "$GIVEN" in *" runs "*) ;; *) RUNS=runs/decomposition_converged ;; esac
  case "$GIVEN" in *" out "*) ;; *) OUT=results/decomposition_converged ;; esac
  case "$GIVEN" in *" sim_runs "*) ;; *) SIM_RUNS=$RUNS ;; esac  # links nothing
fi
if [ "${SMOKE:-0}" = 1 ]; then  # as run_sim.sh's SMOKE=1: 2 seeds, folders with _smoke
  SEEDS="1 2"
  RUNS_USED=${RUNS%/}_smoke
  SIM_RUNS_USED=${SIM_RUNS%/}_smoke
  OUT=${OUT%/}_smoke
  # run_sim.sh's SMOKE logs lie beside its runs: train on the same ones
  if [ -z "$DATA" ]; then DATA=$SIM_RUNS_USED/data; PASS+=("--data_dir=$DATA"); fi
else
  RUNS_USED=$RUNS
  SIM_RUNS_USED=$SIM_RUNS
fi
SIM_OUT=$OUT/sim  # run_sim.sh's table of these runs (SMOKE: it adds _smoke)
if [ "${SMOKE:-0}" = 1 ]; then SIM_OUT_USED=${SIM_OUT}_smoke; else SIM_OUT_USED=$SIM_OUT; fi
start=$(date +%s)

# -- RecSim's log only where its extra imports ---------------------------------------------------
RECSIM=$("$PY" -c "
from irecgan.sim.recsim_env import available
ok, why = available()
print('yes' if ok else why)" 2>/dev/null) || { echo "decomposition.sh: $PY cannot import irecgan (give PY=...)" >&2; exit 2; }
RUN_METHODS=$METHODS
LOGS=""
for dataset in $DATASETS; do
  if [ "$dataset" = recsim ] && [ "$RECSIM" != yes ]; then
    echo "decomposition.sh: recsim left out: $RECSIM"
    continue
  fi
  if [ "$PRESET" = converged ] && [ ! -f "configs/converged/$dataset.cfg" ]; then
    echo "decomposition.sh: $dataset left out: no converged preset (configs/converged/$dataset.cfg)"
    continue
  fi
  LOGS="$LOGS${LOGS:+ }$dataset"
done
[ -n "$RUN_METHODS" ] || { echo "decomposition.sh: no method to run (--methods=$METHODS)" >&2; exit 2; }
[ -n "$LOGS" ] || { echo "decomposition.sh: no log to run (--datasets=$DATASETS)" >&2; exit 2; }
echo "decomposition.sh: logs: $LOGS; methods: $RUN_METHODS; seeds: $SEEDS"

# -- 1. the runs (run_sim.sh: logs, runs, its own table and the policy rows) -----------------
# run_sim.sh's finished runs of the same log, method and seed, linked (absolute paths)
linked=0
for dataset in $LOGS; do
  for method in $RUN_METHODS; do
    for seed in $SEEDS; do
      source_dir=$SIM_RUNS_USED/runs/$dataset/$method/seed$seed
      target=$RUNS_USED/runs/$dataset/$method/seed$seed
      if [ -f "$source_dir/results.json" ] && [ ! -e "$target" ] && [ ! -L "$target" ]; then
        mkdir -p "$(dirname "$target")"
        ln -s "$(cd "$source_dir" && pwd)" "$target"
        linked=$((linked + 1))
      fi
    done
  done
done
echo "decomposition.sh: $linked finished runs of $SIM_RUNS_USED linked into $RUNS_USED"
bash ./run_sim.sh --datasets="$LOGS" --methods="$RUN_METHODS" --seeds="$SEEDS" \
    --runs="$RUNS" --out="$SIM_OUT" ${PASS[@]+"${PASS[@]}"}
missing=0
for dataset in $LOGS; do
  for method in $RUN_METHODS; do
    for seed in $SEEDS; do
      [ -f "$RUNS_USED/runs/$dataset/$method/seed$seed/results.json" ] || missing=$((missing + 1))
    done
  done
done
if [ "$LAUNCHER" = slurm ] && [ "$REPORT_ONLY" = 0 ] && { [ "$DRY_RUN" = 1 ] || [ "$missing" -gt 0 ]; }; then
  echo "decomposition.sh: $missing runs not finished yet; run the same command again when the Slurm array is done"
  exit 0
fi

# -- 2. U's fit and U's answers to the agent's own lists, for every run with U lacking them --
report_dirs=()
for dataset in $LOGS; do
  if [ -d "$RUNS_USED/runs/$dataset" ]; then report_dirs+=("$RUNS_USED/runs/$dataset"); fi
done
[ "${#report_dirs[@]}" -gt 0 ] || { echo "decomposition.sh: no runs in $RUNS_USED/runs of $LOGS" >&2; exit 1; }
user_figures decomposition.sh "$PY" "$JOBS" "$REPORT_ONLY" "${report_dirs[@]}"

# -- 3. the report ---------------------------------------------------------------------------
LOGGING=""
logs_with_runs=""
for dataset in $LOGS; do
  case "$dataset" in
    mdp_max) logging=max ;;
    neural) logging=logging ;;
    *) logging=random ;;
  esac
  LOGGING=$LOGGING${LOGGING:+,}$dataset=$logging
  if ls "$RUNS_USED/runs/$dataset"/*/seed*/results.json > /dev/null 2>&1; then
    logs_with_runs=$logs_with_runs${logs_with_runs:+,}$dataset
  fi
done
"$PY" -m irecgan.cli.decomposition --out="$OUT" --policy_rows="$SIM_OUT_USED/policy_rows.json" \
    --logging_policy="$LOGGING" --datasets="$logs_with_runs" \
    --title="Decomposition of the headroom gap ($(echo $RUN_METHODS | tr ' ' ','); seeds: $SEEDS)" \
    "${report_dirs[@]}"
# -- 4. each method's curve: online reward per adversarial epoch (mean, 95 % CI over seeds) ----
"$PY" -m irecgan.cli.budget --out="$OUT/curves" --policy_rows="$SIM_OUT_USED/policy_rows.json" \
    --logging_policy="$LOGGING" --finished_only \
    --title="Curves of the decomposition's runs ($(echo $RUN_METHODS | tr ' ' ','); seeds: $SEEDS)" \
    "${report_dirs[@]}" > /dev/null
echo "decomposition.sh: finished in $(( $(date +%s) - start )) s; tables in $OUT/table.md and $OUT/gaps.md, curves in $OUT/curves"
