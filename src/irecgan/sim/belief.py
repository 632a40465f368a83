"""The MDP's history-based ceiling: a Bayes filter over the hidden state and the `belief` policy.

The policy knows the MDP's parameters (rewards, transitions, start state) but not the state.
It keeps a belief b (a distribution over the S states) from the clicks and the lists it showed.

Filter (`BeliefFilter.update`). A session starts in `start_state` (b_0 = point mass). After list
L was shown and item c clicked (SPEC 8: the candidate c is drawn with probability
`r(s, c) / sum_{j in L} r(s, j)`, clicked with probability `r(s, c)`, and the next state drawn
from `P(. | s, c)`):

    b'(s') ∝ sum_s b(s) * [r(s, c) / sum_{j in L} r(s, j)] * r(s, c) * P(s' | s, c).

List (`best_lists`). The probability that the session continues (one click) when L is shown
under belief b is `f(L) = sum_s b(s) * sum_{j in L} r(s, j)^2 / sum_{j in L} r(s, j)`, a sum of
S ratios. Maximising it over the C(N, k) lists exactly is combinatorial, so `best_lists` uses a
greedy construction (add, k times, the item that raises f most) followed by 1-swap local search
(replace the list item and outside item whose exchange raises f most, until no exchange raises it
by more than `SWAP_TOL`, at most `max_sweeps` exchanges). The result is a 1-swap local optimum;
tests compare it with brute force on small worlds. For a point-mass belief f is one ratio, and
the local search then finds the exact optimum (Dinkelbach: the maximiser of `sum_L r^2 - lam r`
at the optimal ratio `lam` is the optimum), which is not the top-k by reward: items of reward
near 0 are never drawn, so they "pad" a list better than items of middling reward.

The policy is greedy (one step ahead); it does not plan over later states, so it is the
reference a history-based method should reach without planning, not an upper bound on every
history-based policy.

The click-imitation bound (`ImitationPolicy`, the `imitation` row). The paper's agent objective
imitates the clicks (weighted by the return) and never sees the shown list, so it learns a
per-item score of the history, not a list. `imitation` is what a perfect click imitator shows
greedily: the same filter, and the k items of largest posterior click weight
`q(x) = sum_s b(s) r(s, x)^2` (the probability that x is drawn as the candidate and clicked,
`b(s) r(s, x) / sum_L r(s, .) * r(s, x)`, without the list's normaliser), best first. For a
point-mass belief it is the top-k by reward of that state (`max` when the state is known), never
the padded list `belief` composes.
"""
import numpy as np

from irecgan.errors import UserError

SWAP_TOL = 1e-12


def list_value(rewards, belief, lists):
    """float [n]: `f(L) = sum_s b(s) sum_L r^2 / sum_L r` for `belief` [n, S], `lists` [n, k]
    and `rewards` [S, N] (a state whose list rewards sum to 0 contributes 0)."""
    r = np.transpose(rewards[:, np.asarray(lists, dtype=np.int64)], (1, 0, 2))  # [n, S, k]
    num = (r * r).sum(axis=2)
    den = r.sum(axis=2)
    ratio = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return (np.asarray(belief) * ratio).sum(axis=1)


def _ratio(num, den):
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def best_lists(rewards, belief, k, max_sweeps=None):
    """int [n, k]: for each belief row (float [n, S]), a list of k distinct items maximising
    `list_value` by greedy construction and 1-swap local search (see the module docstring).
    The list is ordered by decreasing expected reward `sum_s b(s) r(s, j)` (ties: lower id).
    Deterministic (no randomness)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    belief = np.asarray(belief, dtype=np.float64)
    n_states, n_items = rewards.shape
    k = int(k)
    if not 1 <= k <= n_items:
        raise UserError("list size must be in 1..%d, got %r" % (n_items, k))
    n = belief.shape[0]
    rows = np.arange(n)
    r = rewards.T[None, :, :]                                   # [1, N, S]
    r2 = r * r
    num = np.zeros((n, n_states))                               # sum_L r^2 per state
    den = np.zeros((n, n_states))                               # sum_L r per state
    chosen = np.zeros((n, n_items), dtype=bool)
    for _ in range(k):   # greedy: add the item of largest f(L + item)
        value = (_ratio(num[:, None, :] + r2, den[:, None, :] + r) * belief[:, None, :]).sum(2)
        value[chosen] = -np.inf                                 # [n, N]
        add = np.argmax(value, axis=1)
        chosen[rows, add] = True
        num += r2[0, add]
        den += r[0, add]
    sweeps = 4 * k if max_sweeps is None else int(max_sweeps)
    for _ in range(sweeps):   # 1-swap: exchange the (in, out) pair of largest gain
        members = np.argsort(~chosen, axis=1, kind="mergesort")[:, :k]   # [n, k] list items
        cur = (_ratio(num, den) * belief).sum(axis=1)
        r_out = rewards.T[members]                              # [n, k, S]
        num_x = num[:, None, None, :] - (r_out * r_out)[:, :, None, :] + r2[:, None, :, :]
        den_x = den[:, None, None, :] - r_out[:, :, None, :] + r[:, None, :, :]
        value = (_ratio(num_x, den_x) * belief[:, None, None, :]).sum(axis=3)   # [n, k, N]
        value[np.broadcast_to(chosen[:, None, :], value.shape)] = -np.inf
        flat = value.reshape(n, -1)
        best = np.argmax(flat, axis=1)
        gain = flat[rows, best] - cur
        improve = gain > SWAP_TOL
        if not improve.any():
            break
        pos, item = np.unravel_index(best[improve], (k, n_items))
        who = rows[improve]
        old = members[who, pos]
        chosen[who, old] = False
        chosen[who, item] = True
        num[who] += rewards[:, item].T ** 2 - rewards[:, old].T ** 2
        den[who] += rewards[:, item].T - rewards[:, old].T
    expected = belief.dot(rewards)                              # [n, N]
    key = np.where(chosen, -expected, np.inf)
    return np.argsort(key, axis=1, kind="mergesort")[:, :k]


class BeliefFilter(object):
    """The Bayes filter of the module docstring for an `MDP` (its rewards, transitions, start)."""

    def __init__(self, mdp):
        self.rewards = mdp.rewards
        self.transitions = mdp.transitions
        self.n_states = mdp.n_states
        self.start_state = mdp.start_state

    def prior(self, n):
        """float [n, S]: the point mass on the start state."""
        b = np.zeros((int(n), self.n_states))
        b[:, self.start_state] = 1.0
        return b

    def update(self, belief, lists, clicks):
        """float [n, S]: the belief after item `clicks[i]` was clicked from `lists[i]`.

        An observation impossible under every state of the belief (all weights 0) leaves the
        predicted belief through the clicked item's transitions from `belief` unweighted."""
        belief = np.asarray(belief, dtype=np.float64)
        lists = np.asarray(lists, dtype=np.int64)
        clicks = np.asarray(clicks, dtype=np.int64)
        den = self.rewards[:, lists].sum(axis=2).T               # [n, S]: sum_L r(s, .)
        rc = self.rewards[:, clicks].T                           # [n, S]: r(s, c)
        weight = belief * _ratio(rc * rc, den)                   # [n, S]
        total = weight.sum(axis=1, keepdims=True)
        weight = np.where(total > 0, weight / np.where(total > 0, total, 1.0), belief)
        trans = np.transpose(self.transitions[:, clicks, :], (1, 0, 2))   # [n, S, S']
        out = np.matmul(weight[:, None, :], trans)[:, 0, :]
        return out / out.sum(axis=1, keepdims=True)

    def replay(self, history, choose):
        """The belief after the clicks `history[1:]` (history[0] is the start item) when each
        list was `choose(belief [1, S]) -> [1, k]`; returns (belief [S], last list or None)."""
        b = self.prior(1)
        for click in history[1:]:
            lst = choose(b)
            b = self.update(b, lst, [click])
        return b[0]


class BeliefPolicy(object):
    """The `belief` policy: shows `best_lists(rewards, b, k)` for the current belief b.

    The policy interface passes only the clicks, so the belief is rebuilt from them: the policy
    is deterministic, so the lists it showed are a function of the clicks. Beliefs of the
    previous call are kept (keyed by the click history) so a rollout costs one filter update per
    step; a history not seen in the previous call is replayed from the start."""

    def __init__(self, mdp, k=None):
        self.mdp = mdp
        self.k = mdp.list_size if k is None else int(k)
        self.filter = BeliefFilter(mdp)
        self._cache = {}   # tuple(history) -> (belief [S], list [k]) of the previous call

    def _choose(self, beliefs):
        return best_lists(self.mdp.rewards, beliefs, self.k)

    def beliefs(self, histories):
        """float [n, S]: the belief after each history (under this policy's own lists)."""
        out = np.zeros((len(histories), self.mdp.n_states))
        prev_b, prev_l, prev_c, rows = [], [], [], []
        for i, h in enumerate(histories):
            if len(h) == 1:
                out[i] = self.filter.prior(1)[0]
                continue
            hit = self._cache.get(tuple(h[:-1]))
            if hit is None:
                out[i] = self.filter.replay(h, self._choose)
            else:
                rows.append(i)
                prev_b.append(hit[0])
                prev_l.append(hit[1])
                prev_c.append(h[-1])
        if rows:
            out[rows] = self.filter.update(np.array(prev_b), np.array(prev_l), prev_c)
        return out

    def __call__(self, histories, states=None):
        b = self.beliefs(histories)
        lists = self._choose(b)
        self._cache = dict((tuple(h), (b[i], lists[i])) for i, h in enumerate(histories))
        return lists


def imitation_lists(rewards, belief, k):
    """int [n, k]: per belief row (float [n, S]) the k items of largest posterior click weight
    `sum_s b(s) r(s, x)^2` (module docstring), best first (ties: lower id first)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if not 1 <= int(k) <= rewards.shape[1]:
        raise UserError("list size must be in 1..%d, got %r" % (rewards.shape[1], k))
    weight = np.asarray(belief, dtype=np.float64).dot(rewards * rewards)     # [n, N]
    return np.argsort(-weight, axis=1, kind="mergesort")[:, :int(k)]


class ImitationPolicy(BeliefPolicy):
    """The `imitation` policy: `BeliefPolicy`'s filter, lists by `imitation_lists`."""

    def _choose(self, beliefs):
        return imitation_lists(self.mdp.rewards, beliefs, self.k)


def click_probabilities(rewards, belief, items):
    """float [k]: the posterior predictive probability that item `items[j]` is clicked when
    the list `items` (int [k]) is shown under `belief` (float [S]), for the `rewards` [S, N]:
    `sum_s b(s) r(s, x)^2 / sum_{j in L} r(s, j)` (a state whose list rewards sum to 0
    contributes 0). `1 - sum` is the probability that the session ends at this list (SPEC 8:
    the drawn candidate is not clicked). The ranking of `offline_precision` and the truth of
    `irecgan.evaluation.user_fit` (U's fit on MDP logs) both use it."""
    r = rewards[:, np.asarray(items, dtype=np.int64)]                     # [S, k]
    return np.asarray(belief).dot(_ratio(r * r, r.sum(axis=1, keepdims=True)))


def offline_precision(mdp, sessions, ks=(1, 3, 5, 10), min_candidates=11):
    """The Bayes-optimal offline next-click P@k on logged MDP sessions (SPEC 7's steps).

    For each click step of each `Session` (item ids as strings) whose shown list, counting the
    appended `_EOS`, has at least `min_candidates` entries, the list's items are ranked by their
    posterior probability of being the clicked one, `click_probabilities`,
    `sum_s b(s) r(s, x)^2 / sum_{j in L} r(s, j)` (b: the filter's belief from the session's earlier clicks and logged lists; ties: earlier
    in the list first); a hit at k when the clicked item is among the first k. No ranking of the
    clicks knows more than this, so it is the ceiling of offline P@k on the log.
    Returns `(hits, evaluated)`: a dict k -> number of hits, and the number of evaluated steps.
    """
    filt = BeliefFilter(mdp)
    hits = dict((int(k), 0) for k in ks)
    evaluated = 0
    for session in sessions:
        b = filt.prior(1)
        for j in range(1, len(session.clicks)):
            lst = np.array([int(x) for x in session.rec_lists[j]], dtype=np.int64)
            click = int(session.clicks[j])
            if len(lst) + 1 >= min_candidates:
                p = click_probabilities(mdp.rewards, b[0], lst)
                order = lst[np.argsort(-p, kind="mergesort")]
                rank = int(np.flatnonzero(order == click)[0])
                for k in hits:
                    hits[k] += rank < k
                evaluated += 1
            b = filt.update(b, lst[None], [click])
    return hits, evaluated
