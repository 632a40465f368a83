"""irecgan.cli.sweep (issue 33): several irecgan-train runs in one process write the bytes of one
process per run; a failing run is reported and the next one runs; a run in use is skipped; a
signal stops the sweep with irecgan-train's exit status, and the same command resumes."""
import io
import os
import subprocess
import sys

import pytest

from tiny_logs import ROOT, TINY_IRECGAN, train_tiny, write_mdp_log

from irecgan.rundir.runlock import RunLock

# two cheap methods, agent pretraining only; different methods so that a per-process op-seed
# counter (instead of per graph) would move the second run's initial values
RUNS = (("a", "pg"), ("c", "lstm"))


def flags_of(log, params, run_dir, method):
    config = dict(TINY_IRECGAN, method=method)
    return " ".join(["--data=" + log, "--env_params=" + params, "--noprogress"]
                    + ["--%s=%s" % item for item in sorted(config.items())]
                    + ["--run_dir=" + run_dir])


def sweep(lines, env=None):
    """(exit status, stdout lines, stderr) of `python -m irecgan.cli.sweep --run=LINE...`."""
    full_env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    full_env.pop("IRECGAN_FAULT_AT", None)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.sweep"]
                          + ["--run=" + line for line in lines], cwd=ROOT, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=600)
    return proc.returncode, proc.stdout.splitlines(), proc.stderr


def outputs(run_dir):
    out = {}
    for name in ("metrics.jsonl", "results.json"):
        with io.open(os.path.join(run_dir, name), "rb") as handle:
            out[name] = handle.read()
    return out


@pytest.fixture(scope="module")
def separate(tmp_path_factory):
    """The tiny log and the two runs, each trained by an irecgan-train process of its own."""
    root = tmp_path_factory.mktemp("separate")
    log, params = write_mdp_log(root, n_sessions=120)
    out = {}
    for name, method in RUNS:
        status, err = train_tiny(sys.executable, str(root / name), log, params, method=method)
        assert status == 0, err[-3000:]
        out[name] = outputs(str(root / name))
    return log, params, out


def test_a_sweep_writes_the_bytes_of_separate_processes_and_goes_on_after_a_failure(
        separate, tmp_path):
    log, params, expected = separate
    dirs = dict((name, str(tmp_path / name)) for name in ("a", "b", "c", "d"))
    lines = [flags_of(log, params, dirs["a"], "pg"),
             flags_of(log, params, dirs["b"], "pg") + " --k=999",   # more than the 50 items
             flags_of(log, params, dirs["d"], "pg"),
             flags_of(log, params, dirs["c"], "lstm")]
    os.makedirs(dirs["d"])
    with RunLock(dirs["d"]):   # another process holds d: skipped, its log untouched
        status, said, err = sweep(lines)
    assert status == 1, (said, err)   # a run failed; the others ran
    assert said == ["done %s" % dirs["a"],
                    "FAILED %s, see %s.log" % (dirs["b"], dirs["b"]),
                    "skip %s: in use by process %d" % (dirs["d"], os.getpid()),
                    "done %s" % dirs["c"]], err
    with open(dirs["b"] + ".log") as handle:
        assert handle.read().splitlines()[-1].startswith("error: ")   # irecgan-train's line
    assert not os.path.exists(dirs["d"] + ".log")
    for name in ("a", "c"):
        assert outputs(dirs[name]) == expected[name], name
        with open(dirs[name] + ".log") as handle:
            assert "online: reward" in handle.read()   # what irecgan-train prints


def test_a_signal_stops_the_sweep_with_the_runs_status_and_the_same_command_resumes(
        separate, tmp_path):
    log, params, expected = separate
    lines = [flags_of(log, params, str(tmp_path / name), method) for name, method in RUNS]
    # SIGTERM at the first run's 3rd pretraining call: it stops after that epoch's checkpoint
    status, said, err = sweep(lines, env={"IRECGAN_FAULT_AT": "run@pretrain:3:term"})
    first, second = (str(tmp_path / name) for name, _ in RUNS)
    assert status == 143, (said, err)
    assert said == ["stopped %s by a signal, exit 143, see %s.log" % (first, first)], err
    with open(first + ".log") as handle:
        assert "stopped by SIGTERM after agent epoch 1: checkpoint written" in handle.read()
    assert not os.path.exists(second)   # no further run started
    status, said, err = sweep(lines)
    assert status == 0 and said == ["done %s" % first, "done %s" % second], (said, err)
    with open(first + ".log") as handle:
        assert "resuming %s from checkpoint (agent epoch 1)" % first in handle.read()
    for name, _ in RUNS:
        assert outputs(str(tmp_path / name)) == expected[name], name


def test_a_bad_line_or_command_line_is_named(tmp_path):
    status, said, err = sweep(["--method=pg --seed=1"])
    assert status == 1 and said == [
        "FAILED run 1 (--method=pg --seed=1): error: no --run_dir on the line (its log is "
        "RUN_DIR.log)"], err
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.sweep"], cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        'error: no run given: --run="FLAGS" or --runs_file=FILE'), proc.stderr
