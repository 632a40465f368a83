"""Throughput of the data path on this machine (prints figures; not a timed test).

    python benchmarks/data.py [--sessions=10000]

* MDP simulator: logged steps (log lines) per second, per logging policy, 10k sessions each;
* neural-oracle simulator: logged steps per second (10k sessions), and its online rollouts;
* reader: `read_log` lines per second on a generated 10k-session MDP log (max policy), and the
  writer's lines per second for the same file;
* batch building: ms per `make_batch` of run_sim.sh's 64-session batches, on the MDP log (random
  policy, as data/sim/mdp_sharp.log's; 50 items, lists of 10) and the neural log (99 items,
  lists of 20), before and after the vectorized one of issue 33: "before" is the frozen copy of
  the old `make_batch` that tests/test_batching_vectorized.py keeps as its reference, timed in
  the same process in alternating rounds (the same load for both); the two give equal arrays,
  checked here too. Process-CPU ms (time.process_time) per batch, the median of --rounds.
Runs in well under a minute.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np

import _common  # noqa: E402,F401  (puts this checkout's src/ on sys.path)

from irecgan.data import logfile  # noqa: E402
from irecgan.data.batching import make_batch  # noqa: E402
from irecgan.data.vocab import Vocabulary  # noqa: E402
from irecgan.sim import mdp, neural, online  # noqa: E402

TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=64, help="sessions per make_batch")
    parser.add_argument("--rounds", type=int, default=7,
                        help="make_batch: alternating rounds over every batch of the log")
    args = parser.parse_args()
    n = args.sessions
    print("numpy %s, python %s, %d CPUs" % (np.__version__, sys.version.split()[0],
                                           os.cpu_count() or 0))

    env = mdp.MDP.random(np.random.RandomState([0, 1]))
    logs = {}
    for name in mdp.POLICIES:
        policy = mdp.logging_policy(env, name, np.random.RandomState([0, 3]))
        (sessions, stats), dt = timed(lambda: mdp.generate_log(
            env, policy, n, np.random.RandomState([0, 2])))
        logs[name] = sessions
        print("mdp %-6s %6d sessions %8d steps  %6.2f s  %9.0f logged steps/s  (%.2f steps/session)"
              % (name, n, stats["steps"], dt, stats["steps"] / dt, stats["steps"] / float(n)))

    user_params, policy_params = neural.random_params(np.random.RandomState([0, 1]))
    user = neural.NeuralUser(user_params)
    policy = neural.LoggingPolicy(policy_params)
    (sessions, stats), dt = timed(lambda: neural.generate_log(
        user, policy, n, np.random.RandomState([0, 2])))
    logs["neural"] = sessions
    print("neural     %6d sessions %8d steps  %6.2f s  %9.0f logged steps/s  (%.2f steps/session)"
          % (n, stats["steps"], dt, stats["steps"] / dt, stats["steps"] / float(n)))
    res, dt = timed(lambda: online.evaluate(user, policy, n, seed=0, batch_size=1000))
    steps = res["n_lists"]
    print("neural online evaluation: %d sessions, %d lists  %6.2f s  %9.0f steps/s"
          % (n, steps, dt, steps / dt))

    folder = tempfile.mkdtemp(prefix="irecgan-bench-")
    try:
        path = os.path.join(folder, "mdp_max.log")
        lines, dt = timed(lambda: logfile.write_sessions(path, logs["max"]))
        size = os.path.getsize(path) / 1e6
        print("writer: %d lines (%.1f MB)  %6.2f s  %9.0f lines/s" % (lines, size, dt, lines / dt))
        (kept, report), dt = timed(lambda: logfile.read_log(path))
        print("reader: %d lines (%.1f MB), %d sessions  %6.2f s  %9.0f lines/s  %.1f MB/s"
              % (lines, size, len(kept), dt, lines / dt, size / dt))
    finally:
        shutil.rmtree(folder)
    batch_building(logs["random"], env.n_items, "mdp", args)
    batch_building(logs["neural"], user.n_items, "neural", args)


def batch_building(sessions, n_items, name, args):
    """make_batch before / after (ms of process CPU per batch), on `sessions` cut into batches."""
    sys.path.insert(0, TESTS)
    from test_batching_vectorized import assert_same_batch, ref_make_batch
    vocab = Vocabulary.numeric(n_items)
    encoded = vocab.encode_sessions(sessions)
    batches = [encoded[i:i + args.batch] for i in range(0, len(encoded) - args.batch + 1,
                                                        args.batch)]
    for seed in range(3):
        assert_same_batch(make_batch(batches[seed], np.random.RandomState(seed), vocab.size),
                          ref_make_batch(batches[seed], np.random.RandomState(seed), vocab.size))
    times = {"before": [], "after": []}
    for _ in range(args.rounds):
        for label, fn in (("before", ref_make_batch), ("after", make_batch)):
            rng = np.random.RandomState(0)
            start = time.process_time()
            for chunk in batches:
                fn(chunk, rng, vocab.size)
            times[label].append((time.process_time() - start) / len(batches))
    before, after = (1000.0 * float(np.median(times[k])) for k in ("before", "after"))
    print("make_batch %-9s %d batches of %d (vocabulary %d, mean %.2f steps)  before %.3f ms  "
          "after %.3f ms per batch  (%.2fx, -%.0f %%)" % (
              name, len(batches), args.batch, vocab.size,
              np.mean([len(s.clicks) for s in encoded]), before, after, before / after,
              100.0 * (1.0 - after / before)))


if __name__ == "__main__":
    main()
