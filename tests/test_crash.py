"""A crash, a corrupt file or a second launch never corrupts a run (issue 16).

A tiny irecgan run (every phase: agent and user pretraining, D pretraining, generation with
Monte-Carlo q_D, D training, adversarial and final evaluation) is killed with SIGKILL again and
again, each time resumed by a new process, and must end with results.json and metrics.jsonl
byte-identical to those of an uninterrupted run:

* test_seeded_kills_damage_and_a_second_launch: more than 20 kills drawn from a seeded
  RandomState, at the n-th TensorFlow call inside pretraining, generation, D training or
  evaluation (`run@FUNC:n` of irecgan.rundir.faults) and inside checkpoint, metrics and results writes
  (half a metrics line on disk, a checkpoint without its marker, ...), one after the other on one
  run directory. Along the way the newest checkpoint is damaged twice (the resume says so in one
  line, keeps the folder and restores the previous one), a copy with no intact checkpoint is
  refused in one line with exit status 2, and a second process started while the first is
  stopped mid-checkpoint is refused with "RUN_DIR is in use by process N" and changes nothing.
* test_kills_at_random_times: SIGKILL from outside after seeded random amounts of CPU time
  (anywhere at all: inside TensorFlow, mid-write, while building the graph).

The processes are forked by tests/fault_server.py, which imports TensorFlow once (a new
interpreter per kill would spend most of this test importing it).
"""
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from irecgan.config import resolve
from irecgan.rundir.checkpoint import verify
from tiny_logs import TINY_IRECGAN, write_mdp_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAN_SEED = 16

TINY = TINY_IRECGAN  # 11 checkpoints (tests/tiny_logs.py)

# TensorFlow's C++ start-up lines (not ours); see tests/test_runner.py
TF_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|"
                           r"[IWEF]\d{4} \d\d:\d\d:\d\d|To enable the following instructions)")


def own_lines(text):
    return [line for line in text.splitlines() if line.strip() and not TF_NATIVE_LOG.match(line)]


class Server(object):
    """The fork server (tests/fault_server.py) and the jobs it ran."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.count = 0
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        env.pop("IRECGAN_FAULT_AT", None)
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests",
                                                                    "fault_server.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def _ask(self, job):
        self.proc.stdin.write((json.dumps(job) + "\n").encode("utf-8"))
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fault server died"
        return json.loads(line.decode("utf-8"))

    def run(self, run_dir, config, fault="", kill_after=None):
        """Train in a new process; returns its status dict plus "log" (its output) and "log_path"."""
        self.count += 1
        log = os.path.join(self.tmp, "job%03d.log" % self.count)
        reply = self._ask({"run": run_dir, "config": config, "fault": fault,
                           "kill_after": kill_after, "log": log})
        reply["log_path"] = log
        reply["log"] = read_text(log)
        return reply

    def cont(self, reply):
        """Let a stopped job go on; returns its final status (log re-read)."""
        out = self._ask({"cont": reply["pid"]})
        out["log_path"] = reply["log_path"]
        out["log"] = read_text(reply["log_path"])
        return out

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()
        self.proc.stdout.close()


def read_text(path):
    with io.open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(server, config, reference run directory, CPU seconds it took): the uninterrupted run."""
    root = tmp_path_factory.mktemp("crash")
    log, params = write_mdp_log(root)
    config = resolve(dict(TINY, data=log, env_params=params))
    server = Server(str(root))
    reference = str(root / "reference")
    done = server.run(reference, config)
    assert done["exit"] == 0, done["log"]
    yield server, config, reference, done["cpu"]
    server.close()


def assert_same_as_reference(run_dir, reference):
    for name in ("metrics.jsonl", "results.json"):
        assert read_bytes(os.path.join(run_dir, name)) == \
            read_bytes(os.path.join(reference, name)), name
    assert set(json.loads(read_text(os.path.join(run_dir, "timing.json")))) == {"wall_time_s"}


def kill_plan(rng):
    """Faults in the order the run meets them, each with a seeded n small enough that it
    happens before the run ends (a resume starts again from the last checkpoint, so a fault
    within the unit being redone makes no progress; the next kind of fault moves on)."""
    plan = ["run@pretrain:%d" % rng.randint(1, 25) for _ in range(3)]
    plan += ["metrics.line:%d" % rng.randint(1, 3),
             "checkpoint.variables:%d" % rng.randint(1, 3),
             "run@pretrain:%d" % rng.randint(1, 13),
             "checkpoint.marker:%d" % rng.randint(1, 3)]
    for _ in range(2):  # adversarial epochs: (D pretraining), g, d, eval
        plan += ["run@generate:%d" % rng.randint(1, 9) for _ in range(3)]
        plan += ["run@_disc_step:%d" % rng.randint(1, 3),
                 "run@adversarial_epoch:%d" % rng.randint(1, 7)]
    plan += ["checkpoint.rename:1", "metrics.line:1", "run@final:%d" % rng.randint(1, 9),
             "results:1", "run@final:%d" % rng.randint(1, 9)]
    return plan


KIND = [("run@pretrain", "pretraining"), ("run@generate", "generation"),
        ("run@_disc_step", "D training"), ("run@adversarial_epoch", "evaluation"),
        ("run@final", "evaluation"), ("checkpoint.", "checkpoint write"),
        ("metrics.line", "metrics write"), ("results", "results write")]


def kind_of(fault):
    return [kind for prefix, kind in KIND if fault.startswith(prefix)][0]


def checkpoints(run_dir):
    folder = os.path.join(run_dir, "checkpoints")
    return sorted(os.listdir(folder), key=lambda n: (len(n), n)) if os.path.isdir(folder) else []


def complete(run_dir):
    return [n for n in checkpoints(run_dir) if re.match(r"^ckpt-\d+$", n)]


def damage_newest(run_dir, which):
    """Cut the newest checkpoint's data file or state.json in half; returns (folder, file)."""
    newest = complete(run_dir)[-1]
    folder = os.path.join(run_dir, "checkpoints", newest)
    name = [n for n in os.listdir(folder) if n.startswith(which)][0]
    path = os.path.join(folder, name)
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    return newest, name


def snapshot(run_dir):
    out = {}
    for dirpath, _, files in os.walk(run_dir):
        for name in files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, run_dir)] = read_bytes(path)
    return out


def test_seeded_kills_damage_and_a_second_launch(setup, tmp_path):
    server, config, reference, _ = setup
    run_dir = str(tmp_path / "run")
    plan = kill_plan(np.random.RandomState(PLAN_SEED))
    damage_at = {7: "model.data", 13: "state.json"}  # before the resume after these kills
    second_launch_at, no_intact_at = 10, 16
    kinds, previous_pid, damaged = set(), None, []
    for i, fault in enumerate(plan):
        if i == second_launch_at:
            # the first process stops (holding the lock, restoring its checkpoint); a second
            # one is refused and changes nothing; the first goes on until its planned kill
            first = server.run(run_dir, config, fault="run:1:stop," + fault)
            assert first["stopped"], first["log"]
            assert "fault injection: stop at run:1 (in " in first["log"]
            before = snapshot(run_dir)
            second = server.run(run_dir, config)
            assert second["exit"] == 2
            assert own_lines(second["log"]) == ["error: %s is in use by process %d"
                                                % (run_dir, first["pid"])]
            assert snapshot(run_dir) == before
            reply = server.cont(first)
        else:
            reply = server.run(run_dir, config, fault=fault)
        assert reply["signal"] == signal.SIGKILL, (i, fault, reply)
        assert "fault injection: kill at %s (in " % fault in reply["log"], reply["log"]
        assert "Traceback" not in reply["log"]
        if previous_pid is not None:  # the killed process's lock is taken over, with a note
            assert "note: %s was locked by process %d, which ended without releasing it; " \
                   "taking the lock over" % (run_dir, previous_pid) in reply["log"]
        if i - 1 in damage_at:
            bad, name = damaged[-1]
            assert re.search(r"^checkpoint %s is damaged \(%s has \d+ bytes, expected \d+\); "
                             r"kept as %s\.damaged; using ckpt-\d+ instead$"
                             % (bad, re.escape(name), bad), reply["log"], re.M), reply["log"]
            assert os.path.isdir(os.path.join(run_dir, "checkpoints", bad + ".damaged"))
        previous_pid = reply["pid"]
        kinds.add(kind_of(fault))
        if i in damage_at:
            assert len(complete(run_dir)) == 2  # there is an older one to fall back to
            damaged.append(damage_newest(run_dir, damage_at[i]))
        if i == no_intact_at:
            copy = str(tmp_path / "copy")
            shutil.copytree(run_dir, copy)
            names = complete(copy)
            for name in names:
                folder = os.path.join(copy, "checkpoints", name)
                os.remove(os.path.join(folder, "state.json"))
            refused = server.run(copy, config)
            assert refused["exit"] == 2
            lines = [line for line in own_lines(refused["log"]) if not line.startswith("note:")]
            assert len(lines) == 1 and lines[0].startswith(
                "error: %s: no intact checkpoint (%s: state.json is missing"
                % (os.path.join(copy, "checkpoints"), names[-1])), lines
            assert complete(copy) == names  # nothing renamed, nothing deleted

    assert len(plan) >= 20
    assert kinds == {"pretraining", "generation", "D training", "evaluation",
                     "checkpoint write", "metrics write", "results write"}
    finished = server.run(run_dir, config)
    assert finished["exit"] == 0, finished["log"]
    assert "taking the lock over" in finished["log"]
    assert_same_as_reference(run_dir, reference)
    # the two damaged checkpoints are still there; the current ones verify
    assert [n for n in checkpoints(run_dir) if n.endswith(".damaged")] == \
        sorted(set(bad + ".damaged" for bad, _ in damaged), key=lambda n: (len(n), n))
    for name in complete(run_dir):
        assert verify(os.path.join(run_dir, "checkpoints", name)) is None
    assert not [n for n in checkpoints(run_dir) if n.endswith(".partial")]


def test_kills_at_random_times(setup, tmp_path):
    server, config, reference, cpu = setup
    run_dir = str(tmp_path / "run")
    rng = np.random.RandomState(PLAN_SEED + 1)
    killed = 0
    # a process spends some 40 % of an uninterrupted run's CPU time on building its graph
    # and restoring, so these times fall into the training of the first one, and into whatever
    # a resume has left to do, or after its end (then it finishes and is not killed)
    for fraction in rng.uniform(0.4, 0.9, size=3):
        reply = server.run(run_dir, config, kill_after=float(fraction * cpu))
        assert reply["signal"] == signal.SIGKILL or reply["exit"] == 0, reply["log"]
        killed += reply["signal"] == signal.SIGKILL
    assert killed >= 1
    finished = server.run(run_dir, config)
    assert finished["exit"] == 0, finished["log"]
    assert_same_as_reference(run_dir, reference)


# -- SIGTERM and SIGINT (issue 25) ----------------------------------------------------------------

STOP_LINE = re.compile(r"^stopped by SIG(TERM|INT) .*; run the same command to resume$")


def newest_where(run_dir):
    """The `where` of the newest complete checkpoint (None: no checkpoint)."""
    names = complete(run_dir)
    if not names:
        return None
    text = read_text(os.path.join(run_dir, "checkpoints", names[-1], "state.json"))
    return json.loads(text)["state"]["where"]


def test_sigterm_and_sigint_stop_at_a_safe_point_and_the_resume_is_exact(setup, tmp_path):
    """A signal the run sends itself at a known TensorFlow call (faults' `term` / `int`
    actions) stops it after the unit in progress, with that unit's checkpoint, one line and exit
    status 128 + the signal; while it opens the run directory and during the final evaluation it
    stops at once; a repeated SIGTERM is ignored, a second SIGINT exits at once. Resumed after
    each, the run ends byte-identical to the uninterrupted reference."""
    server, config, reference, _ = setup
    run_dir = str(tmp_path / "run")
    adv = "adversarial unit %d/7 %s"
    steps = [  # (fault, exit status, the stop line's middle, newest checkpoint afterwards)
        ("run@pretrain:5:term", 143, "SIGTERM after agent epoch 1: checkpoint written",
         "agent epoch 1"),
        ("run@pretrain:3:term,run@run_epoch:6:term", 143,
         "SIGTERM after agent epoch 2: checkpoint written", "agent epoch 2"),
        ("run:1:term", 143, "SIGTERM before training: its checkpoint (agent epoch 2) is current",
         "agent epoch 2"),
        ("run@generate:3:int", 130, "SIGINT after %s: checkpoint written"
         % (adv % (1, "('d_pretrain',)")), adv % (1, "('d_pretrain',)")),
        ("run@generate:1:term,run@_train_pass:1:int", 130, None, adv % (1, "('d_pretrain',)")),
        ("run@adversarial_epoch:2:int", 130, "SIGINT after %s: checkpoint written"
         % (adv % (4, "('eval', 1)")), adv % (4, "('eval', 1)")),
        ("run@final:2:term", 143, "SIGTERM during the final evaluation: it runs again from the "
         "last checkpoint (%s)" % (adv % (7, "('eval', 2)")), adv % (7, "('eval', 2)")),
    ]
    for fault, status, middle, where in steps:
        reply = server.run(run_dir, config, fault=fault)
        log = reply["log"]
        assert reply["exit"] == status, (fault, reply)
        assert "Traceback" not in log, log
        for event in fault.split(","):
            assert "fault injection: %s at %s (in " % (event.split(":")[2],
                                                     event.rsplit(":", 1)[0]) in log, log
        lines = [line for line in own_lines(log) if STOP_LINE.match(line)]
        if middle is None:  # the second signal, a SIGINT: out at once, no stop line
            assert lines == [] and own_lines(log)[-1] == (
                "second SIGINT while stopping: exiting at once (the checkpoints are complete "
                "or absent)"), log
        else:
            assert lines == ["stopped by %s; run the same command to resume" % middle], log
            assert own_lines(log)[-1] == lines[0]
        assert ("SIGTERM again: already stopping at the next safe point" in log) == (
            fault.count("term") == 2), log
        assert newest_where(run_dir) == where, fault
        assert not os.path.exists(os.path.join(run_dir, "results.json"))
    finished = server.run(run_dir, config)
    assert finished["exit"] == 0, finished["log"]
    assert not [line for line in own_lines(finished["log"]) if STOP_LINE.match(line)]
    assert_same_as_reference(run_dir, reference)
    assert not [n for n in checkpoints(run_dir) if n.endswith(".partial")]
