"""Online evaluation of a trained agent against the true simulator (SPEC 7).

`AgentPolicy` adapts the agent to the simulators' batched policy interface (sim/online.py):
raw item-id histories in, top-k raw item ids out (each history re-encoded in one batch): greedy
(our online metric, SPEC 7) or, with `sample=True`, k items drawn without replacement from the
agent's softmax (Gumbel top-k, as the authors' reference implementation evaluates online; the
noise seeds come from `RandomState(seed)`, one [2] draw per call, so the figures repeat).
"""
import numpy as np

from irecgan.data.vocab import N_SPECIAL, PAD
from irecgan.sim import online
from irecgan.tfcompat import gather_per_batch, tf


class AgentPolicy(object):
    """Top-k of the agent's policy after each history (ops built into models.graph): greedy, or
    Gumbel-sampled with `sample=True` (noise seeds from `RandomState(seed)`; `temperature`:
    of the sampled lists, Agent.recommend)."""

    def __init__(self, models, session, vocab, sample=False, seed=0, temperature=1.0):
        self.models = models
        self.session = session
        self.vocab = vocab
        self.sample = bool(sample)
        self.rng = np.random.RandomState(seed) if self.sample else None
        self._ids = False   # _item_ids: not made yet
        agent = models.agent
        scope = "online_sampled_policy" if self.sample else "online_policy"
        with models.graph.as_default(), tf.name_scope(scope):
            last = gather_per_batch(agent.logits, agent.lengths - 1)   # [B, V]
            if self.sample:
                self.seed = tf.placeholder(tf.int64, [2], name="noise_seed")
                self.top = agent.recommend(last, greedy=False, seed=self.seed,
                                           temperature=temperature)
            else:
                self.seed = None
                self.top = agent.recommend(last, greedy=True, seed=None)

    def reseed(self, seed):
        """Restart the noise seeds (sample=True) from `RandomState(seed)`."""
        if not self.sample:
            raise ValueError("a greedy AgentPolicy draws no noise")
        self.rng = np.random.RandomState(seed)

    def __call__(self, histories, states):
        n = len(histories)
        longest = max(len(h) for h in histories)
        clicks = np.full((n, longest + 1), PAD, np.int32)
        for row, history in enumerate(histories):
            clicks[row, :len(history)] = self.vocab.indices([str(x) for x in history])
        lengths = np.array([len(h) for h in histories], np.int32)
        agent = self.models.agent
        feed = {agent.clicks: clicks, agent.lengths: lengths}
        if self.sample:
            feed[self.seed] = self.rng.randint(0, 2 ** 31 - 1, size=2).astype(np.int64)
        top = self.session.run(self.top, feed)
        ids = self._item_ids()
        if ids is not None and top.size and top.min() >= N_SPECIAL and top.max() < len(ids):
            return ids[top]   # the loop below, in one lookup (every item id an integer)
        return np.array([[int(self.vocab.item_id(int(i))) for i in row] for row in top],
                        np.int64)

    def _item_ids(self):
        """int64 [V]: the integer item id of each vocabulary index (0 for the special tokens,
        which the lookup never reads); None when some item id is not an integer string, as a
        log's may be (then each id goes through int() as before)."""
        if self._ids is False:
            try:
                self._ids = np.array([0] * N_SPECIAL + [int(x) for x in self.vocab.items],
                                     np.int64)
            except (ValueError, OverflowError):
                self._ids = None
        return self._ids


def evaluate_agent(models, session, vocab, env, n_sessions=1000, seed=0, sample=False):
    """Mean +- std cumulative reward (and coverage@k on the MDP) of the greedy (or sampling)
    agent."""
    return online.evaluate(env, AgentPolicy(models, session, vocab, sample=sample, seed=seed),
                           n_sessions=n_sessions, seed=seed)
