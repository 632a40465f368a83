"""RecSim's history-based reference (`posterior`): a particle filter over the user's interests.

`oracle` (`sim.recsim_policies`) reads each user's interest vector, drawn per session: it is
state-aware. `posterior` knows what RecSim's user model is (the prior, the choice model, the
interest dynamics and the budget rule's constants, `Constants`) and the corpus, and sees only
what a recommender sees: the start item, the slates it showed and the clicks.

Filter (`InterestFilter`). Prior: interests u ~ U(-1, 1)^D (RecSim's `UtilityModelUserSampler`),
as `n_particles` particles drawn once from `RandomState(seed)`. With choice weights
`w_i(u) = f_i . u + offset` (offset = -min_normalizer = 1; f_i the document's features, one-hot
over the topic clusters):
* the start item a: weight `w_a(u) / sum_{all docs} w_j(u)` (`RecSimWorld.start`);
* a click on c from slate L: weight `w_c(u) / sum_{j in L} w_j(u)`. The environment repeats a
  slate until a click, so the no-click draws cancel; what a policy sees is the click given one
  happened. Then RecSim's interest update (`IEvUserModel.update_state`) moves every particle:
  `step = (0.3 - 0.3 |u|) * f_c * (f_c - u)`, `u += step` when a coin < `((u + 1) / 2) . f_c`,
  else `u -= step`, clipped to [-1, 1]; the coins are uniforms drawn once (a table
  [max_steps, particles]);
* when the effective sample size falls below half the particles, systematic resampling with an
  offset drawn once per step (a table [max_steps + 1]).
All draws come from the one seeded `RandomState`, drawn at construction, so the posterior is a
function of the history alone: two users with the same start item, slates and clicks get the
same lists, whatever their interests. The filter ignores that a session is still running (the
budget depends on the unseen no-click repeats and the clicked videos' quality).

Slate (`PosteriorPolicy`). The oracle's slate (Dinkelbach on expected clicks per minute of budget,
`OraclePolicy.slate`) with the interests replaced by their posterior mean: the choice weights are
linear in u, so these are the posterior expected choice weights. Greedy (one step ahead), as the
oracle; a certainty-equivalent slate, not an upper bound on every history-based policy.
"""
import collections

import numpy as np

from irecgan.errors import UserError
from irecgan.sim.recsim_policies import OraclePolicy

N_PARTICLES = 500
SEED = 0                   # the filter's own RandomState (the report's rows use it)
ALPHA_Y_INTERCEPT = 0.3    # IEvUserModel's interest step: (-0.3 / 1.0) |u| + 0.3
ALPHA_X_INTERCEPT = 1.0

# RecSim's user constants (the same for every user; `constants_of` reads them off a user model).
Constants = collections.namedtuple("Constants", [
    "weights_offset", "no_click_weight", "step_penalty", "update_alpha", "quality_factor"])
DEFAULT_CONSTANTS = Constants(1.0, 2.0, 0.5, 0.9 / 3.4, 1.0)
# the view `OraclePolicy.slate` reads (as `recsim_env.UserView`, without the hidden budget)
View = collections.namedtuple("View", ["interests"] + list(Constants._fields))


def world_constants(world):
    """The `Constants` of a `RecSimWorld`'s users, read off one user model (as
    `RecSimWorld.policy_states` reads them; the sampled interests are not used)."""
    u = world.user_state(world.user_model(0))
    cf = u.choice_features
    return Constants(-float(cf["min_normalizer"]),
                     float(cf["no_click_mass"]) - float(cf["min_normalizer"]),
                     float(u.step_penalty), float(u.user_update_alpha),
                     float(u.document_quality_factor))


class InterestFilter(object):
    """The particle filter of the module docstring over the interests of one user."""

    def __init__(self, features, n_particles=N_PARTICLES, seed=SEED, max_steps=40,
                 weights_offset=1.0):
        self.features = np.asarray(features, dtype=np.float64)          # [N, D]
        if self.features.ndim != 2 or int(n_particles) < 1 or int(max_steps) < 1:
            raise UserError("the filter needs features [N, D], particles >= 1, max_steps >= 1")
        self.offset = float(weights_offset)
        rng = np.random.RandomState(seed)
        p, d = int(n_particles), self.features.shape[1]
        self.prior = rng.uniform(-1.0, 1.0, (p, d))                     # [P, D]
        self.coins = rng.random_sample((int(max_steps), p))             # [T, P]
        self.offsets = rng.random_sample(int(max_steps) + 1)            # [T + 1]

    def weights(self, particles, items):
        """float [P, m]: the choice weights of `items` (int [m]) under each particle."""
        return particles.dot(self.features[np.asarray(items, dtype=np.int64)].T) + self.offset

    def start(self, item):
        """(particles [P, D], log-weights [P]) after the start item."""
        w = self.weights(self.prior, np.arange(self.features.shape[0]))
        logw = np.log(np.maximum(w[:, int(item)], 1e-300)) - np.log(w.sum(axis=1))
        return self._resample(self.prior.copy(), logw, 0)

    def update(self, particles, logw, slate, click, t):
        """(particles, log-weights) after `click` from `slate` at step t (1, 2, ...)."""
        slate = np.asarray(slate, dtype=np.int64)
        w = self.weights(particles, slate)                               # [P, k]
        pos = int(np.flatnonzero(slate == int(click))[0])
        logw = logw + np.log(np.maximum(w[:, pos], 1e-300)) - np.log(w.sum(axis=1))
        f = self.features[int(click)]
        alpha = (-ALPHA_Y_INTERCEPT / ALPHA_X_INTERCEPT) * np.abs(particles) + ALPHA_Y_INTERCEPT
        step = alpha * f * (f - particles)
        up = self.coins[(int(t) - 1) % self.coins.shape[0]] < ((particles + 1.0) / 2.0).dot(f)
        moved = np.clip(np.where(up[:, None], particles + step, particles - step), -1.0, 1.0)
        return self._resample(moved, logw, int(t))

    def _resample(self, particles, logw, t):
        logw = logw - logw.max()
        w = np.exp(logw)
        w /= w.sum()
        if 1.0 / (w * w).sum() >= 0.5 * w.size:
            return particles, logw
        marks = (self.offsets[t % self.offsets.shape[0]] + np.arange(w.size)) / w.size
        idx = np.minimum(np.searchsorted(np.cumsum(w), marks, side="right"), w.size - 1)
        return particles[idx], np.zeros(w.size)

    @staticmethod
    def mean(particles, logw):
        """float [D]: the posterior mean interests."""
        w = np.exp(logw - logw.max())
        return (w / w.sum()).dot(particles)


class PosteriorPolicy(object):
    """The `posterior` policy (module docstring). A policy of `sim.online` that never reads its
    `states`; posteriors of the previous call are kept (keyed by the click history: the policy
    is deterministic, so its slates are a function of the clicks), a history not seen in the
    previous call is replayed from its start item."""

    def __init__(self, world, constants=DEFAULT_CONSTANTS, n_particles=N_PARTICLES, seed=SEED,
                 k=None):
        self.world = world
        self.constants = constants
        self.slater = OraclePolicy(world, k=k)
        self.filter = InterestFilter(world.corpus.features, n_particles, seed, world.max_steps,
                                     constants.weights_offset)
        self._cache = {}   # tuple(history) -> (particles, log-weights, slate)

    def slate(self, particles, logw):
        return self.slater.slate(View(self.filter.mean(particles, logw), *self.constants))

    def _posterior(self, history):
        hit = self._cache.get(tuple(history[:-1])) if len(history) > 1 else None
        if hit is not None:
            return self.filter.update(hit[0], hit[1], hit[2], history[-1], len(history) - 1)
        particles, logw = self.filter.start(history[0])
        for t in range(1, len(history)):
            shown = self.slate(particles, logw)
            particles, logw = self.filter.update(particles, logw, shown, history[t], t)
        return particles, logw

    def __call__(self, histories, states=None):
        cache, out = {}, []
        for history in histories:
            key = tuple(int(x) for x in history)
            if key not in cache:
                particles, logw = self._posterior(list(key))
                cache[key] = (particles, logw, self.slate(particles, logw))
            out.append(cache[key][2])
        self._cache = cache
        return np.array(out, dtype=np.int64)
