"""Shared pytest fixtures and hooks."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
if SRC not in sys.path:  # the tests also run from a checkout without `pip install -e .`
    sys.path.insert(0, SRC)

# no silent skips in CI: IRECGAN_STRICT_SKIPS=1 turns skips into failures (tests/strict_skips.py)
from strict_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401
from irecgan.tfcompat import TF_VERSION  # noqa: E402

# Resuming across the two stacks needs both: collected in the TF 1.15 suite, the README's second
# test command, which runs after the first one has made the TF 2.x venv (test_cross_stack.py).
collect_ignore = [] if TF_VERSION.startswith("1.") else ["test_cross_stack.py"]


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
