"""Simulator-policy rows: the policies of a parameter file evaluated online against the
simulator (no training), and the Bayes-optimal offline ranking on the test splits of MDP logs,
in the policy-row format `report.rows.policy_row` reads. No TensorFlow, no absl."""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.report.stats import COVERAGE_K, coverage_curve

POLICY_RNG_SEED = 0  # the simulator policies' own draws (random, mix lists) in computed rows


def env_spec(item):
    """`(name, path)` of a `NAME=PATH` or `PATH` parameter-file spec (without `NAME=`: the file
    name up to its first dot, e.g. `mdp_random` for `mdp_random.log.params.npz`)."""
    import os
    if "=" in item:
        name, path = item.split("=", 1)
        if not name or not path:
            raise UserError("--env_params expects NAME=PATH or PATH, got %r" % item)
        return name, path
    return os.path.basename(item).split(".")[0], item


def logging_policies(items):
    """log name -> the name of its logging policy's row, from `NAME=POLICY` items (in order)."""
    import collections
    out = collections.OrderedDict()
    for item in items:
        name, sep, policy = item.strip().partition("=")
        if not sep or not name or not policy:
            raise UserError("--logging_policy expects NAME=POLICY pairs, got %r" % item)
        out[name] = policy
    return out


def policy_rows(env, policies, seeds, n_sessions, dataset="", batch_size=500):
    """Evaluate simulator policies online: for each (name, policy) of `policies` (a dict, in its
    order) and each env seed, `irecgan.sim.online.evaluate(env, policy, n_sessions, seed)`.

    Returns a list of dicts {"dataset", "method": name, "seeds", "n_sessions", "reward": [reward
    mean per seed], "clicks_clicked": [clicks per session with a click, per seed], and on an MDP
    "coverage@10": [...], "coverage": [[c1..c10] per seed]}, the format `--policy_rows` reads. A policy's own randomness is its own business (its rng
    carries on across the seeds)."""
    from irecgan.sim import online  # numpy only
    rows = []
    for name, policy in policies.items():
        rewards, curves, clicked = [], [], []
        for seed in seeds:
            res = online.evaluate(env, policy, n_sessions=n_sessions, seed=seed,
                                  batch_size=batch_size)
            rewards.append(float(res["reward_mean"]))
            clicked.append(float(res["clicks_mean_clicked"]))
            curve = coverage_curve(res)
            if curve is not None:
                curves.append(curve)
        row = collections.OrderedDict([
            ("dataset", dataset), ("method", name), ("seeds", [_jsonable_seed(s) for s in seeds]),
            ("n_sessions", int(n_sessions)), ("reward", rewards), ("clicks_clicked", clicked)])
        if curves:
            row["coverage@10"] = [c[COVERAGE_K - 1] for c in curves]
            row["coverage"] = curves
        rows.append(row)
    return rows


def _jsonable_seed(seed):
    if isinstance(seed, (list, tuple, np.ndarray)):
        return [int(s) for s in seed]
    return int(seed)


def environment_policies(path, rng):
    """`(env, OrderedDict name -> policy)` for a simulator parameter file: an MDP (random, max,
    mix, belief, imitation), a neural oracle (random lists, its logging policy, oracle,
    oracle_train; the user samples its clicks and the logging policy its lists when the file
    says so) or a RecSim world (random, quality, oracle, posterior:
    `sim.recsim_env.reference_policies`). What each knows: the simulator's `knows`."""
    from irecgan.sim import registry
    return registry.for_file(path).reference_policies(path, rng)


BAYES = "bayes (offline)"


def bayes_rows(path, runs, dataset):
    """The Bayes-optimal offline P@k row of dataset `dataset` (`sim.belief.offline_precision`
    with the MDP of the parameter file `path`), one value per distinct test split among the
    finished runs of that dataset (same log, split and seed: the methods of one seed share
    one); [] when `path` is not an MDP file or no run of `dataset` finished. The row has no
    online figures."""
    from irecgan.data.dataset import read_splits
    from irecgan.sim import belief
    from irecgan.sim import registry
    from irecgan.sim.paramfile import read_kind
    simulator = registry.by_kind(read_kind(path))
    if simulator is None or simulator.truth != "bayes":
        return []
    env = simulator.load(path)
    seeds, values, done = [], dict((k, []) for k in KS), set()
    for run in sorted((r for r in runs if r.finished and r.dataset == dataset),
                      key=lambda r: str(r.seed)):
        c = run.config
        split = (c["data"], c.get("split", "fold"), c.get("seed", 0), c.get("split_file") or None,
                 tuple(c.get("split_ratios", (0.8, 0.1, 0.1))), bool(c.get("lenient")))
        if split in done:  # the methods of one seed share its split
            continue
        done.add(split)
        (_, _, test), _ = read_splits(*split)
        hits, n = belief.offline_precision(env, test, ks=KS)
        seeds.append(run.seed)
        for k in KS:
            values[k].append(100.0 * hits[k] / n if n else None)
    if not seeds:
        return []
    row = collections.OrderedDict([("dataset", dataset), ("method", BAYES), ("seeds", seeds),
                                   ("reward", [])])
    for k in KS:
        row["P@%d" % k] = values[k]
    return [row]


KS = (1, 3, 5, 10)
