# How run_sim.sh and run_cikm.sh run their sweep: sourced by both scripts (from the repository
# root), which keep their own options, data preparation and jobs file (one shell command line per
# run, the single source of truth for a run's command) and call these functions:
#
#   launch_init NAME "$@"     before parsing the options (NAME: the script's file name)
#   launch_option ARG         parses one of --gpus, --launcher, --slurm_*, --dry_run, --report_only
#   launch_check              after parsing: validates them (one line `error: ...`, exit 2)
#   launch_prepare_wanted     true when this invocation prepares the data (local launcher, or the
#                             Slurm data-preparation job); launch_prepare_done ends that job
#   launch_runs FILE TODO     runs the jobs file (local), or submits it (Slurm) and exits;
#                             returns when the table should be made
#
# Launchers:
#   local (default)   `xargs -P $JOBS` on this machine, every run sees every GPU (as always).
#   local + --gpus=0,1,...  one run per listed device at a time, each started with its own
#                     CUDA_VISIBLE_DEVICES (flock'd per-device lock files; the lock folder is
#                     $IRECGAN_GPU_LOCKS, default /tmp/irecgan-gpu-locks-UID, so two sweeps on one
#                     host never share a device either).
#   slurm             one data-preparation job (this script again, with IRECGAN_LAUNCH_PHASE=prepare)
#                     and a job array depending on it (afterok), one task per line of a snapshot of
#                     the jobs file; batch scripts, the snapshot and the per-task logs go to
#                     RUNS/slurm/<time>-<id>/. Both jobs are named irecgan-<script>-<hash of RUNS>.
#                     A task is sent SIGTERM --slurm_signal seconds before its time limit
#                     (#SBATCH --signal=B:TERM@N, default 300, 0: off); its batch script forwards
#                     it to the run (which checkpoints and exits 143, see src/irecgan/rundir/stopping.py),
#                     and a run that exits 143 while its task is still RUNNING (that signal,
#                     scancel --signal=TERM --batch; not a cancel, not the time limit itself)
#                     requeues its task (scontrol requeue; the array has --requeue), which then
#                     continues from the run's checkpoint by itself.
#
# IRECGAN_RUN_WRAPPER (environment, unset by default): a command put in front of every run by
# the --gpus and Slurm launchers (`$IRECGAN_RUN_WRAPPER bash -c LINE`), e.g. `nice -n 5`; the
# tests use it to record each run's device and start/end times.

LAUNCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

launch_init() {  # NAME ARGS...
  LAUNCH_SCRIPT=$1; shift
  LAUNCH_ARGS=("$@")
  LAUNCHER=local
  LAUNCH_GPUS=""
  LAUNCH_SLURM_ARGS=""; LAUNCH_SLURM_ARGS_GIVEN=0
  LAUNCH_SLURM_GRES=""
  LAUNCH_SLURM_EXEC=""
  LAUNCH_SLURM_SIGNAL=300; LAUNCH_SLURM_SIGNAL_GIVEN=0
  LAUNCH_DRY_RUN=0
  LAUNCH_REPORT_ONLY=0
  LAUNCH_JOBS_GIVEN=0
  LAUNCH_PHASE=${IRECGAN_LAUNCH_PHASE:-}
  local arg
  for arg in "$@"; do
    case "$arg" in --jobs=*) LAUNCH_JOBS_GIVEN=1 ;; esac
  done
}

launch_error() {
  echo "error: $LAUNCH_SCRIPT: $* (see --help)" >&2
  exit 2
}

launch_option() {  # ARG, one of the options above
  case "$1" in
    --gpus=*) LAUNCH_GPUS=${1#*=}
      [ -n "$LAUNCH_GPUS" ] || launch_error "--gpus= needs a comma-separated list of devices, e.g. --gpus=0,1" ;;
    --launcher=*) LAUNCHER=${1#*=} ;;
    --slurm_args=*) LAUNCH_SLURM_ARGS=${1#*=}; LAUNCH_SLURM_ARGS_GIVEN=1 ;;
    --slurm_gres=*) LAUNCH_SLURM_GRES=${1#*=}
      [ -n "$LAUNCH_SLURM_GRES" ] || launch_error "--slurm_gres= needs a value, e.g. --slurm_gres=gpu:1" ;;
    --slurm_signal=*) LAUNCH_SLURM_SIGNAL=${1#*=}; LAUNCH_SLURM_SIGNAL_GIVEN=1
      [[ "$LAUNCH_SLURM_SIGNAL" =~ ^[0-9]{1,5}$ ]] && [ "$((10#$LAUNCH_SLURM_SIGNAL))" -le 65535 ] \
        || launch_error "--slurm_signal=$LAUNCH_SLURM_SIGNAL: seconds before the time limit, 0 to 65535 (0: no signal)"
      LAUNCH_SLURM_SIGNAL=$((10#$LAUNCH_SLURM_SIGNAL)) ;;
    --slurm_exec=*) LAUNCH_SLURM_EXEC=${1#*=}
      [ -n "$LAUNCH_SLURM_EXEC" ] || launch_error "--slurm_exec= needs a command prefix" ;;
    --dry_run) LAUNCH_DRY_RUN=1 ;;
    --report_only) LAUNCH_REPORT_ONLY=1 ;;
    *) launch_error "unknown option $1" ;;
  esac
}

launch_check() {  # validates the launcher options; may set JOBS (the runs at a time)
  case "$LAUNCH_PHASE" in
    ""|prepare) ;;
    *) launch_error "IRECGAN_LAUNCH_PHASE=$LAUNCH_PHASE (only 'prepare', set by the Slurm launcher)" ;;
  esac
  case "$LAUNCHER" in
    local|slurm) ;;
    *) launch_error "--launcher=$LAUNCHER: local or slurm" ;;
  esac
  if [ "$LAUNCH_JOBS_GIVEN" = 1 ] && ! [[ "$JOBS" =~ ^[1-9][0-9]*$ ]]; then
    launch_error "--jobs=$JOBS: a positive integer"
  fi
  if [ "$LAUNCHER" != slurm ]; then
    [ "$LAUNCH_SLURM_ARGS_GIVEN" = 0 ] || launch_error "--slurm_args needs --launcher=slurm"
    [ -z "$LAUNCH_SLURM_GRES" ] || launch_error "--slurm_gres needs --launcher=slurm"
    [ -z "$LAUNCH_SLURM_EXEC" ] || launch_error "--slurm_exec needs --launcher=slurm"
    [ "$LAUNCH_SLURM_SIGNAL_GIVEN" = 0 ] || launch_error "--slurm_signal needs --launcher=slurm"
    [ "$LAUNCH_DRY_RUN" = 0 ] || launch_error "--dry_run needs --launcher=slurm"
  fi
  if [ "$LAUNCH_DRY_RUN" = 1 ] && [ "$LAUNCH_REPORT_ONLY" = 1 ]; then
    launch_error "--dry_run and --report_only exclude each other"
  fi
  if [ -n "$LAUNCH_GPUS" ]; then
    [ "$LAUNCHER" = local ] || launch_error "--gpus is for the local launcher; on Slurm ask for a GPU per run with --slurm_gres=gpu:1"
    local devices dev seen=" " n=0
    IFS=, read -r -a devices <<< "$LAUNCH_GPUS"
    [ "${#devices[@]}" -gt 0 ] || launch_error "--gpus=$LAUNCH_GPUS: a comma-separated list of devices, e.g. --gpus=0,1"
    for dev in "${devices[@]}"; do
      [[ "$dev" =~ ^[A-Za-z0-9][A-Za-z0-9._:/-]*$ ]] \
        || launch_error "--gpus=$LAUNCH_GPUS: '$dev' is not a device (a comma-separated list of CUDA device ids or UUIDs, e.g. --gpus=0,1)"
      case "$seen" in *" $dev "*) launch_error "--gpus=$LAUNCH_GPUS lists device $dev twice (at most one run per device)" ;; esac
      seen="$seen$dev "
      n=$((n + 1))
    done
    [[ "$LAUNCH_GPUS" != *, && "$LAUNCH_GPUS" != ,* && "$LAUNCH_GPUS" != *,,* ]] \
      || launch_error "--gpus=$LAUNCH_GPUS: an empty device in the list"
    command -v flock > /dev/null || launch_error "--gpus needs flock (util-linux), not found"
    # one run per device: as many runs at a time as devices, or fewer with an explicit --jobs
    if [ "$LAUNCH_JOBS_GIVEN" = 0 ] || [ "$JOBS" -gt "$n" ]; then JOBS=$n; fi
  fi
  if [ "$LAUNCHER" = slurm ] && [ "$LAUNCH_JOBS_GIVEN" = 0 ]; then
    JOBS="as many as Slurm allows"  # no array throttle unless --jobs is given
  fi
}

launch_prepare_wanted() {
  [ "$LAUNCH_PHASE" = prepare ] && return 0
  [ "$LAUNCH_REPORT_ONLY" = 0 ] && [ "$LAUNCHER" = local ]
}

launch_prepare_done() {  # the Slurm data-preparation job ends here
  if [ "$LAUNCH_PHASE" = prepare ]; then
    echo "$LAUNCH_SCRIPT: data prepared"
    exit 0
  fi
}

launch_runs() {  # JOBS_FILE TODO
  local jobs_file=$1 todo=$2
  if [ "$LAUNCH_REPORT_ONLY" = 1 ]; then
    if [ "$todo" -gt 0 ]; then
      echo "$LAUNCH_SCRIPT: --report_only: $todo runs not finished, the table holds the finished ones"
    fi
    return 0
  fi
  case "$LAUNCHER" in
    local) launch_local "$jobs_file" "$todo" ;;
    slurm) launch_slurm "$jobs_file" "$todo" ;;
  esac
}

launch_local() {  # JOBS_FILE TODO
  local jobs_file=$1 todo=$2
  [ "$todo" -gt 0 ] || return 0
  if [ -z "$LAUNCH_GPUS" ]; then
    tr '\n' '\0' < "$jobs_file" | xargs -0 -P "$JOBS" -I{} bash -c '{}'
  else
    local locks=${IRECGAN_GPU_LOCKS:-${TMPDIR:-/tmp}/irecgan-gpu-locks-$(id -u)}
    mkdir -p "$locks"
    echo "$LAUNCH_SCRIPT: one run per device of $LAUNCH_GPUS (lock files in $locks)"
    tr '\n' '\0' < "$jobs_file" \
      | xargs -0 -P "$JOBS" -I{} bash "$LAUNCH_LIB/gpu_slot.sh" "$locks" "$LAUNCH_GPUS" '{}'
  fi
}

# -- Slurm ---------------------------------------------------------------------------------------

launch_sweep_name() {  # one name per sweep (its runs folder): irecgan-<script>-<checksum>
  local abs sum
  mkdir -p "$RUNS"
  abs=$(cd "$RUNS" && pwd -P)
  sum=$(printf '%s' "$abs" | cksum | cut -d' ' -f1)
  echo "irecgan-${LAUNCH_SCRIPT%.sh}-$sum"
}

launch_quote() {  # the arguments as one shell-quoted line
  local out="" word
  for word in "$@"; do out="$out $(printf '%q' "$word")"; done
  echo "${out# }"
}

launch_wrapper() {  # IRECGAN_RUN_WRAPPER followed by a space, or nothing
  if [ -n "${IRECGAN_RUN_WRAPPER:-}" ]; then echo "$IRECGAN_RUN_WRAPPER "; fi
}

launch_exec_prefix() {  # --slurm_exec followed by a space, or nothing
  if [ -n "$LAUNCH_SLURM_EXEC" ]; then echo "$LAUNCH_SLURM_EXEC "; fi
}

launch_prepare_script() {  # NAME SUBMISSION_DIR REPO
  local name=$1 sub=$2 repo=$3 arg args=()
  for arg in "${LAUNCH_ARGS[@]}"; do
    [ "$arg" = --dry_run ] || args+=("$arg")
  done
  cat <<EOF
#!/bin/bash
#SBATCH --job-name=$name
#SBATCH --output=$sub/prepare.out
#SBATCH --chdir=$repo
# The data preparation of a sweep, written by $LAUNCH_SCRIPT --launcher=slurm: the script's own
# data phase (IRECGAN_LAUNCH_PHASE=prepare makes it stop after preparing the data).
set -eo pipefail
cd $(printf '%q' "$repo")
$(launch_exec_prefix)env IRECGAN_LAUNCH_PHASE=prepare SMOKE=$(printf '%q' "${SMOKE:-0}") PY=$(printf '%q' "$PY") bash ./$LAUNCH_SCRIPT $(launch_quote "${args[@]}")
EOF
}

launch_array_script() {  # NAME SUBMISSION_DIR REPO TASKS
  local name=$1 sub=$2 repo=$3 tasks=$4 throttle=""
  if [ "$LAUNCH_JOBS_GIVEN" = 1 ]; then throttle="%$JOBS"; fi
  cat <<EOF
#!/bin/bash
#SBATCH --job-name=$name
#SBATCH --array=1-$tasks$throttle
#SBATCH --output=$sub/run-%a.out
#SBATCH --open-mode=append
#SBATCH --chdir=$repo
#SBATCH --requeue
EOF
  if [ "$LAUNCH_SLURM_SIGNAL" -gt 0 ]; then echo "#SBATCH --signal=B:TERM@$LAUNCH_SLURM_SIGNAL"; fi
  if [ -n "$LAUNCH_SLURM_GRES" ]; then echo "#SBATCH --gres=$LAUNCH_SLURM_GRES"; fi
  cat <<EOF
# The runs of a sweep, written by $LAUNCH_SCRIPT --launcher=slurm: task N runs line N of
# $sub/jobs.txt (a snapshot of the script's jobs file), the same command line as the local launcher.
# A SIGTERM to this shell (--signal=B:TERM@N before the time limit, scancel --signal=TERM --batch)
# goes on to the run's process group (the line's shell traps it and waits); the run stops after
# its current unit with a checkpoint and exits 143, and the task requeues itself to continue.
set -eo pipefail
cd $(printf '%q' "$repo")
line=\$(sed -n "\${SLURM_ARRAY_TASK_ID}p" $(printf '%q' "$sub/jobs.txt"))
[ -n "\$line" ] || { echo "no line \$SLURM_ARRAY_TASK_ID in $sub/jobs.txt" >&2; exit 2; }
task=\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}
echo "task \$task (job \$SLURM_JOB_ID, restart \${SLURM_RESTART_COUNT:-0}) starts on \$(hostname)"
forward() {
  echo "task \$task: SIGTERM, forwarded to the run (it stops after its current unit, with a checkpoint)"
  kill -TERM -- -"\$run" 2> /dev/null || true
}
trap forward TERM
set -m  # the run in a process group of its own, which forward() signals
$(launch_exec_prefix)$(launch_wrapper)bash -c "trap : TERM; \$line" &
run=\$!
set +m
status=0
wait "\$run" || status=\$?
while kill -0 "\$run" 2> /dev/null; do  # wait returned for the trap: wait for the run itself
  status=0
  wait "\$run" || status=\$?
done
if [ "\$status" = 143 ]; then
  # a cancelled (scancel) or timed-out task is COMPLETING by now and stays ended; one signalled
  # while it may go on (--signal before the time limit, scancel --signal=TERM) is still RUNNING
  state=\$(squeue -h -j "\$task" -o %T 2> /dev/null || true)
  if [ "\$state" = RUNNING ]; then
    echo "task \$task: the run stopped on SIGTERM (exit 143); requeueing the task to continue from its checkpoint"
    scontrol requeue "\$task" || echo "task \$task: scontrol requeue failed; run $LAUNCH_SCRIPT again to resubmit the run"
  else
    echo "task \$task: the run stopped on SIGTERM (exit 143) while the task is \${state:-gone} (cancelled or out of time): not requeued; run $LAUNCH_SCRIPT again to resubmit the run"
  fi
fi
exit "\$status"
EOF
}

launch_slurm() {  # JOBS_FILE TODO; submits and exits, or returns when everything is done
  local jobs_file=$1 todo=$2
  if [ "$todo" -eq 0 ]; then
    if [ "$LAUNCH_DRY_RUN" = 1 ]; then
      echo "$LAUNCH_SCRIPT: --dry_run: every run has results.json, nothing to submit"
      exit 0
    fi
    return 0
  fi
  local name repo sub slurm_args=()
  name=$(launch_sweep_name)
  repo=$(pwd -P)
  read -r -a slurm_args <<< "$LAUNCH_SLURM_ARGS"
  if [ "$LAUNCH_DRY_RUN" = 1 ]; then
    sub="$(cd "$RUNS" && pwd -P)/slurm/<time>-<id>"
    echo "# --dry_run: would submit these two jobs (nothing submitted)"
    echo "# sbatch --parsable $(launch_quote "${slurm_args[@]}") $sub/prepare.sbatch"
    launch_prepare_script "$name" "$sub" "$repo"
    echo "# sbatch --parsable --dependency=afterok:<prepare job id> --kill-on-invalid-dep=yes $(launch_quote "${slurm_args[@]}") $sub/runs.sbatch"
    launch_array_script "$name" "$sub" "$repo" "$todo"
    echo "# $sub/jobs.txt (task N runs line N):"
    cat "$jobs_file"
    exit 0
  fi
  local tool
  for tool in sbatch squeue; do
    command -v "$tool" > /dev/null || { echo "$LAUNCH_SCRIPT: --launcher=slurm needs $tool, not found" >&2; exit 1; }
  done
  local active
  if ! active=$(squeue -h -u "$(id -un)" -n "$name" -o "%i %T" 2>&1); then
    echo "$LAUNCH_SCRIPT: squeue failed: $active" >&2; exit 1
  fi
  if [ -n "$active" ]; then
    echo "$LAUNCH_SCRIPT: jobs of this sweep are still queued or running, not submitting again:"
    echo "$active" | sed 's/^/  /'
    echo "$LAUNCH_SCRIPT: run the same command again when they are done (squeue -n $name)"
    exit 0
  fi
  mkdir -p "$RUNS/slurm"
  sub=$(mktemp -d "$(cd "$RUNS" && pwd -P)/slurm/$(date +%Y%m%d-%H%M%S)-XXXX")
  cp "$jobs_file" "$sub/jobs.txt"
  launch_prepare_script "$name" "$sub" "$repo" > "$sub/prepare.sbatch"
  local prep_id array_id
  prep_id=$(sbatch --parsable "${slurm_args[@]}" "$sub/prepare.sbatch")
  prep_id=${prep_id%%;*}
  launch_array_script "$name" "$sub" "$repo" "$todo" > "$sub/runs.sbatch"
  if ! array_id=$(sbatch --parsable --dependency="afterok:$prep_id" --kill-on-invalid-dep=yes \
                      "${slurm_args[@]}" "$sub/runs.sbatch"); then
    scancel "$prep_id" || true
    echo "$LAUNCH_SCRIPT: submitting the run array failed; cancelled the data preparation job $prep_id" >&2
    exit 1
  fi
  array_id=${array_id%%;*}
  echo "$LAUNCH_SCRIPT: submitted to Slurm: data preparation job $prep_id, run array job $array_id ($todo tasks, $JOBS at a time)"
  echo "$LAUNCH_SCRIPT: batch scripts and logs in $sub; follow with: squeue -n $name"
  echo "$LAUNCH_SCRIPT: when the array is done, run the same command again: it makes the table, or resubmits the runs without results.json"
  exit 0
}
