"""The policies of the RecSim world (`sim.recsim_env.RecSimWorld`).

Policies (`POLICIES`)
---------------------
* `random`: k of the documents uniformly (`online.RandomLists`).
* `quality` (the better-than-random logging policy): k documents drawn without replacement with
  probability proportional to `exp(quality)` (Gumbel top-k, own `RandomState`): it knows the
  corpus' quality but nothing about the user.
* `oracle` (the ceiling, never a logging policy): knows the user's true interests and RecSim's
  budget rule, and shows the slate that maximises the expected clicks per minute of budget with
  the current interests held fixed: `W / (sum_i w_i c_i + w_0 * penalty)` where `w_i` are the
  choice weights, `w_0` the no-click weight and `c_i = L_i (1 - alpha q_i)` a click's net cost,
  solved exactly over slates of k by Dinkelbach's iteration (each iterate: top-k by
  `w_i (1 - lam c_i)`). The greedy "full slate" idea of RecSim's baselines, with RecSim's model
  given to it; recomputed every step from the true (evolving) interests. State-aware: it reads
  the interest vector drawn for each session.
* `posterior` (the history-based reference, `sim.recsim_posterior`): the oracle's slate with the
  interests replaced by their posterior mean under a particle filter from the start item, the
  slates shown and the clicks.
"""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.sim import online

QUALITY_TEMPERATURE = 1.0
POLICIES = ("random", "quality")  # logging policies; `oracle` and `posterior`: references
# What each reference policy knows (SPEC 6).
KNOWS = {"random": "history-based", "quality": "history-based", "oracle": "state-aware",
         "posterior": "history-based"}


class QualityPolicy(object):
    """k documents drawn without replacement with probability proportional to
    `exp(quality / temperature)` (Gumbel top-k; per call n x n_items uniforms of its `rng`)."""

    def __init__(self, world, rng, k=None, temperature=QUALITY_TEMPERATURE):
        self.logits = world.corpus.quality / float(temperature)
        self.k = world.list_size if k is None else int(k)
        self.rng = rng

    def __call__(self, histories, states=None):
        u = np.maximum(self.rng.random_sample((len(histories), self.logits.shape[0])), 1e-300)
        keys = self.logits[None, :] - np.log(-np.log(u))
        return np.argsort(-keys, axis=1, kind="mergesort")[:, :self.k]


class OraclePolicy(object):
    """The ceiling: per session the slate of k maximising expected clicks per minute of budget
    under the user's true current interests (see the module docstring). Deterministic."""

    def __init__(self, world, k=None, iterations=20):
        self.features = world.corpus.features
        self.length = world.corpus.video_length
        self.quality = world.corpus.quality
        self.k = world.list_size if k is None else int(k)
        self.iterations = int(iterations)

    def slate(self, view):
        w = self.features.dot(view.interests) + view.weights_offset    # choice weights [N]
        cost = self.length * (1.0 - view.update_alpha * view.quality_factor * self.quality)
        idle = view.no_click_weight * view.step_penalty
        lam = 0.0
        chosen = None
        for _ in range(self.iterations):
            keys = w * (1.0 - lam * cost)
            order = np.argsort(-keys, kind="mergesort")[:self.k]
            if chosen is not None and np.array_equal(np.sort(order), np.sort(chosen)):
                break
            chosen = order
            lam = w[order].sum() / max(float((w[order] * cost[order]).sum()) + idle, 1e-12)
        return chosen

    def __call__(self, histories, states):
        return np.array([self.slate(v) for v in states], dtype=np.int64)


def logging_policy(world, name, rng):
    """The logging policy `name` in `POLICIES` (its own draws from `rng`)."""
    if name == "random":
        return online.RandomLists(world.n_items, world.list_size, rng)
    if name == "quality":
        return QualityPolicy(world, rng)
    raise UserError("unknown RecSim policy %r (expected one of %s)"
                    % (name, ", ".join(POLICIES)))


def reference_policies(world, rng):
    """OrderedDict name -> policy for policy rows: random, quality, oracle (state-aware),
    posterior (the history-based ceiling; its own `RandomState(recsim_posterior.SEED)`)."""
    from irecgan.sim import recsim_posterior
    out = collections.OrderedDict()
    for name in POLICIES:
        out[name] = logging_policy(world, name, rng)
    out["oracle"] = OraclePolicy(world)
    out["posterior"] = recsim_posterior.PosteriorPolicy(
        world, recsim_posterior.world_constants(world))
    return out

