"""Simulator-policy rows: the policies of a parameter file evaluated online against the
simulator (no training), in the policy-row format `report.rows.policy_row` reads. No TensorFlow,
no absl."""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.report.stats import COVERAGE_K, coverage_curve


def policy_rows(env, policies, seeds, n_sessions, dataset="", batch_size=500):
    """Evaluate simulator policies online: for each (name, policy) of `policies` (a dict, in its
    order) and each env seed, `irecgan.sim.online.evaluate(env, policy, n_sessions, seed)`.

    Returns a list of dicts {"dataset", "method": name, "seeds", "n_sessions", "reward": [reward
    mean per seed], and on an MDP "coverage@10": [...], "coverage": [[c1..c10] per seed]}, the
    format `--policy_rows` reads. A policy's own randomness is its own business (its rng
    carries on across the seeds)."""
    from irecgan.sim import online  # numpy only
    rows = []
    for name, policy in policies.items():
        rewards, curves = [], []
        for seed in seeds:
            res = online.evaluate(env, policy, n_sessions=n_sessions, seed=seed,
                                  batch_size=batch_size)
            rewards.append(float(res["reward_mean"]))
            curve = coverage_curve(res)
            if curve is not None:
                curves.append(curve)
        row = collections.OrderedDict([
            ("dataset", dataset), ("method", name), ("seeds", [_jsonable_seed(s) for s in seeds]),
            ("n_sessions", int(n_sessions)), ("reward", rewards)])
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
    """`(env, OrderedDict name -> policy)` for a simulator parameter file: an MDP
    (random, max, mix) or a neural oracle (random lists, its logging policy)."""
    from irecgan.sim import mdp as mdp_sim
    from irecgan.sim import neural as neural_sim
    from irecgan.sim import online
    from irecgan.sim.paramfile import read_kind
    kind = read_kind(path)
    policies = collections.OrderedDict()
    if kind == mdp_sim.KIND:
        env = mdp_sim.MDP.load(path)
        for name in ("random", "max", "mix"):
            policies[name] = mdp_sim.logging_policy(env, name, rng)
    elif kind == neural_sim.KIND:
        user_params, policy_params = neural_sim.load_params(path)
        env = neural_sim.NeuralUser(user_params)
        policies["random"] = online.RandomLists(env.n_items, env.list_size, rng)
        policies["logging"] = neural_sim.LoggingPolicy(policy_params)
    else:
        raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))
    return env, policies
