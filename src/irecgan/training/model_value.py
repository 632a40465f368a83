"""U's error as the agent meets it (issue 32): sessions that the user model U generates for the
agent's own sampled lists, beside sessions the true simulator answers to the same agent.

U's fit (irecgan.evaluation.user_fit) is measured on logged lists; the agent learns from U's
answers to its own lists, which the logging policy rarely showed. Here both worlds answer the
run's final agent, sampling its lists as in training (Gumbel top-k at its generation
temperature), with the adversarial phase's length cap (`max_len` clicks, start click
included): U starts from first clicks drawn from the training sessions' (the start distribution
of generated sessions, SPEC 4), the simulator from its own start distribution. The figures per
world: sessions, mean clicks after the start click, mean purchases, and the share of sessions
cut at the cap. Their difference (U - truth) is U's error in the quantity the agent maximises.
`model_value` also returns the simulator's sessions, on which irecgan.experiment measures U's
next-click fit (irecgan.evaluation.user_fit) on the agent's own lists.
"""
import numpy as np

from irecgan.evaluation.agent_policy import AgentPolicy
from irecgan.training.generation import Generator
from irecgan.training.true_world import TrueWorldGenerator


def session_figures(sessions, max_len):
    """{"sessions", "clicks", "purchases", "cut"} of encoded sessions: their number, the mean
    clicks after the start click, the mean purchases, the share with `max_len` clicks."""
    if not sessions:
        return {"sessions": 0, "clicks": float("nan"), "purchases": float("nan"),
                "cut": float("nan")}
    lengths = np.array([len(s.clicks) for s in sessions], dtype=np.float64)
    purchases = np.array([sum(s.purchases) for s in sessions], dtype=np.float64)
    return {"sessions": len(sessions), "clicks": float(np.mean(lengths - 1.0)),
            "purchases": float(np.mean(purchases)),
            "cut": float(np.mean(lengths >= max_len))}


def model_value(models, session, data, env, max_len, n_sessions, seed, temperature=1.0):
    """`(figures, truth sessions)`: figures {"user", "truth", "difference": user - truth per
    figure, "max_len", "sessions", "seed"} (`session_figures`) of `n_sessions` sessions in
    each world for the agent in `session`, and the simulator's encoded sessions. `seed` seeds
    both worlds' draws (first clicks, list noise, the simulator), the same for every run given
    the same seed."""
    rng = np.random.RandomState(seed)
    first = rng.choice(np.asarray(data.first_clicks), size=int(n_sessions))
    generated = Generator(models, session, max_len, n_rollouts=0).generate(first, rng,
                                                                             with_q_d=False)
    policy = AgentPolicy(models, session, data.vocab, sample=True, temperature=temperature)
    truth = TrueWorldGenerator(env, policy, data.vocab, max_len).generate(int(n_sessions), rng)
    user, real = session_figures(generated, max_len), session_figures(truth, max_len)
    return ({"user": user, "truth": real,
             "difference": dict((k, user[k] - real[k]) for k in ("clicks", "purchases", "cut")),
             "max_len": int(max_len), "sessions": int(n_sessions), "seed": int(seed)}, truth)
