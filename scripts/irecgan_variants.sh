#!/usr/bin/env bash
# What else was tried for irecgan vs pg on the MDP random-policy log (after ./run_sim.sh made
# data/sim): the reference's released schedule, and the paper schedule with twice the
# adversarial epochs, 3 seeds each, at the CPU preset's sizes. Aggregate with
#   irecgan-report --out=results/variants runs/variants runs/sim/runs/mdp_random
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=data/sim
COMMON="--flagfile=configs/sim_cpu.cfg --method=irecgan --n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_random.params.npz --threads=1 --progress=false"
jobs=runs/variants/jobs.txt
mkdir -p runs/variants
: > "$jobs"
for seed in ${SEEDS:-1 2 3}; do
  for variant in reference adv20; do
    case $variant in
      reference) extra="--schedule=reference --d_pretrain_sessions=1000" ;;
      adv20) extra="--adv_epochs=20" ;;
    esac
    # the variant name becomes the dataset column of the report (the log's basename)
    mkdir -p runs/variants/data
    ln -sf "$PWD/$DATA/mdp_random.log" "runs/variants/data/mdp_random_$variant.log"
    dir=runs/variants/runs/$variant/seed$seed
    [ -f "$dir/results.json" ] && continue
    mkdir -p "$(dirname "$dir")"
    echo "$PY -m irecgan.cli.train $COMMON $extra --data=runs/variants/data/mdp_random_$variant.log --seed=$seed --run_dir=$dir > $dir.log 2>&1" >> "$jobs"
  done
done
tr '\n' '\0' < "$jobs" | xargs -0 -P "${JOBS:-1}" -I{} bash -c '{}'
