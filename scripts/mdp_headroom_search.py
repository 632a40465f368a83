"""Search the MDP generator's knobs for a setting with headroom (issue 11); prints one table.

    .venv/bin/python scripts/mdp_headroom_search.py [--sessions=300] [--seed=1]

For each candidate (states, items, list size, transition temperature) it draws the MDP with
`MDP.random(RandomState([seed, 1]), ...)` (the stream irecgan-simulate uses), then reports
clicks per session (sessions capped at 40 steps, as logged and evaluated):

* random, belief: simulated online (`online.evaluate`, `--sessions` sessions, env seed
  [seed, 4]); belief is the history-based ceiling (sim/belief.py);
* max, myopic, plan: exact values from the start state (policy evaluation, no sampling) of three
  policies that know the state: max (top-k by reward), myopic (the list of highest click
  probability, Dinkelbach), plan (finite-horizon value iteration: the list maximising click
  probability x (1 + expected value of the next state));
* gap = belief - random (the issue asks >= 2.5), plan gain = plan - myopic (what looking ahead
  is worth when the state is known: > 0 means long-term effects exist), sharp = mean over
  (state, item) of the largest transition probability (1/S: uniform; 1: deterministic).
Numpy only; a few minutes on one core.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from irecgan.sim import mdp as mdp_sim  # noqa: E402
from irecgan.sim import online  # noqa: E402

CANDIDATES = [  # (states, items, list size, transition temperature)
    (10, 50, 10, 1.0), (10, 50, 10, 0.3), (10, 50, 10, 0.1), (10, 50, 10, 0.05),
    (10, 50, 10, 0.02), (10, 50, 5, 1.0), (10, 50, 5, 0.1), (10, 50, 5, 0.05),
    (10, 20, 5, 0.1), (10, 20, 5, 0.05), (5, 50, 10, 0.05), (20, 50, 10, 0.05),
]


def dinkelbach(a, b, k):
    """(value, items): max over k-subsets L of sum_L a / sum_L b (b > 0), exactly."""
    lam = 0.0
    for _ in range(100):
        items = np.argsort(-(a - lam * b), kind="mergesort")[:k]
        new = a[items].sum() / b[items].sum()
        if new <= lam + 1e-13:
            break
        lam = new
    return lam, items


def exact_values(env, horizon):
    """Start-state values of max, myopic and plan (see the module docstring)."""
    r, p, k = env.rewards, env.transitions, env.list_size
    lists = {"max": [env.ranking[s, :k] for s in range(env.n_states)],
             "myopic": [dinkelbach(r[s] ** 2, r[s], k)[1] for s in range(env.n_states)]}
    out = {}
    for name, fixed in lists.items():
        v = np.zeros(env.n_states)
        for _ in range(horizon):
            w = p.dot(v)                                           # [S, N]
            v = np.array([(r[s, l] ** 2 * (1 + w[s, l])).sum() / r[s, l].sum()
                          for s, l in enumerate(fixed)])
        out[name] = v[env.start_state]
    v = np.zeros(env.n_states)
    for _ in range(horizon):
        w = p.dot(v)
        v = np.array([dinkelbach(r[s] ** 2 * (1 + w[s]), r[s], k)[0]
                      for s in range(env.n_states)])
    out["plan"] = v[env.start_state]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| states | items | list | temperature | sharp | random | belief | max | myopic | "
          "plan | gap | plan gain |")
    print("|" + " --- |" * 12)
    for n_states, n_items, k, temp in CANDIDATES:
        env = mdp_sim.MDP.random(np.random.RandomState([args.seed, 1]), n_states=n_states,
                                 n_items=n_items, list_size=k, transition_temperature=temp)
        res = {}
        for name in ("random", "belief"):
            pol = mdp_sim.logging_policy(env, name, np.random.RandomState([args.seed, 5]))
            res[name] = online.evaluate(env, pol, args.sessions, seed=[args.seed, 4],
                                        batch_size=args.sessions)["reward_mean"]
        res.update(exact_values(env, env.max_steps - 1))
        sharp = env.transitions.max(axis=2).mean()
        print("| %d | %d | %d | %g | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            n_states, n_items, k, temp, sharp, res["random"], res["belief"], res["max"],
            res["myopic"], res["plan"], res["belief"] - res["random"],
            res["plan"] - res["myopic"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
