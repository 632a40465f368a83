"""Online interaction with a simulator: lock-step rollouts, online evaluation, log collection.

Shared by the MDP (`sim.mdp`, SPEC 8) and the neural oracle (`sim.neural`, SPEC 8b).

The environment interface
-------------------------
An environment is any object with these attributes and methods (`rng` is always an explicit
`np.random.RandomState`; `states` is the environment's own batched state object, one row per
session, e.g. an int array for the MDP):

* `n_items` (int): recommendable raw item ids are `0 .. n_items - 1`.
* `list_size` (int): the length of the lists the simulator is defined for (MDP 10, neural 20).
* `max_steps` (int): the longest session the simulator allows, counting the start step
  (MDP: 40, the logging cap; neural: 5).
* `start(n, rng) -> (states, first_items)`: begin `n` sessions. `first_items` is an int array
  `[n]` of the start click (step 0: no list, reward 0, purchase 0).
* `step(states, lists, rng) -> (clicks, rewards, purchases, next_states)`: show `lists`
  (int array `[n, k]` of raw item ids) to the `n` sessions. `clicks` (int `[n]`) is the clicked
  item, or -1 where the session ended at this step (MDP: no click; neural: the end symbol);
  `rewards` (float `[n]`) is the online reward (MDP: 1 per click; neural: the purchase);
  `purchases` (int `[n]`) the log's purchase flag (MDP: always 0). Ended rows carry reward 0.
  `next_states` has a row for every session; rows of ended sessions are meaningless.
* `take(states, index) -> states`: the rows `index` (an int array) of `states`.
* `policy_states(states) -> list`: what a policy receives as `states` (MDP: the state ids;
  neural: the user's hidden vectors). Learned agents must ignore it.
* `log_states(states) -> list of str`: the log's `state` field for a step taken from `states`.
* optional `coverage(states, lists, kmax) -> float array [n, kmax]`: fraction of the k best items
  of each session's state that its list contains, k = 1..kmax (MDP only).
* optional `step_figures(next_states) -> OrderedDict name -> float array [n]`: further per-step
  figures of the step that returned `next_states` (0 on ended rows), which `evaluate` sums per
  session and reports as `<name>_mean` / `<name>_std` (RecSim: `watch_time`).

The policy interface
--------------------
A policy is a callable `policy(histories, states) -> array [n, k]` of raw item ids, called once
per step for all live sessions of a batch: `histories` is a list of `n` lists of the clicked raw
item ids so far (start item included; the lists are the rollout's own, do not modify them) and
`states` is `env.policy_states(...)` for the same sessions. `per_session(f)` turns a
`f(history, state) -> list of k ids` into a policy. A policy whose attribute `with_purchases` is
true is called as `policy(histories, states, purchases)`, `purchases` being the sessions' purchase
flags so far (lists of ints as long as their histories, 0 for the start item; the rollout's own).
"""
import collections

import numpy as np

from irecgan.data.types import Session
from irecgan.errors import UserError

COVERAGE_K = 10
GIVE_UP_AFTER = 100000  # collect_sessions: sessions tried before concluding none can be kept

# One session of a rollout. Index 0 is the start step: clicks[0] = start item, lists[0] = [],
# rewards[0] = 0.0, purchases[0] = 0, log_states[0] = "0". Step j >= 1: lists[j] was shown
# (from the state labelled log_states[j]) and clicks[j] clicked from it, earning rewards[j] and
# purchases[j]. `ended`: True when the session ended by itself (a list without a click, or the end
# symbol), False when it was cut at the step limit.
Trajectory = collections.namedtuple(
    "Trajectory", ["clicks", "lists", "rewards", "purchases", "log_states", "ended"])


def per_session(f):
    """Batch a per-session policy `f(history, state) -> sequence of k item ids`."""

    def policy(histories, states):
        return np.array([list(f(h, s)) for h, s in zip(histories, states)], dtype=np.int64)

    policy.__name__ = getattr(f, "__name__", "per_session_policy")
    return policy


class RandomLists(object):
    """A policy showing `k` distinct items drawn uniformly from `0 .. n_items - 1`, per session and
    step, in random order; its draws come from its own `rng` (n x n_items uniforms per call)."""

    def __init__(self, n_items, k, rng):
        if not 1 <= int(k) <= int(n_items):
            raise ValueError("k must be in 1..%d, got %r" % (n_items, k))
        self.n_items = int(n_items)
        self.k = int(k)
        self.rng = rng

    def __call__(self, histories, states=None):
        keys = self.rng.random_sample((len(histories), self.n_items))
        return np.argsort(keys, axis=1, kind="mergesort")[:, :self.k]


def draw_rows(weights, u):
    """int [n]: for each row of non-negative `weights` [n, m], the position drawn with probability
    proportional to its weight, by inverse CDF from the uniforms `u` [n] (a row of zeros gives
    the last position)."""
    cum = np.cumsum(weights, axis=1)
    return np.minimum((cum <= (u * cum[:, -1])[:, None]).sum(axis=1), weights.shape[1] - 1)


def _check_lists(lists, n, n_items):
    lists = np.asarray(lists)
    if lists.ndim != 2 or lists.shape[0] != n or lists.shape[1] < 1:
        raise ValueError("a policy must return an [n=%d, k>=1] array of item ids, got shape %s"
                         % (n, lists.shape))
    if lists.dtype.kind not in "iu":
        if lists.dtype.kind != "f" or not np.all(lists == np.round(lists)):
            raise ValueError("a policy must return integer item ids, got dtype %s" % lists.dtype)
    lists = lists.astype(np.int64)
    if lists.min() < 0 or lists.max() >= n_items:
        raise ValueError("a policy returned item ids outside 0..%d (min %d, max %d)"
                         % (n_items - 1, lists.min(), lists.max()))
    return lists


def step_limit(env, max_steps=None):
    """The step limit (start step included) for a rollout: `min(max_steps, env.max_steps)`."""
    limit = env.max_steps if max_steps is None else min(int(max_steps), int(env.max_steps))
    if limit < 1:
        raise ValueError("max_steps must be >= 1, got %r" % (max_steps,))
    return limit


def rollout(env, policy, n, rng, max_steps=None, observer=None, after_step=None):
    """Run `n` sessions of `env` under `policy` in lock step; returns a list of `Trajectory`.

    Every session starts with `env.start`; at each step the policy is called once for all live
    sessions and `env.step` answers; a session stops when it ends by itself or after `max_steps`
    steps counting the start step (`None`: `env.max_steps`; larger values are cut to it).
    `observer(states, lists)`, when given, sees each step's env states and validated lists
    (used for coverage); `after_step(index, next_states)`, when given, sees the session indices
    (into the returned list) of the rows of `next_states` right after each step (used for
    `step_figures`). All randomness of the environment comes from `rng`, in a fixed order.
    """
    limit = step_limit(env, max_steps)
    states, first = env.start(int(n), rng)
    first = np.asarray(first).tolist()
    histories = [[int(c)] for c in first]
    lists_log = [[[]] for _ in range(n)]
    rewards_log = [[0.0] for _ in range(n)]
    purchases_log = [[0] for _ in range(n)]
    states_log = [["0"] for _ in range(n)]
    ended = [False] * n
    live = np.arange(n)
    for _ in range(limit - 1):
        if live.size == 0:
            break
        idx = live.tolist()
        args = [[histories[i] for i in idx], env.policy_states(states)]
        if getattr(policy, "with_purchases", False):
            args.append([purchases_log[i] for i in idx])
        lists = _check_lists(policy(*args), len(idx), env.n_items)
        if observer is not None:
            observer(states, lists)
        labels = env.log_states(states)
        clicks, rewards, purchases, states = env.step(states, lists, rng)
        if after_step is not None:
            after_step(live, states)
        clicks = np.asarray(clicks)
        rows = lists.tolist()
        clicks_l = clicks.tolist()
        rewards_l = np.asarray(rewards, dtype=np.float64).tolist()
        purchases_l = np.asarray(purchases).astype(np.int64).tolist()
        for j, i in enumerate(idx):
            c = clicks_l[j]
            if c < 0:
                ended[i] = True
                continue
            histories[i].append(c)
            lists_log[i].append(rows[j])
            rewards_log[i].append(rewards_l[j])
            purchases_log[i].append(purchases_l[j])
            states_log[i].append(labels[j])
        keep = np.flatnonzero(clicks >= 0)
        live = live[keep]
        states = env.take(states, keep)
    return [Trajectory(histories[i], lists_log[i], rewards_log[i], purchases_log[i],
                       states_log[i], ended[i]) for i in range(n)]


def evaluate(env, policy, n_sessions=1000, seed=0, batch_size=500, max_steps=40):
    """Online evaluation of `policy` on `env` (SPEC 7, 8b).

    Runs `n_sessions` sessions in lock-step batches of `batch_size` with
    `RandomState(seed)` (`seed`: an int or a sequence of ints) driving the environment (the policy's own randomness, if any, is the
    policy's business). The figures are deterministic for fixed (seed, batch_size, policy).
    Returns a dict of floats:

    * `reward_mean`, `reward_std`: cumulative reward per session (MDP: clicks; neural: purchases),
      population std over sessions;
    * `clicks_mean`: clicks per session (start item not counted); `length_mean`: steps per
      session, start step included (= clicks + 1); `purchases_mean`: purchases per session;
    * `clicks_mean_clicked`: clicks per session over the sessions with at least one click (0.0
      when none has one), the online figure of the authors' reference implementation, and
      `clicked_share`: the share of sessions with at least one click;
    * `n_sessions`, `n_lists` (lists issued, including each session's last list);
    * MDP only: `coverage@1` .. `coverage@10`: for every list issued in state s, the fraction of
      the k best items of s (by true reward) that the list contains, averaged over all lists;
    * for an environment with `step_figures` (RecSim: `watch_time`): `<name>_mean`,
      `<name>_std`, the figure summed over each session's steps, mean and std over sessions.
    """
    n_sessions = int(n_sessions)
    batch_size = int(batch_size)
    if n_sessions < 1 or batch_size < 1:
        raise ValueError("n_sessions and batch_size must be >= 1")
    rng = np.random.RandomState(seed)
    has_coverage = hasattr(env, "coverage")
    has_figures = hasattr(env, "step_figures")
    acc = {"cov": np.zeros(COVERAGE_K), "lists": 0}
    figures = collections.OrderedDict()  # name -> per-session sums of all batches so far

    def observer(states, lists):
        acc["lists"] += lists.shape[0]
        if has_coverage:
            acc["cov"] += env.coverage(states, lists, COVERAGE_K).sum(axis=0)

    rewards, clicks, purchases = [], [], []
    for begin in range(0, n_sessions, batch_size):
        size = min(batch_size, n_sessions - begin)
        sums = collections.OrderedDict()

        def after_step(index, next_states):
            for name, values in env.step_figures(next_states).items():
                sums.setdefault(name, np.zeros(size))[index] += np.asarray(values, np.float64)

        for t in rollout(env, policy, size, rng, max_steps, observer,
                         after_step if has_figures else None):
            rewards.append(sum(t.rewards))
            clicks.append(len(t.clicks) - 1)
            purchases.append(sum(t.purchases))
        for name, values in sums.items():
            figures.setdefault(name, []).append(values)
    rewards = np.array(rewards, dtype=np.float64)
    out = collections.OrderedDict()
    out["n_sessions"] = n_sessions
    out["reward_mean"] = float(rewards.mean())
    out["reward_std"] = float(rewards.std())
    out["clicks_mean"] = float(np.mean(clicks))
    out["length_mean"] = float(np.mean(clicks)) + 1.0
    out["purchases_mean"] = float(np.mean(purchases))
    clicked = np.array(clicks, dtype=np.float64)
    clicked = clicked[clicked > 0]
    out["clicks_mean_clicked"] = float(clicked.mean()) if clicked.size else 0.0
    out["clicked_share"] = float(clicked.size) / n_sessions
    out["n_lists"] = int(acc["lists"])
    if has_coverage:
        denom = max(acc["lists"], 1)
        for k in range(1, COVERAGE_K + 1):
            out["coverage@%d" % k] = float(acc["cov"][k - 1] / denom)
    for name, parts in figures.items():
        values = np.concatenate(parts)
        out[name + "_mean"] = float(values.mean())
        out[name + "_std"] = float(values.std())
    return out


def collect_sessions(env, policy, n_sessions, rng, max_steps=None, min_steps=2, batch_size=1000,
                     first_id=1):
    """Logged data: roll out batches until `n_sessions` sessions with >= `min_steps` steps exist.

    Sessions are numbered `first_id, first_id + 1, ...` in the order they were generated; the
    shorter ones are discarded (not numbered). Returns `(sessions, stats)`: a list of `Session`
    (strings as in the log: state labels from `env.log_states`, item ids, lists; purchases as
    ints) and a dict with `generated` (sessions rolled out), `discarded_short`, `truncated`
    (kept sessions cut at the step limit), `steps` (log lines) and `reward` (sum of online
    rewards over the kept sessions).
    """
    n_sessions = int(n_sessions)
    if n_sessions < 1:
        raise ValueError("n_sessions must be >= 1, got %d" % n_sessions)
    if step_limit(env, max_steps) < min_steps:
        raise ValueError("max_steps (%r) is below min_steps (%r): no session could be kept"
                         % (max_steps, min_steps))
    sessions = []
    stats = collections.OrderedDict(
        [("generated", 0), ("discarded_short", 0), ("truncated", 0), ("steps", 0),
         ("reward", 0.0)])
    while len(sessions) < n_sessions:
        if not sessions and stats["generated"] >= GIVE_UP_AFTER:
            raise UserError("no session of %d or more steps in %d sessions: this simulator and "
                            "policy (almost) never continue past the start step"
                            % (min_steps, stats["generated"]))
        for t in rollout(env, policy, int(batch_size), rng, max_steps):
            if len(sessions) == n_sessions:
                break  # the rest of the last batch is not needed
            stats["generated"] += 1
            if len(t.clicks) < min_steps:
                stats["discarded_short"] += 1
                continue
            sessions.append(to_session(t, first_id + len(sessions)))
            stats["truncated"] += 0 if t.ended else 1
            stats["steps"] += len(t.clicks)
            stats["reward"] += sum(t.rewards)
    return sessions, stats


def to_session(trajectory, session_id):
    """A `Trajectory` as a `Session` of the processed log (SPEC 2.1)."""
    t = trajectory
    return Session(int(session_id), list(t.log_states), [str(c) for c in t.clicks],
                   [[str(x) for x in row] for row in t.lists], [int(p) for p in t.purchases])
