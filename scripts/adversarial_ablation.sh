#!/usr/bin/env bash
# Issue 10's measurements: does the adversarial part train, and does it matter?
# On run_sim.sh's logs (data/sim/, made by ./run_sim.sh: 10,000 sessions each, seed 1) and at its
# preset (default cpu_short, configs/sim_cpu_short.cfg), per seed:
#   irecgan with --d_data=authors | m  x  --offline_ratio=10 | 0.1   (4 variants)
#   irecgan_nod with --offline_ratio=10 | 0.1                         (2 variants)
#   pg for 10 and 14 agent epochs (14: about irecgan's agent-update budget at ratio 10,
#   5 epochs x 3 g-steps x 2,200 sessions ~ 3.5 more epochs; 10: the same at ratio 0.1)
# authors_r10, nod_r10 and pg_10ep are run_sim.sh's irecgan, irecgan_nod and pg runs (the same
# flags): where $SIM_RUNS holds a finished one it is used, not run again. The neural log uses
# --purchase_weight=auto (its log buys at ~50 %). Per-epoch online evaluation in pretraining is
# off for the runs made here (--online_every=0; evaluation only, training unchanged).
# Then scripts/ablation_table.py writes $OUT/table.md, table.csv and plots from both folders:
# D's held-out accuracy / AUC on every log, irecgan - irecgan_nod paired by seed, the pg control.
#
#   ./run_sim.sh && SEEDS="1 2 3 4 5" scripts/adversarial_ablation.sh
# Options (environment): SEEDS (default "1 2 3 4 5"), JOBS (parallel runs, default 2),
#   DATASETS (default "mdp_random neural"), VARIANTS (default all, names as below),
#   PRESET (cpu_short or cpu; default cpu_short), DATA (default data/sim),
#   SIM_RUNS (default runs/sim/runs), ROOT (default runs/ablation), OUT (default
#   results/ablation), NICE (default 10).
# Runs are ordered seed by seed; rerunning skips finished runs and resumes unfinished ones (a
# run whose $dir.lock exists is in progress elsewhere and skipped; a killed invocation leaves
# its locks behind: remove them before rerunning).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS:-1 2 3 4 5}
JOBS=${JOBS:-2}
DATASETS=${DATASETS:-mdp_random neural}
VARIANTS=${VARIANTS:-authors_r10 nod_r10 m_r10 pg_14ep authors_r0.1 nod_r0.1 pg_10ep m_r0.1}
PRESET=${PRESET:-cpu_short}
DATA=${DATA:-data/sim}
SIM_RUNS=${SIM_RUNS:-runs/sim/runs}
ROOT=${ROOT:-runs/ablation}
OUT=${OUT:-results/ablation}
NICE=${NICE:-10}
case "$PRESET" in
  cpu) CFG=configs/sim_cpu.cfg ;;
  cpu_short) CFG=configs/sim_cpu_short.cfg ;;
  *) echo "adversarial_ablation.sh: unknown PRESET $PRESET (cpu or cpu_short)" >&2; exit 2 ;;
esac
for dataset in $DATASETS; do
  if [ ! -f "$DATA/$dataset.log" ]; then
    echo "adversarial_ablation.sh: $DATA/$dataset.log is missing: make the logs with ./run_sim.sh (or give DATA=DIR)" >&2
    exit 2
  fi
done
D_EPOCHS=$(sed -n 's/^--d_epochs=//p' "$CFG" | tail -1)
D_EPOCHS=${D_EPOCHS:-3}  # irecgan.experiment's default
mkdir -p "$ROOT/runs" "$OUT"
start=$(date +%s)

dataset_flags() {
  case "$1" in
    mdp_random|mdp_max) echo "--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_random.params.npz" ;;
    mdp_sharp) echo "--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_sharp.params.npz" ;;
    neural) echo "--n_items=99 --k=20 --split=ratio --env_params=$DATA/neural.params.npz --purchase_weight=auto" ;;
    recsim) echo "--n_items=100 --k=10 --split=fold --env_params=$DATA/recsim.params.npz" ;;
    *) echo "adversarial_ablation.sh: unknown dataset $1" >&2; exit 2 ;;
  esac
}
variant_flags() {
  case "$1" in
    authors_r10) echo "--method=irecgan --d_data=authors --offline_ratio=10" ;;
    m_r10) echo "--method=irecgan --d_data=m --offline_ratio=10" ;;
    authors_r0.1) echo "--method=irecgan --d_data=authors --offline_ratio=0.1" ;;
    m_r0.1) echo "--method=irecgan --d_data=m --offline_ratio=0.1" ;;
    nod_r10) echo "--method=irecgan_nod --offline_ratio=10" ;;
    nod_r0.1) echo "--method=irecgan_nod --offline_ratio=0.1" ;;
    pg_10ep) echo "--method=pg --agent_epochs=10" ;;
    pg_14ep) echo "--method=pg --agent_epochs=14" ;;
    *) echo "adversarial_ablation.sh: unknown variant $1" >&2; exit 2 ;;
  esac
}
# run_sim.sh's run of the same flags, where there is one
sim_run() {  # dataset, variant, seed
  case "$2" in
    authors_r10) echo "$SIM_RUNS/$1/irecgan/seed$3" ;;
    nod_r10) echo "$SIM_RUNS/$1/irecgan_nod/seed$3" ;;
    pg_10ep) echo "$SIM_RUNS/$1/pg/seed$3" ;;
  esac
}
jobs_file=$ROOT/jobs.txt
: > "$jobs_file"
todo=0
for seed in $SEEDS; do
  for dataset in $DATASETS; do
    for variant in $VARIANTS; do
      dir=$ROOT/runs/$dataset/$variant/seed$seed
      [ -f "$dir/results.json" ] && continue
      sim=$(sim_run "$dataset" "$variant" "$seed")
      if [ -n "$sim" ] && [ -f "$sim/results.json" ] && [ "$("$PY" -c "import json, sys
print(json.load(open(sys.argv[1])).get('d_epochs'))" "$sim/config.json")" = "$D_EPOCHS" ]; then
        continue
      fi
      todo=$((todo + 1))
      mkdir -p "$(dirname "$dir")"
      # $dir.lock: a run in progress (another invocation) is skipped, not run twice
      echo "mkdir $dir.lock 2>/dev/null || { echo busy $dir; exit 0; }; nice -n $NICE $PY -m irecgan.cli.train --flagfile=$CFG $(variant_flags "$variant") --data=$DATA/$dataset.log $(dataset_flags "$dataset") --seed=$seed --online_every=0 --threads=1 --progress=false --run_dir=$dir > $dir.log 2>&1 && echo \"done $dir \$(date +%T)\" || echo FAILED $dir, see $dir.log; rmdir $dir.lock" >> "$jobs_file"
    done
  done
done
echo "adversarial_ablation.sh: $todo runs to do ($JOBS at a time), seeds: $SEEDS"
if [ "$todo" -gt 0 ]; then
  tr '\n' '\0' < "$jobs_file" | xargs -0 -P "$JOBS" -I{} bash -c '{}'
fi
sim_dirs=()  # every log of run_sim.sh: D's held-out figures and irecgan - irecgan_nod on each
if [ -d "$SIM_RUNS" ]; then sim_dirs=("$SIM_RUNS"); fi
"$PY" scripts/ablation_table.py --out="$OUT" "$ROOT/runs" ${sim_dirs[@]+"${sim_dirs[@]}"}
echo "adversarial_ablation.sh: finished in $(( $(date +%s) - start )) s; table in $OUT/table.md"
