#!/usr/bin/env bash
# The design card's stack in a virtual environment: Python 3.6 + TensorFlow 1.15.5 + numpy
# 1.18.5, installed as the Docker image (Dockerfile) installs it: requirements/tf1.txt, then
# `pip install --no-deps -e .`. Two differences, both forced by a CPU host: TensorFlow is the CPU
# build of the same release (tensorflow==1.15.5; the image's tensorflow-gpu cannot be imported
# without CUDA 10's libraries), and the Python is 3.6.15 from pyenv (the image has 3.6.9).
# Every other version is pinned by requirements/constraints-tf1-py36.txt.
#
#   scripts/venv_tf1.sh [DIR]     (default .venv-tf1; an existing DIR is reused)
#
# The interpreter: $PYTHON36 if set, else python3.6 on PATH, else pyenv's 3.6.15
# (${PYENV_ROOT:-$HOME/.pyenv}/versions/3.6.15, present on the development and CI machines).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-tf1}
py=${PYTHON36:-}
if [ -z "$py" ]; then
  if command -v python3.6 > /dev/null 2>&1 && python3.6 -c "" 2> /dev/null; then
    py=python3.6
  else
    py=${PYENV_ROOT:-$HOME/.pyenv}/versions/3.6.15/bin/python3.6
  fi
fi
"$py" -c 'import sys; assert sys.version_info[:2] == (3, 6), sys.version' 2> /dev/null || {
  echo "error: no Python 3.6 at '$py' (set PYTHON36=/path/to/python3.6)" >&2; exit 2; }
constraints=requirements/constraints-tf1-py36.txt
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
# the venv's pip 18.1 sees TensorFlow only up to 1.14.0 (no manylinux2010 wheels)
"$venv/bin/pip" install -q -c "$constraints" pip
# requirements/tf1.txt with the CPU build of the same TensorFlow
sed 's/^tensorflow-gpu==/tensorflow==/' requirements/tf1.txt > "$venv/requirements-tf1-cpu.txt"
"$venv/bin/pip" install -q -c "$constraints" -r "$venv/requirements-tf1-cpu.txt"
"$venv/bin/pip" install -q --no-deps -e .
