"""Online evaluation of a trained agent against the true simulator (SPEC 7).

`AgentPolicy` adapts the agent to the simulators' batched policy interface (sim/online.py):
raw item-id histories in, greedy top-k raw item ids out (each history re-encoded in one batch).
"""
import numpy as np

from irecgan.data.vocab import PAD
from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from irecgan.sim import online
from irecgan.sim.paramfile import read_kind
from irecgan.tfcompat import gather_per_batch, tf


def load_environment(path):
    """The simulator whose parameters are in `path` (an MDP or a neural oracle file)."""
    kind = read_kind(path)
    if kind == mdp_sim.KIND:
        return mdp_sim.MDP.load(path)
    if kind == neural_sim.KIND:
        user_params, _ = neural_sim.load_params(path)
        return neural_sim.NeuralUser(user_params)
    raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))


class AgentPolicy(object):
    """Greedy top-k of the agent's policy after each history (ops built into models.graph)."""

    def __init__(self, models, session, vocab):
        self.models = models
        self.session = session
        self.vocab = vocab
        agent = models.agent
        with models.graph.as_default(), tf.name_scope("online_policy"):
            last = gather_per_batch(agent.logits, agent.lengths - 1)   # [B, V]
            self.top = agent.recommend(last, greedy=True, seed=None)

    def __call__(self, histories, states):
        n = len(histories)
        longest = max(len(h) for h in histories)
        clicks = np.full((n, longest + 1), PAD, np.int32)
        for row, history in enumerate(histories):
            clicks[row, :len(history)] = self.vocab.indices([str(x) for x in history])
        lengths = np.array([len(h) for h in histories], np.int32)
        agent = self.models.agent
        top = self.session.run(self.top, {agent.clicks: clicks, agent.lengths: lengths})
        return np.array([[int(self.vocab.item_id(int(i))) for i in row] for row in top],
                        np.int64)


def evaluate_agent(models, session, vocab, env, n_sessions=1000, seed=0):
    """Mean +- std cumulative reward (and coverage@k on the MDP) of the greedy agent."""
    return online.evaluate(env, AgentPolicy(models, session, vocab), n_sessions=n_sessions,
                           seed=seed)
