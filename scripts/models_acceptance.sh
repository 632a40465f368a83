#!/usr/bin/env bash
# Issue "Models" acceptance: lstm and pg at the paper's sizes (2 x 512, 50-d, batch 32) on
# MDP random-policy logs (10,000 sessions, seed 1), 3 seeds; and on synthetic CIKM-shaped data
# (40,000 items, lists of 10..100). Writes run directories under runs/models/.
# Usage: scripts/models_acceptance.sh [AGENT_EPOCHS (default 10)] [CIKM_EPOCHS (default 3)]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${1:-10}
CIKM_EPOCHS=${2:-3}
mkdir -p runs/data runs/models
[ -f runs/data/mdp_random.log ] || $PY -m irecgan.cli.simulate --env=mdp --policy=random \
    --sessions=10000 --seed=1 --out=runs/data/mdp_random.log
for seed in 1 2 3; do
  for method in lstm pg; do
    $PY -m irecgan.cli.train --flagfile=configs/paper.cfg --method=$method \
        --data=runs/data/mdp_random.log --n_items=50 --seed=$seed --agent_epochs=$EPOCHS \
        --env_params=runs/data/mdp_random.log.params.npz --online_every=0 --threads=1 \
        --progress=false --run_dir=runs/models/mdp_random/$method/seed$seed
  done
done
if [ ! -f runs/data/cikm_synth.log ]; then
  $PY -m irecgan.cli.prepare_cikm --synthetic_out=runs/data/cikm_synth_raw --seed=1 \
      --synthetic_sessions=${CIKM_SESSIONS:-12000} --synthetic_items=40000 \
      --out=runs/data/cikm_synth.log
fi
for seed in ${CIKM_SEEDS:-1}; do
  for method in lstm pg; do
    $PY -m irecgan.cli.train --flagfile=configs/paper.cfg --method=$method \
        --data=runs/data/cikm_synth.log --symbols=40004 --seed=$seed --agent_epochs=$CIKM_EPOCHS \
        --threads=1 --progress=false --run_dir=runs/models/cikm_synth/$method/seed$seed
  done
done
