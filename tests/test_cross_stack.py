"""A run moves between the two stacks (issue 24): started on TF 2.x and resumed on TF 1.15, or the
reverse, it ends with the figures of a run that stayed on one stack.

Collected in the TF 1.15 suite only (tests/conftest.py): that is the README's second test
command, which runs after the first has made the TF 2.x venv `.venv` (IRECGAN_TF2_PYTHON names
another interpreter). A tiny irecgan run (every phase) is killed by SIGKILL while it writes its
third checkpoint (irecgan.rundir.faults), so two checkpoints written by one stack (numpy 2.x or 1.18.5)
are restored by the other. Before checkpoint.statefile, the TF 1.15 side could not read a
numpy 2 pickle at all.

How close: the two stacks draw the same initial values (tfcompat.next_op_seed) and the same
numpy random streams, but TensorFlow's CPU kernels differ between 1.15 and 2.x in float rounding
(summation order of matmuls and reductions): measured, the losses of a whole tiny run agree to
2e-7 relative and the online and offline figures exactly. So the check is: the same records,
keys and discrete figures, every number within 1e-5 relative (1e-7 absolute), and results.json
equal to both single-stack runs after rounding to 6 significant digits.
"""
import json
import os
import sys

import pytest

from irecgan.tfcompat import TF_VERSION
from conftest import tf2_python
from tiny_logs import train_tiny, write_mdp_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILL = "checkpoint.variables:3"  # two complete checkpoints (agent epochs 1 and 2) before it


def train(python, run_dir, log, params, fault=None):
    return train_tiny(python, run_dir, log, params,
                      env={"IRECGAN_FAULT_AT": fault} if fault else None)


def records(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
        lines = handle.read().splitlines()
    with open(os.path.join(run_dir, "results.json")) as handle:
        results = json.load(handle)
    # where the run finished (stack, CPU fingerprint): the stacks' own, not a figure
    assert set(results.pop("machine")) == {"python", "numpy", "tensorflow", "cpu_fingerprint"}
    return lines, results


def assert_close(a, b, where="", rel=1e-5, atol=1e-7):
    assert type(a) is type(b) or {type(a), type(b)} <= {int, float}, (where, a, b)
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), where
        for key in a:
            assert_close(a[key], b[key], "%s.%s" % (where, key), rel, atol)
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, "%s[%d]" % (where, i), rel, atol)
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) <= atol + rel * abs(b), (where, a, b)
    else:
        assert a == b, (where, a, b)


def rounded(value):
    if isinstance(value, dict):
        return dict((k, rounded(v)) for k, v in value.items())
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return float("%.6g" % value) if isinstance(value, float) else value


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The two single-stack runs and the two that moved, by name."""
    assert TF_VERSION.startswith("1."), TF_VERSION  # collected in the TF 1.15 suite only
    tf2 = tf2_python()
    root = tmp_path_factory.mktemp("cross_stack")
    log, params = write_mdp_log(root)
    stacks = {"tf1": sys.executable, "tf2": tf2}
    out = {}
    for name, python in sorted(stacks.items()):
        rc, err = train(python, str(root / name), log, params)
        assert rc == 0, err[-3000:]
        out[name] = records(str(root / name))
    for first, second in (("tf2", "tf1"), ("tf1", "tf2")):
        run_dir = str(root / (first + "_then_" + second))
        rc, err = train(stacks[first], run_dir, log, params, fault=KILL)
        assert rc == -9 and "fault injection: kill at " + KILL in err, (rc, err[-3000:])
        assert not os.path.exists(os.path.join(run_dir, "results.json"))
        written = [n for n in os.listdir(os.path.join(run_dir, "checkpoints"))
                   if not n.endswith(".partial")]
        assert sorted(written) == ["ckpt-0", "ckpt-1"]
        rc, err = train(stacks[second], run_dir, log, params)
        assert rc == 0, err[-3000:]
        assert "resuming %s from checkpoint (agent epoch 2)" % run_dir in err, err[-3000:]
        out[first + "_then_" + second] = records(run_dir)
    return out


@pytest.mark.parametrize("moved", ["tf2_then_tf1", "tf1_then_tf2"])
def test_a_run_resumed_on_the_other_stack_ends_with_the_single_stack_figures(runs, moved):
    first, second = moved.split("_then_")
    lines, results = runs[moved]
    # the first two records were written by the first stack, byte for byte
    assert lines[:2] == runs[first][0][:2]
    for stayed in (first, second):
        other_lines, other_results = runs[stayed]
        assert len(lines) == len(other_lines)
        for i, (a, b) in enumerate(zip(lines, other_lines)):
            assert_close(json.loads(a), json.loads(b), "%s metrics record %d" % (stayed, i + 1))
        assert_close(results, other_results, stayed + " results")
        assert rounded(results) == rounded(other_results)


def test_the_two_stacks_alone_agree(runs):
    (a, ra), (b, rb) = runs["tf1"], runs["tf2"]
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        assert_close(json.loads(x), json.loads(y), "metrics record %d" % (i + 1))
    assert_close(ra, rb, "results")
