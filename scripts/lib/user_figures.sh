# U's figures of finished runs, for the study scripts' reports: sourced by decomposition.sh and
# objectives_study.sh (from the repository root), which call
#
#   user_figures NAME PY JOBS REPORT_ONLY DIR...
#
# For every finished run with a user model below the DIRs that lacks them, `irecgan-evaluate
# --user_fit` (U's next-click fit on the test split beside the truth's: user_fit.json) and
# `--model_value` (U's and the simulator's answers to the final agent's own lists:
# model_value.json), JOBS at a time, each run's output in RUN/<kind>.log; a failure is reported
# (`<kind> FAILED for RUN`) and the others go on. With REPORT_ONLY=1 it only counts what is
# missing. NAME prefixes its messages.
user_figures() {
  local name=$1 py=$2 jobs=$3 report_only=$4
  shift 4
  local kind todo_runs n_todo
  for kind in user_fit model_value; do
    todo_runs=$("$py" -m irecgan.cli.decomposition --list_$kind "$@")
    n_todo=$(printf '%s' "$todo_runs" | grep -c . || true)
    if [ "$n_todo" -eq 0 ]; then
      echo "$name: every run with a user model has its $kind"
    elif [ "$report_only" = 1 ]; then
      echo "$name: --report_only: $n_todo runs without a $kind, not made"
    else
      echo "$name: the $kind of $n_todo runs ($jobs at a time)"
      printf '%s\n' "$todo_runs" | tr '\n' '\0' | xargs -0 -P "$jobs" -I{} bash -c \
        '"$0" -m irecgan.cli.evaluate --$2 --run_dir="$1" > "$1/$2.log" 2>&1 || echo "$2 FAILED for $1, see $1/$2.log"' "$py" {} "$kind"
    fi
  done
}
