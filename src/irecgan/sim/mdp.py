"""The MDP simulator of SPEC 8 (numpy only, explicit `RandomState`).

The world: `n_states` states (10), `n_items` items (50), lists of `list_size` (10).
`rewards[s, i] ~ U(0, 1)` is the probability that a user in state s who considers item i clicks
it; `transitions[s, i, :]` is the softmax of `n_states` U(0, 1) draws divided by
`transition_temperature` (1.0, the authors' generator), the distribution of the next state after
a click on i in s. A temperature below 1 sharpens the transitions (0.05: the most likely next
state gets ~0.9 of the mass on average), so the clicks identify the state and what is shown
decides where the user goes; the parameter file records the generator's knobs.

A session starts in state 0 with the click of item 0 (the log's first line `ID;0;0;;0`). Each
following step, given the shown list `l` in state s:

1. a candidate `c` is drawn from `l` with probability `rewards[s, c] / sum_{i in l} rewards[s, i]`;
2. with probability `rewards[s, c]` the user clicks it: reward 1, and the next state is drawn from
   `transitions[s, c, :]`; otherwise the session ends (reward 0, no log line).

So a step continues with probability `sum_i r_i^2 / sum_i r_i` (`r_i = rewards[s, l_i]`,
`MDP.continuation_probability`). The log line of a click holds the state in which the click was
made (the step's state before the transition), and purchase 0. Logged sessions are capped at
`max_steps` = 40 steps counting the start step, and only sessions with at least one click are
kept (so every logged session has 2..40 lines).

Logging policies (`logging_policy(mdp, name, rng)`), each choosing a list per step from the true
rewards of the current state: `random` (10 of the 50 items, uniformly, in random order), `max`
(the 10 items of highest reward, best first; also the simulator's greedy upper reference,
`optimal_policy`), `mix` (per step: `max` with probability 0.5, else 10 items drawn uniformly
without replacement from true-reward ranks 10..24, i.e. `n_items//5 .. n_items//2 - 1`).
Ceiling policy (not a logging policy of SPEC 8, but accepted wherever a policy is named):
`belief` (`sim.belief`: knows the parameters but not the state, Bayes filter over the state,
greedy list of highest expected click probability), the best a history-based greedy policy does;
`imitation` (`sim.belief.ImitationPolicy`: the same filter, top-k by posterior click weight), the
click-imitation bound: what a perfect click imitator shows greedily.

The environment interface (`start`, `step`, `take`, ...) is documented in `sim.online`.
"""
import numpy as np

from irecgan.errors import UserError
from irecgan.sim import online, paramfile
from irecgan.sim.belief import BeliefPolicy, ImitationPolicy

KIND = "irecgan.sim.mdp"
N_STATES = 10
N_ITEMS = 50
LIST_SIZE = 10
MAX_STEPS = 40
TRANSITION_TEMPERATURE = 1.0
POLICIES = ("random", "max", "mix", "belief", "imitation")
# What each reference policy knows (SPEC 6): the state, or only what a recommender sees.
KNOWS = {"random": "history-based", "max": "state-aware", "mix": "state-aware",
         "belief": "history-based", "imitation": "history-based"}


class MDP(object):
    """The simulator. Build one with `MDP.random(rng)` or `MDP.load(path)`.

    Args:
      rewards: float array [S, N] in [0, 1]: click probability of item i in state s.
      transitions: float array [S, N, S]: next-state distribution after a click on i in s.
      list_size: length of the lists of the logging policies (and of `coverage`'s reference).
      start_state, start_item: the state and start click of every session (0, 0).
      max_steps: the step cap of a session, start step included (the logging cap, 40).
      transition_temperature: the generator's temperature the transitions were drawn with
        (a record, saved with the parameters; it does not change `transitions`).
    """

    def __init__(self, rewards, transitions, list_size=LIST_SIZE, start_state=0, start_item=0,
                 max_steps=MAX_STEPS, transition_temperature=TRANSITION_TEMPERATURE):
        rewards = np.array(rewards, dtype=np.float64)
        transitions = np.array(transitions, dtype=np.float64)
        if rewards.ndim != 2 or rewards.size == 0:
            raise UserError("MDP rewards must be a non-empty [states, items] array, got shape %s"
                            % (rewards.shape,))
        n_states, n_items = rewards.shape
        if transitions.shape != (n_states, n_items, n_states):
            raise UserError("MDP transitions must have shape %s, got %s"
                            % ((n_states, n_items, n_states), transitions.shape))
        if not (np.all(rewards >= 0) and np.all(rewards <= 1)):
            raise UserError("MDP rewards must lie in [0, 1]")
        if not (np.all(transitions >= 0) and np.allclose(transitions.sum(axis=2), 1.0)):
            raise UserError("MDP transitions must be probability distributions over states")
        if not 1 <= int(list_size) <= n_items:
            raise UserError("list_size must be in 1..%d, got %r" % (n_items, list_size))
        if not (0 <= int(start_state) < n_states and 0 <= int(start_item) < n_items):
            raise UserError("start_state/start_item out of range")
        if int(max_steps) < 1:
            raise UserError("max_steps must be >= 1, got %r" % (max_steps,))
        if not float(transition_temperature) > 0:
            raise UserError("transition_temperature must be > 0, got %r"
                            % (transition_temperature,))
        self.transition_temperature = float(transition_temperature)
        self.rewards = rewards
        self.transitions = transitions
        self.n_states = n_states
        self.n_items = n_items
        self.list_size = int(list_size)
        self.start_state = int(start_state)
        self.start_item = int(start_item)
        self.max_steps = int(max_steps)
        cdf = np.cumsum(transitions, axis=2)
        cdf[:, :, -1] = 1.0
        self._transition_cdf = cdf
        # ranking[s] = item ids by decreasing true reward in s (ties: lower id first)
        self.ranking = np.argsort(-rewards, axis=1, kind="mergesort")

    # ---------------------------------------------------------------- construction and storage
    @classmethod
    def random(cls, rng, n_states=N_STATES, n_items=N_ITEMS, list_size=LIST_SIZE,
               transition_temperature=TRANSITION_TEMPERATURE, **kwargs):
        """Draw an MDP from `rng`: first `rewards` [S, N] ~ U(0,1), then the transition logits
        [S, N, S] ~ U(0,1), divided by `transition_temperature` (softmax over the last axis).
        The defaults are the authors' generator (same draws, same numbers)."""
        if int(n_states) < 1 or int(n_items) < 1:
            raise UserError("need n_states >= 1 and n_items >= 1, got %r, %r"
                            % (n_states, n_items))
        if not float(transition_temperature) > 0:
            raise UserError("transition_temperature must be > 0, got %r"
                            % (transition_temperature,))
        rewards = rng.random_sample((int(n_states), int(n_items)))
        logits = rng.random_sample((int(n_states), int(n_items), int(n_states)))
        if float(transition_temperature) != 1.0:
            logits = logits / float(transition_temperature)
        expd = np.exp(logits - logits.max(axis=2, keepdims=True))
        transitions = expd / expd.sum(axis=2, keepdims=True)
        return cls(rewards, transitions, list_size=list_size,
                   transition_temperature=transition_temperature, **kwargs)

    def save(self, path):
        """Write the parameters to `path` (an `.npz`, byte-identical for identical parameters)."""
        paramfile.save_arrays(path, KIND, {
            "rewards": self.rewards, "transitions": self.transitions,
            "list_size": np.int64(self.list_size), "start_state": np.int64(self.start_state),
            "start_item": np.int64(self.start_item),
            "transition_temperature": np.float64(self.transition_temperature)})

    @classmethod
    def load(cls, path, max_steps=MAX_STEPS):
        """Read parameters written by `save` (`UserError` on a bad file). Files written before
        the generator had knobs lack `transition_temperature`: 1.0, the authors' generator."""
        a = paramfile.load_arrays(path, KIND, ("rewards", "transitions", "list_size",
                                               "start_state", "start_item"))
        temperature = float(a.get("transition_temperature", TRANSITION_TEMPERATURE))
        return cls(a["rewards"], a["transitions"], list_size=int(a["list_size"]),
                   start_state=int(a["start_state"]), start_item=int(a["start_item"]),
                   max_steps=max_steps, transition_temperature=temperature)

    # ---------------------------------------------------------------- analysis helpers
    def best_items(self, state, k):
        """The k items of highest true reward in `state`, best first (a list of ints)."""
        return self.ranking[int(state), :int(k)].tolist()

    def continuation_probability(self, state, items):
        """P(click) for list `items` shown in `state`: `sum_i r_i^2 / sum_i r_i`."""
        r = self.rewards[int(state), np.asarray(items, dtype=np.int64)]
        total = r.sum()
        return float((r * r).sum() / total) if total > 0 else 0.0

    def coverage(self, states, lists, kmax=10):
        """float [n, kmax]: entry (j, k-1) = fraction of the k best items of `states[j]` contained
        in `lists[j]` (k > n_items counts against all items)."""
        states = np.asarray(states, dtype=np.int64)
        lists = np.asarray(lists, dtype=np.int64)
        n = lists.shape[0]
        rows = np.arange(n)
        member = np.zeros((n, self.n_items), dtype=bool)
        member[rows[:, None], lists] = True
        kk = min(int(kmax), self.n_items)
        hits = np.cumsum(member[rows[:, None], self.ranking[states, :kk]], axis=1)
        out = np.zeros((n, int(kmax)))
        out[:, :kk] = hits / np.arange(1, kk + 1, dtype=np.float64)
        if kk < kmax:
            out[:, kk:] = hits[:, -1:] / np.arange(kk + 1, int(kmax) + 1, dtype=np.float64)
        return out

    # ---------------------------------------------------------------- environment interface
    def start(self, n, rng):
        """All sessions start in `start_state` with the click of `start_item` (no randomness)."""
        return (np.full(n, self.start_state, dtype=np.int64),
                np.full(n, self.start_item, dtype=np.int64))

    def step(self, states, lists, rng):
        """One step for every row (see the module docstring). Draws, in this order, one uniform per
        row for the candidate, one for the click, one for the next state."""
        states = np.asarray(states, dtype=np.int64)
        lists = np.asarray(lists, dtype=np.int64)
        n = lists.shape[0]
        rows = np.arange(n)
        r = self.rewards[states[:, None], lists]                       # [n, k]
        u_cand = rng.random_sample(n)
        u_click = rng.random_sample(n)
        u_next = rng.random_sample(n)
        pos = online.draw_rows(r, u_cand)
        cand = lists[rows, pos]
        clicked = u_click < r[rows, pos]
        cdf = self._transition_cdf[states, cand]                        # [n, S]
        nxt = np.minimum((cdf <= u_next[:, None]).sum(axis=1), self.n_states - 1)
        clicks = np.where(clicked, cand, -1)
        rewards = clicked.astype(np.float64)
        purchases = np.zeros(n, dtype=np.int64)
        next_states = np.where(clicked, nxt, states)
        return clicks, rewards, purchases, next_states

    def take(self, states, index):
        return np.asarray(states)[index]

    def policy_states(self, states):
        """The state ids, as a list of ints."""
        return np.asarray(states).tolist()

    def log_states(self, states):
        return [str(s) for s in np.asarray(states).tolist()]


# -------------------------------------------------------------------- policies
class MaxPolicy(object):
    """The `list_size` items of highest true reward in the current state, best first."""

    def __init__(self, mdp, k=None):
        self.mdp = mdp
        self.k = mdp.list_size if k is None else int(k)

    def __call__(self, histories, states):
        return self.mdp.ranking[np.asarray(states, dtype=np.int64), :self.k]


class RandomPolicy(online.RandomLists):
    """`k` (default `list_size`) distinct items drawn uniformly from all items, per step, from its
    own `rng`."""

    def __init__(self, mdp, rng, k=None):
        super(RandomPolicy, self).__init__(mdp.n_items, mdp.list_size if k is None else k, rng)


class MixPolicy(object):
    """Per step: the max list with probability `p_max`, else `k` items drawn uniformly without
    replacement from true-reward ranks `lo .. hi-1` (default `n_items//5 .. n_items//2 - 1`,
    i.e. 10..24 for 50 items). Uses its own `rng`: per call, n uniforms for the coin, then
    n x (hi - lo) uniforms for the draws (drawn for every row, used where the coin says so)."""

    def __init__(self, mdp, rng, k=None, p_max=0.5, ranks=None):
        self.mdp = mdp
        self.rng = rng
        self.k = mdp.list_size if k is None else int(k)
        self.p_max = float(p_max)
        lo, hi = ranks if ranks is not None else (mdp.n_items // 5, mdp.n_items // 2)
        if hi - lo < self.k or lo < 0 or hi > mdp.n_items:
            raise UserError("mix ranks %d..%d hold fewer than %d items" % (lo, hi - 1, self.k))
        self.lo, self.hi = int(lo), int(hi)

    def __call__(self, histories, states):
        states = np.asarray(states, dtype=np.int64)
        n = states.shape[0]
        use_max = self.rng.random_sample(n) < self.p_max
        keys = self.rng.random_sample((n, self.hi - self.lo))
        pick = np.argsort(keys, axis=1, kind="mergesort")[:, :self.k] + self.lo
        ranked = self.mdp.ranking[states]
        drawn = ranked[np.arange(n)[:, None], pick]
        return np.where(use_max[:, None], ranked[:, :self.k], drawn)


def logging_policy(mdp, name, rng):
    """The policy `name` in `POLICIES` (its randomness, if any, from `rng`)."""
    if name == "random":
        return RandomPolicy(mdp, rng)
    if name == "max":
        return MaxPolicy(mdp)
    if name == "mix":
        return MixPolicy(mdp, rng)
    if name == "belief":
        return BeliefPolicy(mdp)
    if name == "imitation":
        return ImitationPolicy(mdp)
    raise UserError("unknown MDP policy %r (expected one of %s)" % (name, ", ".join(POLICIES)))


def optimal_policy(mdp):
    """The simulator's greedy upper reference: the top-`list_size` items by true reward (= max)."""
    return MaxPolicy(mdp)


def generate_log(mdp, policy, n_sessions, rng, max_steps=MAX_STEPS, batch_size=1000, first_id=1):
    """`n_sessions` logged sessions (each 2..max_steps steps): `(sessions, stats)` as
    `online.collect_sessions`. The environment's randomness comes from `rng`."""
    return online.collect_sessions(mdp, policy, n_sessions, rng, max_steps=max_steps,
                                   min_steps=2, batch_size=batch_size, first_id=first_id)

