"""Same seed, same bytes (issue 25): a tiny irecgan run (every phase, sampled sessions, rollouts,
D) writes the same metrics.jsonl and results.json alone, beside CPU-burning processes with a
second run in parallel, and under an environment that asks TensorFlow for oneDNN's kernels with
another instruction set, as another CPU would pick (the package pins those choices: MatMul on
Eigen's own kernel, oneDNN capped at AVX2, its rewrites off; before the pins the last run wrote
other bytes: measured on an AVX-512 machine with ONEDNN_MAX_CPU_ISA=SSE41 or AVX2)."""
import os
import subprocess
import sys
import threading

import pytest

from tiny_logs import train_tiny, write_mdp_log

BURN = "import time\nend = time.time() + 300\nwhile time.time() < end:\n    pass\n"
OTHER_CPU = {"ONEDNN_MAX_CPU_ISA": "SSE41", "TF_ENABLE_ONEDNN_OPTS": "1",
             "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "1"}


def outputs(run_dir):
    out = {}
    for name in ("metrics.jsonl", "results.json"):
        with open(os.path.join(str(run_dir), name), "rb") as handle:
            out[name] = handle.read()
    return out


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("determinism"))


@pytest.fixture(scope="module")
def alone(log, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("alone") / "run"
    rc, err = train_tiny(sys.executable, run_dir, *log)
    assert rc == 0, err[-3000:]
    return outputs(run_dir)


def test_same_bytes_beside_cpu_burners_and_a_parallel_run(log, alone, tmp_path):
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(2)]
    try:
        results = {}

        def one(name):
            results[name] = train_tiny(sys.executable, tmp_path / name, *log)
        threads = [threading.Thread(target=one, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    for name in ("a", "b"):
        rc, err = results[name]
        assert rc == 0, err[-3000:]
        assert outputs(tmp_path / name) == alone, name


def test_same_bytes_when_the_environment_asks_oneDNN_for_other_kernels(log, alone, tmp_path):
    rc, err = train_tiny(sys.executable, tmp_path / "run", *log, env=OTHER_CPU)
    assert rc == 0, err[-3000:]
    assert outputs(tmp_path / "run") == alone


def test_tfcompat_pins_the_cpu_kernel_choices_before_tensorflow_starts():
    # the package sets them on import, before any module of it can import TensorFlow
    code = ("import os\nos.environ.update(%r)\nimport irecgan.sim.recsim_env\n"
            "import irecgan.tfcompat as c\n"
            "print(sorted((k, os.environ[k]) for k in c.REPRODUCIBLE_CPU_ENV))" % OTHER_CPU)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "src"))
    out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=300).stdout.decode()
    assert out.strip() == str([("ONEDNN_MAX_CPU_ISA", "AVX2"),
                               ("TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL", "0"),
                               ("TF_ENABLE_ONEDNN_OPTS", "0"),
                               ("TF_OVERRIDE_GLOBAL_THREADPOOL", "1")])


SESSIONS_IN_ORDER = """
import hashlib, sys
import numpy as np
from irecgan.rundir import machine
from irecgan.tfcompat import tf


def long_product(threads):  # a weight gradient's shape: Eigen splits k between the threads
    rng = np.random.RandomState(1)
    graph = tf.Graph()
    with graph.as_default():
        out = tf.matmul(tf.constant(rng.standard_normal((64, 4096)).astype(np.float32)),
                        tf.constant(rng.standard_normal((4096, 64)).astype(np.float32)))
    config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                            inter_op_parallelism_threads=threads)
    with tf.Session(graph=graph, config=config) as session:
        return hashlib.sha256(session.run(out).tobytes()).hexdigest()[:12]


if sys.argv[1] == "fingerprint first":
    print(machine.describe()["cpu_fingerprint"], long_product(4), long_product(1))
else:
    four = long_product(4)
    print(machine.describe()["cpu_fingerprint"], four, long_product(1))
"""


def test_a_sessions_numbers_and_the_fingerprint_do_not_follow_earlier_sessions_threads():
    # TensorFlow sizes one intra-op pool per process by its first session unless told otherwise
    # (TF_OVERRIDE_GLOBAL_THREADPOOL, pinned by the package): then a 4-thread session first made
    # the fingerprint (1 thread) that of 4 threads, and after the fingerprint a 4-thread session
    # ran on 1 thread (seen under pytest-xdist: a worker's earlier test changed results.json)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "src"))
    out = {}
    for order in ("fingerprint first", "4 threads first"):
        proc = subprocess.run([sys.executable, "-c", SESSIONS_IN_ORDER, order], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        out[order] = proc.stdout.decode().split()
    assert len(out["fingerprint first"]) == 3 and out["fingerprint first"] == out[
        "4 threads first"], out
