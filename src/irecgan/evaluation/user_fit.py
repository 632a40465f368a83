"""How well the user model U fits the test split's clicks, next to the true user (issue 22).

The paper claims that the discriminator "debiases the user model"; these figures measure U's fit.

Test steps
----------
A test step is a (history, shown list, actual next click) position of a test session: in the
batch tensors of SPEC 2.4 a position t < L_i - 1 (the end-of-session position, whose target is
`_EOS` among randomly drawn candidates, is left out), whose candidates are step t+1's shown list
followed by `_EOS` (SPEC 3.1), and whose target is the click of step t+1. Exactly the positions
offline P@k evaluates (`metrics.evaluated_positions`: the candidate list, `_EOS` included, has more
than 10 entries; every step of the simulator logs, whose lists hold 10 or 20 items), and among
the positions U's click loss is trained on. Batches are made as `pretrain.evaluate` makes them
(the test split in file order, `RandomState(EVAL_SEED)` for the end-step padding, which no test
step reads), so nothing here draws from a training RandomState.

Figures (over the N test steps)
-------------------------------
* P@1: the share of steps (in percent) whose highest-probability candidate (`_EOS` included;
  ties: the earlier candidate) is the actual click. As in SPEC 7, a `_UNK` click is never a hit.
* LL / step: the mean over steps of the natural log of the probability of the actual click
  among the candidates, `log P(click | history, candidates)`. For U these are the click
  log-probabilities its click loss uses (`UserModel.click_log_probs`: the masked log-softmax
  over the candidates), so U's LL / step is minus its mean click NLL over the test steps.
* P@1_click and LL_click / step: the same given that a click happened, i.e. over the shown items
  only, `_EOS` left out and the probabilities renormalised, `P(x) / (1 - P(_EOS))`. They matter
  because test steps are selected on their outcome: the end of a session is a step whose list
  the log does not hold (SPEC 2.4 pads it with random candidates), so every test step is one
  where a click happened. A model's `_EOS` mass is then lost at every step, and the truth's LL
  over the `_EOS`-inclusive space is NOT a ceiling on these steps (a model that puts less mass
  on `_EOS` than the truth can score a higher LL). Given a click, the truth is the ceiling:
  its conditional distribution is the one the clicks are drawn from. P@1_click ranks as offline
  P@1 does (SPEC 7: `_EOS` removed from the ranking); the truth's P@1_click on MDP logs is the
  "bayes (offline)" row's P@1.

The truth on the same steps and the same event space (the shown list plus `_EOS`)
-------------------------------------------------------------------------------
* `bayes` (MDP logs, SPEC 8): the Bayes filter's posterior predictive (`sim.belief`): with b the
  belief over the hidden state from the session's earlier clicks and logged lists,
  `P(x) = sum_s b(s) r(s, x)^2 / sum_{j in L} r(s, j)` for a list item x (`belief.
  click_probabilities`, which also ranks the lists of the "bayes (offline)" rows), and
  `P(_EOS) = 1 - sum_x P(x)`, the probability that the drawn candidate is not clicked and the
  session ends. It is the true model's probability, not conditioned on the log's selection (the
  logs keep only sessions with at least one click, so the first list of a logged session was
  in fact always clicked; that conditioning is ignored).
* `oracle` (neural-oracle logs, SPEC 8b): the oracle user's own click distribution over the
  list plus its end symbol (which `_EOS` stands for): its state is a function of the clicks.
  With argmax clicks (the default) it is the point mass on the highest-scoring candidate (first
  on ties), so its LL / step is 0 and its P@1 100 % on logs it wrote; with sampled clicks the
  softmax of the scores.
* `empirical` (RecSim logs): NOT the true user (RecSim's user has hidden interests and a time
  budget) but an empirical choice model from the TRAINING split: every candidate x gets the
  weight `w_x = (c_x + 1) / (n_x + 2)`, its smoothed click-through rate, where n_x is the number
  of training steps (positions t < L_i - 1) whose list showed x and c_x the number of those that
  clicked it; `_EOS` counts as shown at every position of a training session (n = sum_i L_i, the
  positions U trains on) and as clicked once per session (c = number of sessions, each ends with
  `_EOS`). Then `P(x | candidates) = w_x / sum_{j in candidates} w_j`.
* CIKM, or no simulator parameter file (`env_params`): no truth (None).
The truth needs every test step's candidates and clicks as simulator item ids: when a test
step holds an item outside the vocabulary (`_UNK`) there is no truth either (None, with a line
saying why).

`user_fit` returns `{"P@1", "ll", "P@1_click", "ll_click", "n_steps", "truth": {"P@1", "ll",
"P@1_click", "ll_click", "kind"} or None}`, the object
of results.json["user_fit"] and of RUN/user_fit.json (`irecgan-evaluate --user_fit`);
`record_keys` gives the metrics.jsonl keys. Numpy only (U's probabilities come from a session
that the caller passes).
"""
import numpy as np

from irecgan.data.batching import iterate_batches
from irecgan.data.vocab import EOS, N_SPECIAL, UNK
from irecgan.evaluation.metrics import EVAL_SEED, evaluated_positions
from irecgan.sim import belief as belief_sim
from irecgan.sim import registry
from irecgan.sim.paramfile import read_kind

KINDS = ("bayes", "oracle", "empirical")


# -- the figures of given probabilities ------------------------------------------------------
def test_steps(batch):
    """Boolean [B, n]: the test steps of a batch dict (see the module docstring)."""
    return evaluated_positions(batch["rec_mask"], batch["mask"], batch["lengths"])


test_steps.__test__ = False  # not a pytest test


def fit_counts(log_probs, rec_lists, rec_mask, target_index, steps):
    """Counts over the positions where `steps` [B, n] is True: a dict with `n` (steps), `hits`
    and `ll_sum` (over the candidates, `_EOS` included), `hits_click` and `ll_click_sum` (over
    the shown items only: `_EOS` left out and the probabilities renormalised, i.e. given that a
    click happened).

    log_probs [B, n, K]: log-probabilities of the candidates (-inf allowed); rec_lists [B, n, K]
    vocabulary indices; rec_mask [B, n, K] (1 on real candidates); target_index [B, n].
    A hit: the highest-probability candidate (ties: the earlier one) is the target and the
    target is not `_UNK`. ll_sum: the sum of the target's log-probability (natural log)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    rec_lists = np.asarray(rec_lists)
    real = np.asarray(rec_mask) > 0
    steps = np.asarray(steps, dtype=bool)
    target = np.asarray(target_index, dtype=np.int64)
    if not (lp.shape == real.shape == rec_lists.shape) or lp.ndim != 3 \
            or target.shape != lp.shape[:2] or steps.shape != lp.shape[:2]:
        raise ValueError("log_probs %s, rec_lists, rec_mask [B, n, K]; target_index and steps "
                         "[B, n] (got %s, %s)" % (lp.shape, target.shape, steps.shape))
    t_item = np.take_along_axis(rec_lists, target[:, :, None], axis=2)[:, :, 0]
    out = {"n": int(steps.sum())}
    items = real & (rec_lists != EOS)
    for suffix, cands in (("", real), ("_click", items)):
        masked = np.where(cands, lp, -np.inf)
        if suffix:   # renormalise over the shown items: minus log sum exp
            top_lp = masked.max(axis=2, keepdims=True)
            shift = np.where(np.isfinite(top_lp), top_lp, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                lse = shift + np.log(np.exp(masked - shift).sum(axis=2, keepdims=True))
                masked = np.where(np.isfinite(lse), masked - lse, -np.inf)
        top = np.argmax(masked, axis=2)                           # first of the ties
        t_lp = np.take_along_axis(masked, target[:, :, None], axis=2)[:, :, 0]
        hits = steps & (top == target) & (t_item != UNK)
        out["hits" + suffix] = int(hits.sum())
        out["ll%s_sum" % suffix] = float(t_lp[steps].sum())
    return out


FIGURES = ("P@1", "ll", "P@1_click", "ll_click")


def figures(counts):
    """{"P@1": 100 hits / n, "ll": ll_sum / n, "P@1_click", "ll_click" (the same given a
    click), "n_steps": n} of `fit_counts`' counts (NaN figures when n is 0)."""
    n = counts["n"]
    out = {"n_steps": int(n)}
    for suffix in ("", "_click"):
        out["P@1" + suffix] = (100.0 * counts["hits" + suffix] / n) if n else float("nan")
        out["ll" + suffix] = (counts["ll%s_sum" % suffix] / n) if n else float("nan")
    return out


class FitAccumulator(object):
    """Sums `fit_counts` over batches; `result()` is `figures` of the sums."""

    def __init__(self):
        self.counts = {"n": 0, "hits": 0, "ll_sum": 0.0, "hits_click": 0, "ll_click_sum": 0.0}

    def add(self, log_probs, batch):
        counts = fit_counts(log_probs, batch["rec_lists"], batch["rec_mask"],
                            batch["target_index"], test_steps(batch))
        for key in self.counts:
            self.counts[key] += counts[key]

    def result(self):
        return figures(self.counts)


def test_batches(sessions, batch_size, batch_maker):
    """The batches of `sessions` in order, made as `pretrain.evaluate` makes them."""
    rng = np.random.RandomState(EVAL_SEED)
    for chunk in iterate_batches(sessions, batch_size, None):
        yield batch_maker(chunk, rng)


test_batches.__test__ = False


# -- the truths ------------------------------------------------------------------------------
class NoTruth(Exception):
    """The truth cannot be computed on these sessions (the message says why)."""


def _log(p):
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(np.asarray(p, dtype=np.float64), 0.0))


class _SimulatorTruth(object):
    """A truth that follows a session step by step in simulator item ids: subclasses give
    `start(first_item) -> state`, `probs(state, items, eos) -> float [m]` over the candidates
    (`items`: raw ids, `eos`: bool [m] where the candidate is `_EOS`) and
    `advance(state, items, click) -> state`."""

    def __init__(self, vocab, n_items):
        raw = np.full(vocab.size, -1, dtype=np.int64)
        for index in range(N_SPECIAL, vocab.size):
            try:
                item = int(vocab.item_id(index))
            except ValueError:
                continue
            if 0 <= item < n_items:
                raw[index] = item
        self.raw = raw

    def _raw(self, indices, allow_eos=False):
        indices = np.asarray(indices, dtype=np.int64)
        out = self.raw[indices]
        bad = (out < 0) & ~((indices == EOS) & allow_eos)
        if bad.any():
            raise NoTruth("a test step holds an item that is no simulator item of the parameter "
                          "file (%s)" % ", ".join(sorted(set(
                              "_UNK" if i == UNK else str(i) for i in indices[bad]))))
        return out

    def log_probs(self, batch):
        """float [B, n, K]: the truth's log-probability of every candidate of the steps t <
        L_i - 1 (-inf elsewhere)."""
        rec_lists, rec_mask = batch["rec_lists"], batch["rec_mask"]
        clicks, lengths = batch["clicks"], batch["lengths"]
        out = np.full(rec_lists.shape, -np.inf)
        for i in range(rec_lists.shape[0]):
            state = self.start(int(self._raw(clicks[i, :1])[0]))
            for t in range(int(lengths[i]) - 1):
                cand = rec_lists[i, t][rec_mask[i, t] > 0].astype(np.int64)
                eos = cand == EOS
                items = self._raw(cand, allow_eos=True)
                out[i, t, :len(cand)] = _log(self.probs(state, items, eos))
                state = self.advance(state, items[~eos], int(self._raw(clicks[i, t + 1:t + 2])[0]))
        return out


class BayesTruth(_SimulatorTruth):
    """The MDP's posterior predictive click probabilities (module docstring, `bayes`)."""

    kind = "bayes"

    def __init__(self, mdp, vocab):
        super(BayesTruth, self).__init__(vocab, mdp.n_items)
        self.mdp = mdp
        self.filter = belief_sim.BeliefFilter(mdp)

    def start(self, first_item):
        return self.filter.prior(1)

    def probs(self, state, items, eos):
        out = np.zeros(len(items))
        out[~eos] = belief_sim.click_probabilities(self.mdp.rewards, state[0], items[~eos])
        out[eos] = max(0.0, 1.0 - out[~eos].sum()) / max(int(eos.sum()), 1)
        return out

    def advance(self, state, items, click):
        return self.filter.update(state, items[None], [click])


class OracleTruth(_SimulatorTruth):
    """The neural oracle's click distribution (module docstring, `oracle`)."""

    kind = "oracle"

    def __init__(self, user, vocab):
        super(OracleTruth, self).__init__(vocab, user.n_items)
        self.user = user

    def start(self, first_item):
        zeros = np.zeros((1, self.user.hidden_dim))
        return self.user.feed(np.array([first_item]), zeros, zeros)

    def probs(self, state, items, eos):
        cand = np.where(eos, self.user.end_symbol, items)
        scores = self.user.click_scores(state[0], cand[None])[0]
        if self.user.sample_click:
            e = np.exp(scores - scores.max())
            return e / e.sum()
        out = np.zeros(len(cand))
        out[int(np.argmax(scores))] = 1.0
        return out

    def advance(self, state, items, click):
        return self.user.feed(np.array([click]), state[0], state[1])


class EmpiricalTruth(object):
    """The empirical choice model of the training split (module docstring, `empirical`); NOT
    the true user."""

    kind = "empirical"

    def __init__(self, weights):
        self.weights = np.asarray(weights, dtype=np.float64)   # [V]: w_x per vocabulary index

    @classmethod
    def from_sessions(cls, sessions, vocab_size):
        shown = np.zeros(vocab_size)
        clicked = np.zeros(vocab_size)
        for s in sessions:
            for j in range(1, len(s.clicks)):
                np.add.at(shown, np.asarray(s.rec_lists[j], dtype=np.int64), 1.0)
                clicked[s.clicks[j]] += 1.0
        shown[EOS] = float(sum(len(s.clicks) for s in sessions))
        clicked[EOS] = float(len(sessions))
        return cls((clicked + 1.0) / (shown + 2.0))

    def log_probs(self, batch):
        w = self.weights[batch["rec_lists"]] * (batch["rec_mask"] > 0)
        return _log(w / np.maximum(w.sum(axis=2, keepdims=True), 1e-300))


def truth_model(env_params, data):
    """The truth for runs on `data` whose simulator parameters are in `env_params` (a path,
    "" for none): a BayesTruth, OracleTruth or EmpiricalTruth, or None (no simulator)."""
    if not env_params:
        return None
    simulator = registry.by_kind(read_kind(env_params))
    truth = None if simulator is None else simulator.truth
    if truth == "empirical":
        return EmpiricalTruth.from_sessions(data.train, data.vocab.size)
    if truth == "bayes":
        return BayesTruth(simulator.load(env_params), data.vocab)
    if truth == "oracle":
        return OracleTruth(simulator.load(env_params), data.vocab)
    return None


def truth_figures(truth, sessions, batch_size, batch_maker, log=None):
    """{"P@1", "ll", "kind"} of `truth` on the test steps of `sessions`, or None (no truth, no
    session, or `NoTruth`: said in one line through `log`)."""
    if truth is None or not sessions:
        return None
    acc = FitAccumulator()
    try:
        for batch in test_batches(sessions, batch_size, batch_maker):
            acc.add(truth.log_probs(batch), batch)
    except NoTruth as err:
        if log is not None:
            log("U's fit: no truth: %s" % err)
        return None
    out = dict((key, acc.result()[key]) for key in FIGURES)
    out["kind"] = truth.kind
    return out


def user_figures(session, models, sessions, batch_size, batch_maker):
    """{"P@1", "ll", "n_steps"} of the user model (`models.user`, in `session`) on the test
    steps of `sessions`. Runs existing tensors only (no op is added to the graph)."""
    acc = FitAccumulator()
    for batch in test_batches(sessions, batch_size, batch_maker):
        acc.add(session.run(models.user.click_log_probs, models.user_feed(batch)), batch)
    return acc.result()


def user_fit(user, truth):
    """The results.json["user_fit"] object from `user_figures` and `truth_figures` results."""
    out = dict((key, user[key]) for key in FIGURES)
    out["n_steps"] = user["n_steps"]
    out["truth"] = truth
    return out


def record_keys(fit):
    """The metrics.jsonl keys of a `user_fit` object: user_test_P@1, user_test_ll,
    user_test_P@1_click, user_test_ll_click, user_test_steps, and the truth's true_test_...
    when there is one (its kind is in results.json)."""
    out = {"user_test_steps": fit["n_steps"]}
    for key in FIGURES:
        out["user_test_" + key] = fit[key]
        if fit["truth"] is not None:
            out["true_test_" + key] = fit["truth"][key]
    return out
