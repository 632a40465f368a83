#!/usr/bin/env bash
# Reproduce the simulator tables: the paper's MDP (logs of the `random` and `max` logging
# policies, one MDP), the sharp MDP `mdp_sharp` (the same generator with transition temperature
# 0.05, so the clicks identify the state: the setting with headroom, issue 11; random logging)
# and the neural-oracle user (sampled clicks, lists of 20 sampled from its logging LSTM, so test
# sessions do not repeat training ones); when the recsim extra is installed
# (pip install -e ".[tf2,recsim]"), also RecSim's interest-evolution user (random slates of 10
# from a fixed corpus of 100 videos).
# Trains lstm, pg, irecgan_nod and irecgan for every seed on each log, evaluates offline P@k and
# online reward (+ coverage@k on the MDP), and writes results/sim/table.md, table.csv and plots.
#
#   ./run_sim.sh                    CPU preset (configs/sim_cpu_short.cfg, = --preset=cpu_short),
#                                   5 seeds: 1 D epoch per d-step; ~27 min on 2 idle cores
#                                   (an estimate from 3,264 CPU-s measured, README)
#   ./run_sim.sh --preset=cpu       the same with the authors' 3 D epochs per d-step
#                                   (configs/sim_cpu.cfg; longer, see docs/RESULTS.md)
#   ./run_sim.sh --preset=paper     the paper's sizes (configs/paper.cfg), for GPU hosts
#   ./run_sim.sh --preset=converged configs/sim_cpu_short.cfg plus, per log, the budget knobs of
#                                   configs/converged/<log>.cfg (issue 32: agent lr, mixing and
#                                   adversarial epochs chosen by the rule in docs/RESULTS.md);
#                                   give it its own --runs and --out
#   SMOKE=1 ./run_sim.sh            every phase at toy size, 2 seeds, a couple of minutes
#
# Options: --seeds="1 2 3 4 5"  --jobs=N (parallel runs, default: number of cores)
#          --sessions=10000 (logged sessions per log)  --runs=DIR (default runs/sim)
#          --out=DIR (default results/sim)  --methods="lstm pg irecgan_nod irecgan"
#          (also irecgan_true, and irecgan_seq: irecgan with --d_head=sequence, its runs in
#          RUNS/runs/<log>/irecgan_seq/seed<N>)
#          --datasets="mdp_random mdp_max mdp_sharp neural recsim" (default: all; recsim only
#          where its extra imports; the table shows these logs' runs only)
#          --data_dir=DIR (logs and parameter files; default data/sim, SMOKE: RUNS/data)
#          --report_only (make the table and plots from the finished runs, run nothing)
#          --train_flags="--agent_lr=0.001 --adv_epochs=100" (irecgan-train flags appended to
#          every run of this invocation, after its preset and method flags, so they win;
#          default none: the runs as above)
#          --no_pretrain_cache (each run does its own pretraining; by default runs share
#          finished pretraining phases through RUNS/pretrain_cache, irecgan-train's
#          --pretrain_cache: the same bytes, less CPU, docs/BENCHMARKS.md)
#          --process_per_run (one irecgan-train process per run; by default the runs of a
#          (log, seed) run in one process, irecgan.cli.sweep: the same bytes, less CPU)
# The runs of a (log, seed) run one after the other, the first of a sharing pair first (pg before
# irecgan_true, irecgan_nod before irecgan); --jobs of these groups run at a time (Slurm: one
# array task per run).
# GPUs and clusters (docs/CLUSTERS.md):
#          --gpus=0,1,2,3 (one run per listed GPU at a time, each with its CUDA_VISIBLE_DEVICES)
#          --launcher=slurm (submit the data preparation and a job array of the runs, print the
#          job ids, exit; run it again when the array is done for the table) with
#          --slurm_args="--partition=gpu --time=4:00:00" (sbatch options of both jobs)
#          --slurm_gres=gpu:1 (per run)  --slurm_exec="PREFIX" (e.g. a container: apptainer exec
#          --nv irecgan.sif)  --jobs=N (the array's %N throttle)  --dry_run (print, submit nothing)
#          --slurm_signal=300 (SIGTERM this many seconds before the time limit: the run checkpoints
#          and the task requeues itself; 0: no signal)
# Killing it and running it again finishes the remaining runs only: finished runs (with
# results.json) are skipped, unfinished ones resume from their last checkpoint.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib/launch.sh  # --gpus, --launcher=slurm, --report_only
launch_init "$(basename "$0")" "$@"

# the interpreter: $PY if set, else the README's .venv if present, else python3
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
PRESET=cpu_short
SEEDS="1 2 3 4 5"
JOBS=$(nproc 2>/dev/null || echo 2)
SESSIONS=10000
POLICY_SESSIONS=1000
RUNS=runs/sim
OUT=results/sim
METHODS="lstm pg irecgan_nod irecgan"
ALL_DATASETS="mdp_random mdp_max mdp_sharp neural recsim"
WANTED=$ALL_DATASETS
DATA=""
TRAIN_FLAGS=""
USE_CACHE=1
PER_RUN=0
for arg in "$@"; do
  case "$arg" in
    --preset=*) PRESET=${arg#*=} ;;
    --seeds=*) SEEDS=${arg#*=} ;;
    --jobs=*) JOBS=${arg#*=} ;;
    --sessions=*) SESSIONS=${arg#*=} ;;
    --runs=*) RUNS=${arg#*=} ;;
    --out=*) OUT=${arg#*=} ;;
    --methods=*) METHODS=${arg#*=} ;;
    --data_dir=*) DATA=${arg#*=} ;;
    --datasets=*) WANTED=${arg#*=} ;;
    --train_flags=*) TRAIN_FLAGS=${arg#*=} ;;
    --no_pretrain_cache) USE_CACHE=0 ;;
    --process_per_run) PER_RUN=1 ;;
    --gpus*|--launcher*|--slurm_*|--dry_run|--report_only) launch_option "$arg" ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run_sim.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
case "$PRESET" in
  cpu) CFG=configs/sim_cpu.cfg ;;
  cpu_short) CFG=configs/sim_cpu_short.cfg ;;
  paper) CFG=configs/paper.cfg ;;
  converged) CFG=configs/sim_cpu_short.cfg ;;  # plus configs/converged/<log>.cfg per log
  *) echo "run_sim.sh: unknown preset $PRESET (cpu, cpu_short, paper or converged)" >&2; exit 2 ;;
esac
# --preset=converged: each log's budget knobs, read after the base preset (configs/converged/)
preset_flags() {
  if [ "$PRESET" = converged ]; then echo " --flagfile=configs/converged/$1.cfg"; fi
}
for dataset in $WANTED; do
  case " $ALL_DATASETS " in
    *" $dataset "*) ;;
    *) echo "run_sim.sh: unknown dataset $dataset in --datasets (of: $ALL_DATASETS)" >&2; exit 2 ;;
  esac
done
[ -n "${WANTED// /}" ] || { echo "run_sim.sh: --datasets is empty (of: $ALL_DATASETS)" >&2; exit 2; }
if [ "$PRESET" = converged ]; then  # logs without one: an error when asked for, else left out
  KEPT=""
  for dataset in $WANTED; do
    if [ -f "configs/converged/$dataset.cfg" ]; then KEPT="$KEPT${KEPT:+ }$dataset"; continue; fi
    if [ "$WANTED" != "$ALL_DATASETS" ]; then
      echo "run_sim.sh: no converged preset for $dataset (configs/converged/$dataset.cfg; scripts/budget_curves.sh chooses them): leave it out of --datasets" >&2
      exit 2
    fi
    echo "run_sim.sh: $dataset left out: no converged preset (configs/converged/$dataset.cfg)"
  done
  WANTED=$KEPT
  [ -n "$WANTED" ] || { echo "run_sim.sh: no log has a converged preset (configs/converged/)" >&2; exit 2; }
fi
for method in $METHODS; do
  case "$method" in
    lstm|pg|irecgan_nod|irecgan|irecgan_true|irecgan_seq|irecgan_true_r01) ;;
    *) echo "run_sim.sh: unknown method $method in --methods (lstm pg irecgan_nod irecgan irecgan_true irecgan_seq irecgan_true_r01)" >&2; exit 2 ;;
  esac
done
wanted() { case " $WANTED " in *" $1 "*) return 0 ;; esac; return 1; }
launch_check
if [ "${SMOKE:-0}" = 1 ]; then
  CFG=configs/smoke.cfg; SEEDS="1 2"; SESSIONS=400; POLICY_SESSIONS=100
  RUNS=${RUNS%/}_smoke; OUT=${OUT%/}_smoke
  DATA=${DATA:-$RUNS/data}  # toy logs stay beside the toy runs, out of data/
fi
DATA=${DATA:-data/sim}
CACHE=""
if [ "$USE_CACHE" = 1 ]; then CACHE=$RUNS/pretrain_cache; fi
mkdir -p "$DATA" "$OUT" "$RUNS"
start=$(date +%s)

# -- 1. the logs (written to a temporary name, renamed when complete) ------------------------
# $DATA/NAME.log.flags records the flags a log was made with; a log made with others is an error,
# never silently reused (e.g. a 2,000-session log under a 10,000-session command).
simulate() {  # name, flags...
  local name=$1; shift
  local made="$* --sessions=$SESSIONS --seed=1"
  if [ -f "$DATA/$name.log" ] && [ -f "$DATA/$name.log.flags" ] &&
      [ "$(cat "$DATA/$name.log.flags")" != "$made" ]; then
    echo "run_sim.sh: $DATA/$name.log was made with other flags ($(cat "$DATA/$name.log.flags")); move it away or give --data_dir=DIR" >&2
    exit 2
  fi
  if [ ! -f "$DATA/$name.log" ]; then
    "$PY" -m irecgan.cli.simulate "$@" --sessions="$SESSIONS" --seed=1 \
        --out="$DATA/$name.log.tmp" --params_out="$DATA/$name.params.npz" --eval_sessions=0
    echo "$made" > "$DATA/$name.log.flags"
    mv "$DATA/$name.log.tmp" "$DATA/$name.log"
  fi
}
DATASETS=""
for dataset in mdp_random mdp_max mdp_sharp neural; do
  if wanted $dataset; then DATASETS="$DATASETS${DATASETS:+ }$dataset"; fi
done
# RecSim's interest-evolution user: only where the optional extra imports
RECSIM=0
if ! wanted recsim; then
  :
elif why=$("$PY" -c "import sys; from irecgan.sim.recsim_env import available
ok, why = available(); print(why); sys.exit(0 if ok else 1)" 2>/dev/null); then
  RECSIM=1
  DATASETS="$DATASETS recsim"
else
  echo "run_sim.sh: recsim rows skipped: ${why:-the recsim extra does not import}"
fi
if launch_prepare_wanted; then  # here, or in the Slurm data-preparation job
  # mdp_max is logged on mdp_random's MDP (its parameter file)
  if wanted mdp_random || wanted mdp_max; then simulate mdp_random --env=mdp --policy=random; fi
  if wanted mdp_max; then
    simulate mdp_max --env=mdp --policy=max --params="$DATA/mdp_random.params.npz"
  fi
  if wanted mdp_sharp; then
    simulate mdp_sharp --env=mdp --policy=random --transition_temperature=0.05
  fi
  if wanted neural; then simulate neural --env=neural --sample_click --sample_list; fi
  if [ "$RECSIM" = 1 ]; then simulate recsim --env=recsim --policy=random; fi
fi
launch_prepare_done

# -- 2. the runs ------------------------------------------------------------------------------
dataset_flags() {
  case "$1" in
    mdp_random|mdp_max)
      echo "--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_random.params.npz" ;;
    mdp_sharp)
      echo "--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_sharp.params.npz" ;;
    neural)
      echo "--n_items=99 --k=20 --split=ratio --env_params=$DATA/neural.params.npz --purchase_weight=auto" ;;
    recsim)
      echo "--n_items=100 --k=10 --split=fold --env_params=$DATA/recsim.params.npz" ;;
  esac
}
# a method's flags: irecgan_seq is irecgan with the sequence head of D (SPEC 3.3);
# irecgan_true_r01 the perfect-model control trained mostly on true-world sessions
method_flags() {
  case "$1" in
    irecgan_seq) echo "--method=irecgan --d_head=sequence" ;;
    irecgan_true_r01) echo "--method=irecgan_true --offline_ratio=0.1" ;;
    *) echo "--method=$1" ;;
  esac
}
# the runs of a (log, seed) in this order: each run that can reuse another's pretraining
# (docs/BENCHMARKS.md: pg -> irecgan_true, irecgan_nod -> irecgan) comes after it
SHARING_ORDER="lstm pg irecgan_true irecgan_true_r01 irecgan_nod irecgan irecgan_seq"
ORDERED=""
for method in $SHARING_ORDER; do
  case " $METHODS " in *" $method "*) ORDERED="$ORDERED${ORDERED:+ }$method" ;; esac
done
# one run's irecgan-train flags
run_flags() {  # dataset method seed dir
  echo "--flagfile=$CFG$(preset_flags "$1") $(method_flags "$2") --data=$DATA/$1.log $(dataset_flags "$1") --seed=$3${CACHE:+ --pretrain_cache=$CACHE} --threads=1 --progress=false --run_dir=$4${TRAIN_FLAGS:+ $TRAIN_FLAGS}"
}
# a run as one process of its own: the jobs of Slurm, and of --process_per_run
# (a run directory another process holds, e.g. a second copy of this script or an irecgan-train
# started by hand, is skipped: irecgan.rundir.runlock prints "skip DIR: in use by process N")
run_process() {  # dataset method seed dir
  echo "if $PY -m irecgan.rundir.runlock $4; then $PY -m irecgan.cli.train $(run_flags "$@") > $4.log 2>&1 && echo done $4 || { rc=\$?; case \$rc in 130|143) echo stopped $4 by a signal, exit \$rc, see $4.log; exit \$rc ;; esac; echo FAILED $4, see $4.log; exit 255; }; fi"
}
jobs_file=$RUNS/jobs.txt
: > "$jobs_file"
todo=0
for dataset in $DATASETS; do
  for seed in $SEEDS; do
    group=""
    for method in $ORDERED; do
      dir=$RUNS/runs/$dataset/$method/seed$seed
      [ -f "$dir/results.json" ] && continue
      todo=$((todo + 1))
      mkdir -p "$(dirname "$dir")"
      if [ "$LAUNCHER" = slurm ]; then  # one array task per run
        run_process "$dataset" "$method" "$seed" "$dir" >> "$jobs_file"
      elif [ "$PER_RUN" = 1 ]; then
        group="$group${group:+; }$(run_process "$dataset" "$method" "$seed" "$dir")"
      else  # irecgan.cli.sweep prints done / skip / FAILED / stopped per run, as run_process
        group="$group --run=$(printf '%q' "$(run_flags "$dataset" "$method" "$seed" "$dir")")"
      fi
    done
    [ -n "$group" ] || continue
    if [ "$PER_RUN" = 1 ]; then
      echo "$group" >> "$jobs_file"
    else  # a failed run fails the line (after the rest of the group), as with one process a run
      echo "$PY -m irecgan.cli.sweep$group || { rc=\$?; case \$rc in 130|143) exit \$rc ;; esac; exit 255; }" >> "$jobs_file"
    fi
  done
done
# the preset's name in messages and the table's title: converged is cpu_short's sizes plus each
# log's budget knobs, so naming the base file alone would mislabel it
PRESET_LABEL=$(basename "$CFG" .cfg)
if [ "$PRESET" = converged ]; then PRESET_LABEL="converged ($PRESET_LABEL + configs/converged/<log>.cfg)"; fi
echo "run_sim.sh: $todo runs to do ($JOBS at a time), preset $PRESET_LABEL, seeds: $SEEDS"
launch_runs "$jobs_file" "$todo"  # local (xargs -P $JOBS, or one per --gpus device) or Slurm

# -- 3. the table and the plots ------------------------------------------------------------------
# the runs and the policy rows of the logs of this invocation (each log's parameter file;
# mdp_max: mdp_random's); other logs' runs under $RUNS/runs stay out of the table
ENV_ROWS=()
LOGGING=""
REPORT_DIRS=()
for dataset in $DATASETS; do
  if [ -d "$RUNS/runs/$dataset" ]; then REPORT_DIRS+=("$RUNS/runs/$dataset"); fi
  case "$dataset" in
    mdp_random) params=mdp_random; logging=random ;;
    mdp_max) params=mdp_random; logging=max ;;
    mdp_sharp) params=mdp_sharp; logging=random ;;
    neural) params=neural; logging=logging ;;
    recsim) params=recsim; logging=random ;;
  esac
  ENV_ROWS+=(--env_params="$dataset=$DATA/$params.params.npz")
  LOGGING=$LOGGING${LOGGING:+,}$dataset=$logging
done
"$PY" -m irecgan.cli.report --out="$OUT" --published=sim \
    ${ENV_ROWS[@]+"${ENV_ROWS[@]}"} --policy_sessions=$POLICY_SESSIONS \
    --logging_policy="$LOGGING" \
    --title="Simulators ($PRESET_LABEL, seeds: $SEEDS)" "${REPORT_DIRS[@]-$RUNS/runs}"
echo "run_sim.sh: finished in $(( $(date +%s) - start )) s; table in $OUT/table.md"
