#!/usr/bin/env bash
# Control for the simulator table: irecgan's adversarial epochs also update the agent on offline
# sessions (3 g-steps x (200 generated + 2,000 offline) per epoch), so at the CPU preset it sees
# about 4 more epochs' worth of offline data than pg's 10 pretraining epochs. This trains pg and
# lstm for 14 epochs (5 seeds) on the same logs, to compare at a similar budget. Aggregate with
#   irecgan-report --out=results/control runs/control
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=data/sim
mkdir -p runs/control/data
for dataset in mdp_random neural; do
  ln -sf "$PWD/$DATA/$dataset.log" "runs/control/data/${dataset}_14ep.log"
done
for seed in ${SEEDS:-1 2 3 4 5}; do
  for dataset in mdp_random neural; do
    case $dataset in
      mdp_random) flags="--n_items=50 --k=10 --split=fold --env_params=$DATA/mdp_random.params.npz" ;;
      neural) flags="--n_items=99 --k=20 --split=ratio --env_params=$DATA/neural.params.npz" ;;
    esac
    for method in pg lstm; do
      dir=runs/control/runs/${dataset}_14ep/$method/seed$seed
      [ -f "$dir/results.json" ] && continue
      mkdir -p "$(dirname "$dir")"
      $PY -m irecgan.cli.train --flagfile=configs/sim_cpu.cfg --agent_epochs=14 --method=$method \
          --data=runs/control/data/${dataset}_14ep.log $flags --seed=$seed --threads=1 \
          --progress=false --run_dir=$dir > $dir.log 2>&1
    done
  done
done
