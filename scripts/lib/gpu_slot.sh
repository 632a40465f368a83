#!/usr/bin/env bash
# One run of a sweep on a device of its own (the --gpus launcher of scripts/lib/launch.sh, started
# by `xargs -P <number of devices>`):
#
#   gpu_slot.sh LOCK_DIR DEVICES COMMAND_LINE
#
# takes the first device of the comma-separated DEVICES whose lock file LOCK_DIR/<device>.lock it
# can flock (waiting while all are held, e.g. by another sweep on the same devices), runs
# `$IRECGAN_RUN_WRAPPER bash -c COMMAND_LINE` with CUDA_VISIBLE_DEVICES=<device> while holding the
# lock, and exits with the command's status. The lock is released when this process ends.
set -u
locks=$1 devices=$2 line=$3
read -r -a wrapper <<< "${IRECGAN_RUN_WRAPPER:-}"
IFS=, read -r -a list <<< "$devices"
while :; do
  for dev in "${list[@]}"; do
    exec 9>> "$locks/${dev//[^A-Za-z0-9._-]/_}.lock"
    if flock -n 9; then
      CUDA_VISIBLE_DEVICES=$dev "${wrapper[@]}" bash -c "$line" 9>&-
      exit $?
    fi
    exec 9>&-
  done
  sleep 1
done
