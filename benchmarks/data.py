"""Throughput of the data path on this machine (prints figures; not a timed test).

    python benchmarks/data.py [--sessions=10000]

* MDP simulator: logged steps (log lines) per second, per logging policy, 10k sessions each;
* neural-oracle simulator: logged steps per second (10k sessions), and its online rollouts;
* reader: `read_log` lines per second on a generated 10k-session MDP log (max policy), and the
  writer's lines per second for the same file.
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
from irecgan.sim import mdp, neural, online  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10000)
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


if __name__ == "__main__":
    main()
