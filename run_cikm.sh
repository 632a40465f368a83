#!/usr/bin/env bash
# Reproduce the CIKM Cup 2016 (DIGINETICA) table: lstm, pg, irecgan_nod and irecgan, 5 seeds,
# the paper's sizes, offline P@10 / P@1 on the test split, next to the published figures.
#
#   ./run_cikm.sh                      data/cikm/processed.txt if present, else the competition
#                                      files in data/cikm/raw/ (see data/README.md)
#   ./run_cikm.sh --raw_dir=DIR        the competition files (train-queries.csv, train-clicks.csv,
#                                      train-purchases.csv, ...); the converter runs first
#   ./run_cikm.sh --processed=FILE     the authors' processed file (or any processed log)
#   SMOKE=1 ./run_cikm.sh              every phase at toy size, 2 seeds (CI uses synthetic
#                                      raw files: irecgan-prepare-cikm --synthetic_out=DIR)
#
# Options: --preset=paper|cpu (default paper: configs/paper.cfg; cpu: configs/sim_cpu.cfg sizes)
#          --seeds="1 2 3 4 5"  --jobs=N  --runs=DIR (default runs/cikm)  --out=DIR (default
#          results/cikm)  --methods="lstm pg irecgan_nod irecgan"  --symbols=40000
#          --data_dir=DIR (default data/cikm: where processed.txt and raw/ are looked for)
#          --report_only (make the table from the finished runs, run nothing)
# GPUs and clusters (docs/CLUSTERS.md), as in run_sim.sh:
#          --gpus=0,1,2,3  --launcher=slurm  --slurm_args="..."  --slurm_gres=gpu:1
#          --slurm_exec="PREFIX"  --dry_run  --slurm_signal=300 (SIGTERM before the time limit;
#          the run checkpoints and the task requeues itself)
# Killing it and running it again finishes the remaining runs only.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/lib/launch.sh  # --gpus, --launcher=slurm, --report_only
launch_init "$(basename "$0")" "$@"

# the interpreter: $PY if set, else the README's .venv if present, else python3
if [ -z "${PY:-}" ]; then
  PY=python3
  if [ -x .venv/bin/python ] && [ -z "${VIRTUAL_ENV:-}" ]; then PY=.venv/bin/python; fi
fi
RAW=""
PROCESSED=""
PRESET=paper
SEEDS="1 2 3 4 5"
JOBS=$(nproc 2>/dev/null || echo 2)
RUNS=runs/cikm
OUT=results/cikm
METHODS="lstm pg irecgan_nod irecgan"
SYMBOLS=40000
DATA_DIR=data/cikm
for arg in "$@"; do
  case "$arg" in
    --raw_dir=*) RAW=${arg#*=} ;;
    --processed=*) PROCESSED=${arg#*=} ;;
    --preset=*) PRESET=${arg#*=} ;;
    --seeds=*) SEEDS=${arg#*=} ;;
    --jobs=*) JOBS=${arg#*=} ;;
    --runs=*) RUNS=${arg#*=} ;;
    --out=*) OUT=${arg#*=} ;;
    --methods=*) METHODS=${arg#*=} ;;
    --symbols=*) SYMBOLS=${arg#*=} ;;
    --data_dir=*) DATA_DIR=${arg#*=} ;;
    --gpus*|--launcher*|--slurm_*|--dry_run|--report_only) launch_option "$arg" ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run_cikm.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$RAW" ] && [ -n "$PROCESSED" ]; then
  echo "run_cikm.sh: give one of --raw_dir=DIR or --processed=FILE, not both" >&2; exit 2
fi
RAW_FILES="train-queries.csv train-clicks.csv train-purchases.csv"
if [ -z "$RAW$PROCESSED" ]; then  # the defaults of data/README.md
  if [ -f "$DATA_DIR/processed.txt" ]; then
    PROCESSED=$DATA_DIR/processed.txt
  else
    missing=""
    for f in $RAW_FILES; do [ -f "$DATA_DIR/raw/$f" ] || missing="$missing $f"; done
    if [ -n "$missing" ]; then
      echo "run_cikm.sh: no CIKM data: put $RAW_FILES in $DATA_DIR/raw/ (missing:$missing) or a processed log at $DATA_DIR/processed.txt, or give --raw_dir=DIR / --processed=FILE (see data/README.md)" >&2
      exit 2
    fi
    RAW=$DATA_DIR/raw
  fi
fi
case "$PRESET" in
  paper) CFG=configs/paper.cfg ;;
  cpu) CFG=configs/sim_cpu.cfg ;;
  *) echo "run_cikm.sh: unknown preset $PRESET (paper or cpu)" >&2; exit 2 ;;
esac
launch_check
if [ "${SMOKE:-0}" = 1 ]; then
  CFG=configs/smoke.cfg; SEEDS="1 2"
  RUNS=${RUNS%/}_smoke; OUT=${OUT%/}_smoke
fi
DATA=$RUNS/data
mkdir -p "$DATA" "$OUT"
start=$(date +%s)

if [ -n "$RAW" ]; then
  LOG=$DATA/cikm.log
  if [ ! -f "$LOG" ] && launch_prepare_wanted; then  # here, or in the Slurm preparation job
    "$PY" -m irecgan.cli.prepare_cikm --raw_dir="$RAW" --out="$LOG" \
        --report_json="$DATA/convert_report.json" | tee "$DATA/convert_report.txt"
  fi
else
  LOG=$PROCESSED
  [ -f "$LOG" ] || { echo "run_cikm.sh: $LOG does not exist" >&2; exit 2; }
fi
if launch_prepare_wanted; then
  "$PY" -m irecgan.cli.inspect_log "$LOG" > "$DATA/inspect.txt"
fi
launch_prepare_done

jobs_file=$RUNS/jobs.txt
: > "$jobs_file"
todo=0
for method in $METHODS; do
  for seed in $SEEDS; do
    dir=$RUNS/runs/cikm/$method/seed$seed
    [ -f "$dir/results.json" ] && continue
    todo=$((todo + 1))
    mkdir -p "$(dirname "$dir")"
    # a run directory another process holds (a second copy of this script, an irecgan-train
    # started by hand) is skipped: irecgan.rundir.runlock prints "skip DIR: in use by process N"
    echo "if $PY -m irecgan.rundir.runlock $dir; then $PY -m irecgan.cli.train --flagfile=$CFG --method=$method --data=$LOG --symbols=$SYMBOLS --split=fold --seed=$seed --threads=1 --progress=false --run_dir=$dir > $dir.log 2>&1 && echo done $dir || { rc=\$?; case \$rc in 130|143) echo stopped $dir by a signal, exit \$rc, see $dir.log; exit \$rc ;; esac; echo FAILED $dir, see $dir.log; exit 255; }; fi" >> "$jobs_file"
  done
done
echo "run_cikm.sh: $todo runs to do ($JOBS at a time), preset $CFG, seeds: $SEEDS"
launch_runs "$jobs_file" "$todo"  # local (xargs -P $JOBS, or one per --gpus device) or Slurm
"$PY" -m irecgan.cli.report --out="$OUT" --published=cikm \
    --title="CIKM Cup 2016 ($(basename "$CFG" .cfg), seeds: $SEEDS)" "$RUNS/runs"
echo "run_cikm.sh: finished in $(( $(date +%s) - start )) s; table in $OUT/table.md"
