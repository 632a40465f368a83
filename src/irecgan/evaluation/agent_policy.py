"""Online evaluation of a trained agent against the true simulator (SPEC 7).

`AgentPolicy` adapts the agent to the simulators' batched policy interface (sim/online.py):
raw item-id histories in, top-k raw item ids out (each history re-encoded in one batch): greedy
(our online metric, SPEC 7) or, with `sample=True`, k items drawn without replacement from the
agent's softmax (Gumbel top-k, as the authors' reference implementation evaluates online; the
noise seeds come from `RandomState(seed)`, one [2] draw per call, so the figures repeat).
"""
import numpy as np

from irecgan.data.vocab import PAD
from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from irecgan.sim import online
from irecgan.sim import recsim_env
from irecgan.sim.paramfile import read_kind
from irecgan.tfcompat import gather_per_batch, tf


def load_environment(path):
    """The simulator whose parameters are in `path` (an MDP, a neural oracle or a RecSim file; a
    neural user samples its clicks when the file says the log was written so)."""
    kind = read_kind(path)
    if kind == mdp_sim.KIND:
        return mdp_sim.MDP.load(path)
    if kind == neural_sim.KIND:
        user_params, _ = neural_sim.load_params(path)
        switches = neural_sim.load_switches(path)
        return neural_sim.NeuralUser(user_params, sample_click=switches["sample_click"])
    if kind == recsim_env.KIND:
        return recsim_env.RecSimWorld.load(path)
    raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))


def environment_items(path):
    """The number of items (raw ids 0..n-1) of the simulator whose parameters are in `path`;
    `UserError` when the file is no simulator parameter file. Numpy only: the MDP and the neural
    user are loaded (and so checked) in full, a RecSim file is read without RecSim."""
    kind = read_kind(path)
    if kind == mdp_sim.KIND:
        return mdp_sim.MDP.load(path).n_items
    if kind == neural_sim.KIND:
        return neural_sim.NeuralUser(neural_sim.load_params(path)[0]).n_items
    if kind == recsim_env.KIND:
        return int(np.asarray(recsim_env.load_arrays(path)["features"]).shape[0])
    raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))


class AgentPolicy(object):
    """Top-k of the agent's policy after each history (ops built into models.graph): greedy, or
    Gumbel-sampled with `sample=True` (noise seeds from `RandomState(seed)`)."""

    def __init__(self, models, session, vocab, sample=False, seed=0):
        self.models = models
        self.session = session
        self.vocab = vocab
        self.sample = bool(sample)
        self.rng = np.random.RandomState(seed) if self.sample else None
        agent = models.agent
        scope = "online_sampled_policy" if self.sample else "online_policy"
        with models.graph.as_default(), tf.name_scope(scope):
            last = gather_per_batch(agent.logits, agent.lengths - 1)   # [B, V]
            if self.sample:
                self.seed = tf.placeholder(tf.int64, [2], name="noise_seed")
                self.top = agent.recommend(last, greedy=False, seed=self.seed)
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
        return np.array([[int(self.vocab.item_id(int(i))) for i in row] for row in top],
                        np.int64)


def evaluate_agent(models, session, vocab, env, n_sessions=1000, seed=0, sample=False):
    """Mean +- std cumulative reward (and coverage@k on the MDP) of the greedy (or sampling)
    agent."""
    return online.evaluate(env, AgentPolicy(models, session, vocab, sample=sample, seed=seed),
                           n_sessions=n_sessions, seed=seed)
