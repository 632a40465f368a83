"""Shared pytest fixtures."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
if SRC not in sys.path:  # the tests also run from a checkout without `pip install -e .`
    sys.path.insert(0, SRC)


def run_script(args, folder, name, env=None):
    """Runs `bash ROOT/args[0] args[1:]` with SMOKE=1 from the repository root, its output in
    folder/name.log; returns the output, asserting exit status 0."""
    import subprocess
    env = dict(os.environ if env is None else env, SMOKE="1", PY=sys.executable,
               PYTHONPATH=SRC)
    log = os.path.join(str(folder), name + ".log")
    with open(log, "w") as handle:
        proc = subprocess.run(["bash", os.path.join(ROOT, args[0])] + list(args[1:]), cwd=ROOT,
                              env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=900)
    with open(log) as handle:
        text = handle.read()
    assert proc.returncode == 0, text[-3000:]
    return text


@pytest.fixture(scope="session")
def sim_smoke_local(tmp_path_factory):
    """One `SMOKE=1 run_sim.sh` (local launcher, defaults) for every test that needs its runs:
    (runs, out, output) where the script made runs + "_smoke" and out + "_smoke"."""
    folder = tmp_path_factory.mktemp("sim_smoke")
    runs, out = str(folder / "runs"), str(folder / "results")
    text = run_script(["run_sim.sh", "--runs=" + runs, "--out=" + out], folder, "local")
    return runs, out, text
