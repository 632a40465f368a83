#!/usr/bin/env bash
# Issue 10's measurements: does the adversarial part train, and does it matter?
# On the MDP random log and the neural-oracle log (generated like run_sim.sh does, seed 1, 10,000
# sessions), at the CPU preset (configs/sim_cpu.cfg), per seed:
#   irecgan with --d_data=authors | m  x  --offline_ratio=10 | 0.1   (4 variants)
#   irecgan_nod with --offline_ratio=10 | 0.1                         (2 variants)
#   pg for 10 and 14 agent epochs (14: about irecgan's agent-update budget at ratio 10,
#   5 epochs x 3 g-steps x 2,200 sessions ~ 3.5 more epochs; 10: the same at ratio 0.1)
# The neural log uses --purchase_weight=auto (its log buys at ~50 %). Per-epoch online
# evaluation in pretraining is off (--online_every=0; evaluation only, training unchanged).
# Then scripts/ablation_table.py writes $OUT/table.md, table.csv and plots: D's held-out
# accuracy / AUC, irecgan - irecgan_nod paired by seed, the pg control.
#
#   SEEDS="1 2 3" JOBS=2 scripts/adversarial_ablation.sh
# Options (environment): SEEDS (default "1 2 3 4 5"), JOBS (parallel runs, default 2),
#   DATASETS (default "mdp_random neural"), VARIANTS (default all, names as below),
#   ROOT (default runs/ablation), OUT (default results/ablation), NICE (default 10).
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
ROOT=${ROOT:-runs/ablation}
OUT=${OUT:-results/ablation}
NICE=${NICE:-10}
CFG=configs/sim_cpu.cfg
DATA=$ROOT/data
mkdir -p "$DATA" "$OUT"
start=$(date +%s)

simulate() {  # name, flags...
  local name=$1; shift
  if [ ! -f "$DATA/$name.log" ]; then
    "$PY" -m irecgan.cli.simulate "$@" --sessions=10000 --seed=1 --out="$DATA/$name.log.tmp" \
        --params_out="$DATA/$name.params.npz" --eval_sessions=0
    mv "$DATA/$name.log.tmp" "$DATA/$name.log"
  fi
}
simulate mdp_random --env=mdp --policy=random
simulate neural --env=neural

dataset_flags() {
  case "$1" in
    mdp_random) echo "--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_random.params.npz" ;;
    neural) echo "--n_items=99 --k=20 --split=ratio --env_params=$DATA/neural.params.npz --purchase_weight=auto" ;;
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

jobs_file=$ROOT/jobs.txt
: > "$jobs_file"
todo=0
for seed in $SEEDS; do
  for dataset in $DATASETS; do
    for variant in $VARIANTS; do
      dir=$ROOT/runs/$dataset/$variant/seed$seed
      [ -f "$dir/results.json" ] && continue
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
"$PY" scripts/ablation_table.py --out="$OUT" "$ROOT/runs"
echo "adversarial_ablation.sh: finished in $(( $(date +%s) - start )) s; table in $OUT/table.md"
