"""What RecSim runs cost, before and after the numpy engine of RecSim's users (issue 33).

Prints figures; it is not a test. Two kinds of case, appended to one record (`--record FILE`):

* `--engines`: `sim.online.evaluate` of the logging policies (random, quality) on the RecSim
  world of `--params`, with each engine of `RecSimWorld` (`recsim`: RecSim's objects, user by
  user; `numpy`: `sim.recsim_users`), in this process: process-CPU seconds per engine and
  whether the figures are equal (they must be, to the bit).
* a run (the arguments after `--` are irecgan-train's, but --run_dir and --progress): one
  `python -m irecgan.cli.train` process with `--src` on its PYTHONPATH (default: this checkout's
  src/; give an older checkout's src/ for the "before" figure), into a temporary run directory.
  Recorded: the child's user and system CPU seconds (`resource.getrusage(RUSAGE_CHILDREN)`:
  steadier than wall on a shared machine), its wall seconds, the load average before and after,
  and the sha256 of its metrics.jsonl and results.json, so two cases of the same flags made by
  different code show whether the run's bytes are the same.

    python benchmarks/recsim_cost.py --engines --params=data/sim/recsim.params.npz
    python benchmarks/recsim_cost.py --label=irecgan_true/after --record=FILE -- \\
        --flagfile=configs/sim_cpu_short.cfg --method=irecgan_true --data=data/sim/recsim.log \\
        --n_items=100 --k=10 --split=fold --env_params=data/sim/recsim.params.npz --seed=1 \\
        --threads=1 --agent_lr=1e-4 --adv_epochs=10
"""
from __future__ import print_function

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from _common import (SRC, environment, git_commit, load_average, machine_state,  # noqa: E402
                     put_case, without_machine_paths)


def engines(params, sessions, seed):
    """[{policy, engine, cpu_s, figures}] and whether each policy's figures are equal."""
    import numpy as np
    from irecgan.sim import online
    from irecgan.sim import recsim_env as R
    out, equal = [], {}
    for policy in R.POLICIES:
        figures = {}
        for engine in ("recsim", "numpy"):
            world = R.RecSimWorld.load(params, engine=engine)
            chosen = R.logging_policy(world, policy, np.random.RandomState(seed))
            cpu = time.process_time()
            figures[engine] = online.evaluate(world, chosen, n_sessions=sessions, seed=seed)
            cpu = time.process_time() - cpu
            out.append({"policy": policy, "engine": engine, "cpu_s": round(cpu, 3),
                        "sessions": sessions, "steps": figures[engine]["n_lists"],
                        "reward_mean": figures[engine]["reward_mean"],
                        "watch_time_mean": figures[engine]["watch_time_mean"]})
            print("%-8s %-7s %7.2f CPU s for %d sessions (%d steps)" % (
                policy, engine, cpu, sessions, figures[engine]["n_lists"]))
        equal[policy] = figures["numpy"] == figures["recsim"]
        print("%-8s figures equal: %s" % (policy, equal[policy]))
    return out, equal


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(src, python, train_args):
    """One irecgan-train process: CPU, wall, load, the hashes of its files."""
    work = tempfile.mkdtemp(prefix="irecgan-recsim-cost-")
    run_dir = os.path.join(work, "run")
    env = dict(os.environ)
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    command = [python, "-m", "irecgan.cli.train"] + list(train_args) + [
        "--progress=false", "--run_dir=" + run_dir]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_start, wall = load_average(), time.time()
    with open(os.path.join(work, "out.log"), "w") as log:
        code = subprocess.call(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.time() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        with open(os.path.join(work, "out.log")) as f:
            print(f.read()[-3000:])
        raise SystemExit("recsim_cost.py: irecgan-train failed (exit %d)" % code)
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    figures = {"user_cpu_s": round(after.ru_utime - before.ru_utime, 2),
               "sys_cpu_s": round(after.ru_stime - before.ru_stime, 2),
               "wall_s": round(wall, 2), "load_average_start": load_start,
               "load_average_end": load_average(),
               "sha256": dict((name, sha256(os.path.join(run_dir, name)))
                              for name in ("metrics.jsonl", "results.json")),
               "online_reward_mean": results.get("online", {}).get("reward_mean")}
    figures["cpu_s"] = round(figures["user_cpu_s"] + figures["sys_cpu_s"], 2)
    shutil.rmtree(work)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="", help="the case's name in the record")
    parser.add_argument("--record", default="", help="append the case to this JSON record")
    parser.add_argument("--note", default="", help="free text stored with the case")
    parser.add_argument("--src", default=SRC, help="the src/ directory the run imports")
    parser.add_argument("--engines", action="store_true",
                        help="time online.evaluate with both engines instead of a run")
    parser.add_argument("--params", default="data/sim/recsim.params.npz")
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("train_args", nargs="*", help="irecgan-train's flags (after --)")
    args = parser.parse_args()
    before = machine_state()
    src = os.path.abspath(args.src)
    commit, dirty = git_commit() if src == SRC else (None, None)
    if args.engines:
        rows, equal = engines(args.params, args.sessions, args.seed)
        case = {"kind": "engines", "rows": rows, "figures_equal": equal}
    else:
        case = {"kind": "run", "train_args": args.train_args,
                "figures": run(src, sys.executable, args.train_args)}
        f = case["figures"]
        print("%s: %.1f CPU s (user %.1f + sys %.1f), wall %.1f s, load %s -> %s; sha256 "
              "metrics %s results %s" % (args.label, f["cpu_s"], f["user_cpu_s"],
                                         f["sys_cpu_s"], f["wall_s"], f["load_average_start"],
                                         f["load_average_end"], f["sha256"]["metrics.jsonl"][:12],
                                         f["sha256"]["results.json"][:12]))
    if args.engines:
        tf_version = None   # numpy alone: not imported
    else:
        from irecgan.tfcompat import TF_VERSION as tf_version
    case.update({"label": args.label, "note": args.note,
                 "command": without_machine_paths("python benchmarks/recsim_cost.py " +
                                                  " ".join(sys.argv[1:])),
                 "code": {"this_checkout": src == SRC, "commit": commit,
                          "uncommitted_changes": dirty},
                 "environment": environment(tf_version), "machine_before": before,
                 "machine_after": machine_state()})
    if args.record:
        put_case(args.record, "recsim_cost", case)


if __name__ == "__main__":
    main()
