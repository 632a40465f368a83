"""The neural-oracle simulator of SPEC 8b (numpy only, explicit `RandomState`).

Symbols: `n_symbols` = 100; items are `0 .. n_symbols - 2` (0..98), the end symbol is
`n_symbols - 1` (99). Defaults: 50-d embeddings, 50 hidden units, lists of 20, sessions of at most
5 steps counting the start item. Every parameter is drawn from N(0, 1) (`random_params`).

The user (`NeuralUser`, the environment)
-----------------------------------------
A 1-layer LSTM over the clicked items with embedding table `E` [n_symbols, E]. The cell uses
PyTorch's `nn.LSTM` layout: `z = W_ih x + b_ih + W_hh h + b_hh` ([4H]), split in order into
input, forget, cell and output gates `i, f, g, o`;
`c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h' = sigmoid(o) * tanh(c')` (`lstm_step`).

Definition of h_t: with clicks c_0 (the start item), c_1, c_2, ... and (h_0, c_0) = 0,
`h_t` is the hidden state after feeding `E[c_0], ..., E[c_{t-1}]`, i.e. after every click made
so far. At step t (t >= 1) the user, shown list l_t, scores each candidate x of
`l_t + [end]` by `(W_o h_t + b_o) . E[x]` and clicks the highest (first on ties), or, with
`sample_click=True`, draws from the softmax of those scores. The step's reward, which is also the
log's purchase flag, is `round(sigmoid(E[c_t] . (W_r h_t + b_r)))`, computed from the same h_t
(before c_t is fed). Clicking the end symbol ends the session (reward 0, no log line); otherwise
c_t is fed, giving h_{t+1}. A session holds at most `max_steps` = 5 clicks counting c_0.

The logging policy (`LoggingPolicy`)
------------------------------------
An independent LSTM of the same sizes (own embedding [n_items, E] over the 99 items, same cell)
with an output layer `W_out h + b_out` [n_items] and a softmax over the 99 items; it is fed the
same clicks, so the list of step t comes from its hidden state after c_0 .. c_{t-1}. It shows the
20 items of highest probability (highest first; ties: lower id first), or, with `sample=True`,
20 distinct items drawn from the softmax without replacement (Gumbel top-k, own `rng`). With the
defaults everything after the start item is deterministic, so a log holds at most 99 distinct
sessions; the sampling options add variety.

The oracle policy (`OraclePolicy`, the history-based ceiling)
---------------------------------------------------------------
It knows the user's network and its state h_t, which is a deterministic function of the clicks
so far (the LSTM is fed the clicked items), whether clicks are argmax or sampled: so it is a
history-based policy with the true parameters, not one that sees hidden randomness. Per step it
shows the items the user would buy (`round(sigmoid(...)) = 1`) in decreasing click score, then,
when fewer than k items would be bought, the others in increasing click score (they take the
least click probability, and under argmax clicks the bought item stays the argmax whenever it
can). That maximises the expected reward of the step (under argmax clicks the reward is 1 iff
the top bought item outranks the end symbol and every shown item; under sampled clicks it is
`sum_{bought x in L} e^{s_x} / (e^{s_end} + sum_{x in L} e^{s_x})`, raised by every bought item
and lowered by every other item). It is greedy (one step ahead): a policy that plans could keep
sessions alive longer.

The training-reward oracle (`TrainingOraclePolicy`, `oracle_train`): the agents are trained on
`r = 1 + lambda_r * purchase` per click (`LAMBDA_R` = 3, the config's default), not on purchases.
It knows what `oracle` knows and shows, per step, the list of largest expected training reward:
under argmax clicks the best item x that can be the list's argmax (its score reaches the end
symbol's and k - 1 items score below it), then the k - 1 items of lowest score; under sampled
clicks the k items maximising `sum_L e^{s_x} r_x / (e^{s_end} + sum_L e^{s_x})` (Dinkelbach's
iteration, exact). It differs from `oracle` when no item the user would buy can win the click:
it then keeps the session alive with a click (r = 1) where `oracle` lets it end.

The log (`generate_log`): first line `ID;0;START;;0`, then one line per click with
`state` = the step index t (1, 2, ...), the shown list, the click and purchase = the step reward.
Sessions whose first list already drew the end symbol (one step) are discarded, as in SPEC 2.1.
The environment interface (`start`, `step`, ...) is documented in `sim.online`.
"""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.sim import online, paramfile

KIND = "irecgan.sim.neural"
N_SYMBOLS = 100
EMBED_DIM = 50
HIDDEN_DIM = 50
LIST_SIZE = 20
MAX_STEPS = 5

USER_KEYS = ("embedding", "w_ih", "w_hh", "b_ih", "b_hh", "w_o", "b_o", "w_r", "b_r")
POLICY_KEYS = ("embedding", "w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out")

# h, c: float [n, H], the user's LSTM state after every click so far; t: int [n], the number of
# steps taken so far (1 after the start item), i.e. the index of the next step.
NeuralState = collections.namedtuple("NeuralState", ["h", "c", "t"])


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One LSTM step, PyTorch layout (gates i, f, g, o). x [n, E], h, c [n, H] -> (h', c')."""
    hid = h.shape[1]
    z = x.dot(w_ih.T) + b_ih + h.dot(w_hh.T) + b_hh
    i = sigmoid(z[:, :hid])
    f = sigmoid(z[:, hid:2 * hid])
    g = np.tanh(z[:, 2 * hid:3 * hid])
    o = sigmoid(z[:, 3 * hid:])
    c_new = f * c + i * g
    return o * np.tanh(c_new), c_new


def _lstm_params(rng, n_embed, embed_dim, hidden_dim):
    p = collections.OrderedDict()
    p["embedding"] = rng.standard_normal((n_embed, embed_dim))
    p["w_ih"] = rng.standard_normal((4 * hidden_dim, embed_dim))
    p["w_hh"] = rng.standard_normal((4 * hidden_dim, hidden_dim))
    p["b_ih"] = rng.standard_normal(4 * hidden_dim)
    p["b_hh"] = rng.standard_normal(4 * hidden_dim)
    return p


def random_params(rng, n_symbols=N_SYMBOLS, embed_dim=EMBED_DIM, hidden_dim=HIDDEN_DIM):
    """`(user_params, policy_params)`, every entry N(0, 1) from `rng`, drawn in this order:
    user embedding [V, E], w_ih [4H, E], w_hh [4H, H], b_ih [4H], b_hh [4H], w_o [E, H], b_o [E],
    w_r [E, H], b_r [E]; then the policy's embedding [V-1, E], w_ih, w_hh, b_ih, b_hh,
    w_out [V-1, H], b_out [V-1]."""
    if n_symbols < 2 or embed_dim < 1 or hidden_dim < 1:
        raise UserError("need n_symbols >= 2 and positive sizes")
    user = _lstm_params(rng, n_symbols, embed_dim, hidden_dim)
    user["w_o"] = rng.standard_normal((embed_dim, hidden_dim))
    user["b_o"] = rng.standard_normal(embed_dim)
    user["w_r"] = rng.standard_normal((embed_dim, hidden_dim))
    user["b_r"] = rng.standard_normal(embed_dim)
    policy = _lstm_params(rng, n_symbols - 1, embed_dim, hidden_dim)
    policy["w_out"] = rng.standard_normal((n_symbols - 1, hidden_dim))
    policy["b_out"] = rng.standard_normal(n_symbols - 1)
    return user, policy


def _check_shapes(params, keys, what, n_embed=None):
    missing = [k for k in keys if k not in params]
    if missing:
        raise UserError("%s parameters lack %s" % (what, ", ".join(missing)))
    p = dict((k, np.asarray(params[k], dtype=np.float64)) for k in keys)
    n_sym, emb = p["embedding"].shape if p["embedding"].ndim == 2 else (0, 0)
    hid = p["w_hh"].shape[1] if p["w_hh"].ndim == 2 else 0
    want = {"embedding": (n_sym, emb), "w_ih": (4 * hid, emb), "w_hh": (4 * hid, hid),
            "b_ih": (4 * hid,), "b_hh": (4 * hid,), "w_o": (emb, hid), "b_o": (emb,),
            "w_r": (emb, hid), "b_r": (emb,), "w_out": (n_sym, hid), "b_out": (n_sym,)}
    for k in keys:
        if n_sym < 2 or hid < 1 or emb < 1 or p[k].shape != want[k]:
            raise UserError("%s parameter %s has shape %s, expected %s"
                            % (what, k, p[k].shape, want[k]))
    if n_embed is not None and n_sym != n_embed:
        raise UserError("%s embedding has %d rows, expected %d" % (what, n_sym, n_embed))
    return p, hid


class NeuralUser(object):
    """The neural-oracle user (the environment). See the module docstring.

    Args:
      params: dict of `USER_KEYS` arrays (from `random_params` or `load_params`).
      list_size: the list length the simulator is defined for (20; `step` accepts any k >= 1).
      max_steps: session cap counting the start item (5).
      sample_click: draw the click from the softmax of the scores instead of the argmax.
    """

    def __init__(self, params, list_size=LIST_SIZE, max_steps=MAX_STEPS, sample_click=False):
        self.params, self.hidden_dim = _check_shapes(params, USER_KEYS, "user")
        self.n_symbols = self.params["embedding"].shape[0]
        self.embed_dim = self.params["embedding"].shape[1]
        self.end_symbol = self.n_symbols - 1
        self.n_items = self.n_symbols - 1
        self.list_size = int(list_size)
        self.max_steps = int(max_steps)
        self.sample_click = bool(sample_click)
        if self.list_size < 1 or self.max_steps < 1:
            raise UserError("list_size and max_steps must be >= 1")

    def feed(self, items, h, c):
        """The LSTM state after feeding `items` (int [n]) to (h, c)."""
        p = self.params
        return lstm_step(p["embedding"][items], h, c, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])

    def click_scores(self, h, candidates):
        """float [n, m]: `(W_o h + b_o) . E[x]` for each candidate x (int [n, m])."""
        q = h.dot(self.params["w_o"].T) + self.params["b_o"]            # [n, E]
        return np.matmul(self.params["embedding"][candidates], q[:, :, None])[:, :, 0]

    def purchase(self, h, items):
        """int [n]: `round(sigmoid(E[item] . (W_r h + b_r)))`."""
        v = h.dot(self.params["w_r"].T) + self.params["b_r"]
        logit = (self.params["embedding"][items] * v).sum(axis=1)
        return np.round(sigmoid(logit)).astype(np.int64)

    # ---------------------------------------------------------------- environment interface
    def start(self, n, rng):
        """Start items uniform over the n_items items (one `randint` call), then fed."""
        first = rng.randint(0, self.n_items, size=n).astype(np.int64)
        zeros = np.zeros((n, self.hidden_dim))
        h, c = self.feed(first, zeros, zeros)
        return NeuralState(h, c, np.ones(n, dtype=np.int64)), first

    def step(self, states, lists, rng):
        """Score `lists + [end]`, click (argmax, or a draw: one uniform per row), reward, feed."""
        lists = np.asarray(lists, dtype=np.int64)
        n = lists.shape[0]
        rows = np.arange(n)
        cand = np.concatenate([lists, np.full((n, 1), self.end_symbol, dtype=np.int64)], axis=1)
        scores = self.click_scores(states.h, cand)
        if self.sample_click:
            pos = online.draw_rows(np.exp(scores - scores.max(axis=1, keepdims=True)),
                                   rng.random_sample(n))
        else:
            pos = np.argmax(scores, axis=1)
        choice = cand[rows, pos]
        is_end = choice == self.end_symbol
        purchases = np.where(is_end, 0, self.purchase(states.h, choice))
        h, c = self.feed(choice, states.h, states.c)
        clicks = np.where(is_end, -1, choice)
        return clicks, purchases.astype(np.float64), purchases, NeuralState(h, c, states.t + 1)

    def take(self, states, index):
        return NeuralState(states.h[index], states.c[index], states.t[index])

    def policy_states(self, states):
        """The user's hidden vectors h_t (a list of [H] arrays)."""
        return list(states.h)

    def log_states(self, states):
        """The index of the step about to be taken (1 for the first list)."""
        return [str(t) for t in states.t.tolist()]


class LoggingPolicy(object):
    """The logging policy of SPEC 8b (see the module docstring); a batched policy callable.

    Args:
      params: dict of `POLICY_KEYS` arrays.
      list_size: items per list (20).
      sample: draw the list from the softmax without replacement instead of taking the top.
      rng: a `RandomState`, required when `sample` is set.
    """

    def __init__(self, params, list_size=LIST_SIZE, sample=False, rng=None):
        self.params, self.hidden_dim = _check_shapes(params, POLICY_KEYS, "policy")
        self.n_items = self.params["embedding"].shape[0]
        self.list_size = int(list_size)
        if not 1 <= self.list_size <= self.n_items:
            raise UserError("list_size must be in 1..%d, got %r" % (self.n_items, list_size))
        if sample and rng is None:
            raise ValueError("sample=True needs an rng")
        self.sample = bool(sample)
        self.rng = rng

    def hidden(self, histories):
        """float [n, H]: the policy LSTM's h after feeding each history from zeros."""
        p = self.params
        lengths = np.array([len(x) for x in histories])
        out = np.zeros((len(histories), self.hidden_dim))
        for length in np.unique(lengths).tolist():
            idx = np.flatnonzero(lengths == length)
            seqs = np.array([histories[i] for i in idx.tolist()], dtype=np.int64).reshape(
                len(idx), length)
            h = np.zeros((len(idx), self.hidden_dim))
            c = np.zeros_like(h)
            for t in range(length):
                h, c = lstm_step(p["embedding"][seqs[:, t]], h, c, p["w_ih"], p["w_hh"],
                                 p["b_ih"], p["b_hh"])
            out[idx] = h
        return out

    def logits(self, histories):
        """float [n, n_items]: the softmax's logits `W_out h + b_out`."""
        return self.hidden(histories).dot(self.params["w_out"].T) + self.params["b_out"]

    def __call__(self, histories, states=None):
        keys = self.logits(histories)
        if self.sample:  # Gumbel top-k: k draws without replacement from softmax(logits)
            u = np.maximum(self.rng.random_sample(keys.shape), 1e-300)
            keys = keys - np.log(-np.log(u))
        return np.argsort(-keys, axis=1, kind="mergesort")[:, :self.list_size]


class OraclePolicy(object):
    """The `oracle` policy of the module docstring for a `NeuralUser`; uses the `states` the
    rollout passes (the user's hidden vectors h_t, `NeuralUser.policy_states`)."""

    def __init__(self, user, k=None):
        self.user = user
        self.k = user.list_size if k is None else int(k)
        if not 1 <= self.k <= user.n_items:
            raise UserError("list_size must be in 1..%d, got %r" % (user.n_items, self.k))

    def __call__(self, histories, states):
        h = np.array(states, dtype=np.float64).reshape(len(histories), self.user.hidden_dim)
        n = h.shape[0]
        items = np.tile(np.arange(self.user.n_items, dtype=np.int64), (n, 1))     # [n, N]
        scores = self.user.click_scores(h, items)                                    # [n, N]
        v = h.dot(self.user.params["w_r"].T) + self.user.params["b_r"]               # [n, E]
        logit = v.dot(self.user.params["embedding"][:self.user.n_items].T)            # [n, N]
        buy = np.round(sigmoid(logit)) > 0
        key = np.where(buy, -scores, np.inf)   # bought items first, highest score first
        order = np.lexsort((np.where(buy, 0.0, scores), key), axis=1)
        return order[:, :self.k]


LAMBDA_R = 3.0   # the agents' reward r = 1 + lambda_r * purchase (the config's lambda_r)


class TrainingOraclePolicy(OraclePolicy):
    """The `oracle_train` policy of the module docstring (greedy on `1 + lambda_r * purchase`);
    uses the `states` the rollout passes (the user's hidden vectors h_t). Deterministic."""

    def __init__(self, user, k=None, lambda_r=LAMBDA_R, iterations=100):
        super(TrainingOraclePolicy, self).__init__(user, k)
        self.lambda_r = float(lambda_r)
        self.iterations = int(iterations)

    def __call__(self, histories, states):
        u = self.user
        h = np.array(states, dtype=np.float64).reshape(len(histories), u.hidden_dim)
        n, n_items = h.shape[0], u.n_items
        items = np.tile(np.arange(n_items + 1, dtype=np.int64), (n, 1))   # items + end
        scores = u.click_scores(h, items)
        scores, s_end = scores[:, :n_items], scores[:, n_items:]            # [n, N], [n, 1]
        logit = (h.dot(u.params["w_r"].T) + u.params["b_r"]).dot(
            u.params["embedding"][:n_items].T)
        value = 1.0 + self.lambda_r * (np.round(sigmoid(logit)) > 0)         # [n, N]
        if u.sample_click:
            return self._dinkelbach(np.exp(scores - s_end), value)
        below = np.argsort(np.argsort(scores, axis=1, kind="mergesort"), axis=1)
        gain = np.where((scores >= s_end) & (below >= self.k - 1), value, 0.0)
        best = np.lexsort((-scores, -gain), axis=1)[:, 0]                   # [n]
        key = np.where(np.arange(n_items)[None, :] == best[:, None], -np.inf, scores)
        return np.argsort(key, axis=1, kind="mergesort")[:, :self.k]

    def _dinkelbach(self, w, value):
        """Per row the k items maximising `sum_L w v / (1 + sum_L w)` (w: relative to the end
        symbol's): top-k by `w (v - lam)`, lam the last list's ratio, until it repeats."""
        rows = np.arange(w.shape[0])[:, None]
        lam = np.zeros((w.shape[0], 1))
        chosen = None
        for _ in range(self.iterations):
            order = np.argsort(-(w * (value - lam)), axis=1, kind="mergesort")[:, :self.k]
            if chosen is not None and np.array_equal(np.sort(order, 1), np.sort(chosen, 1)):
                break
            chosen = order
            lam = ((w[rows, order] * value[rows, order]).sum(1, keepdims=True)
                   / (1.0 + w[rows, order].sum(1, keepdims=True)))
        return chosen


POLICIES = ("logging", "oracle", "random", "oracle_train")
# What each policy knows (SPEC 6): h_t is a function of the clicks, so all are history-based.
KNOWS = dict((name, "history-based") for name in POLICIES)


def policy(user, policy_params, name, rng, sample_list=False):
    """The policy `name` in `POLICIES`: `logging` (the logging LSTM; `sample_list` draws its
    lists, from `rng`), `oracle` (the ceiling), `random` (random lists from `rng`) or
    `oracle_train` (greedy on the training reward)."""
    if name == "logging":
        return LoggingPolicy(policy_params, list_size=user.list_size, sample=sample_list, rng=rng)
    if name == "oracle":
        return OraclePolicy(user)
    if name == "oracle_train":
        return TrainingOraclePolicy(user)
    if name == "random":
        return online.RandomLists(user.n_items, user.list_size, rng)
    raise UserError("unknown neural policy %r (expected one of %s)" % (name, ", ".join(POLICIES)))


def save_params(path, user_params, policy_params, sample_click=False, sample_list=False):
    """Write both parameter sets to one `.npz` (byte-identical for identical parameters), with
    the world's switches: whether the user samples its clicks and the logging policy its lists
    (files without them load as False, the defaults)."""
    arrays = {"sample_click": np.int64(bool(sample_click)),
              "sample_list": np.int64(bool(sample_list))}
    for k in USER_KEYS:
        arrays["user_" + k] = np.asarray(user_params[k], dtype=np.float64)
    for k in POLICY_KEYS:
        arrays["policy_" + k] = np.asarray(policy_params[k], dtype=np.float64)
    paramfile.save_arrays(path, KIND, arrays)


def load_params(path):
    """`(user_params, policy_params)` from a file written by `save_params` (`UserError` if bad)."""
    a = paramfile.load_arrays(path, KIND, ["user_" + k for k in USER_KEYS]
                              + ["policy_" + k for k in POLICY_KEYS])
    user = collections.OrderedDict((k, a["user_" + k]) for k in USER_KEYS)
    policy = collections.OrderedDict((k, a["policy_" + k]) for k in POLICY_KEYS)
    _check_shapes(user, USER_KEYS, "user")
    _check_shapes(policy, POLICY_KEYS, "policy", n_embed=user["embedding"].shape[0] - 1)
    return user, policy


def load_switches(path):
    """`{"sample_click": bool, "sample_list": bool}` saved by `save_params` (False when the
    file predates them)."""
    a = paramfile.load_arrays(path, KIND, [])
    return dict((k, bool(int(a[k])) if k in a else False) for k in ("sample_click",
                                                                     "sample_list"))


def generate_log(user, policy, n_sessions, rng, max_steps=MAX_STEPS, batch_size=1000,
                 first_id=1):
    """`n_sessions` logged sessions (2..max_steps steps each): `(sessions, stats)` as
    `online.collect_sessions`; the user's randomness (start items, sampled clicks) from `rng`."""
    return online.collect_sessions(user, policy, n_sessions, rng, max_steps=max_steps,
                                   min_steps=2, batch_size=batch_size, first_id=first_id)
