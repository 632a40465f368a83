"""RecSim's interest-evolution users, a batch at a time, in numpy (`RecSimWorld`'s fast engine).

`sim.recsim_env.RecSimWorld` answers a slate by calling RecSim's objects once per user and per
repeat of the slate (`IEvUserModel.simulate_response`, `update_state`, `is_terminal`); at the
simulators' sizes those Python calls on 10-element arrays are nearly all of an online evaluation's
time (issue 33). `ArrayUsers.step` computes the same thing for all live users at once, with the
same IEEE operations in the same order and the same random draws, so the figures are equal to
the last bit, not only close (`tests/test_recsim_users.py` checks this against RecSim's objects):

* The choice (`MultinomialProportionalChoiceModel`): RecSim scores a document by
  `np.dot(interests, features)`; the corpus' features are one-hot (`one_hot_columns`), so the dot
  is exactly the interest of the document's cluster (the other products are zeros) and is read
  by a gather. Then `scores + [no_click_mass] - min_normalizer`, divided by their sum, cumulated,
  divided by the last cumulated value and searched for one uniform (`RandomState.choice`'s
  steps), here for a [rows, k + 1] array at once.
* A click (`update_state`): `watch = min(budget, length)`; the interest step
  `alpha = (-y / x) |u| + y`, `update = alpha * f * (f - u)`, `u +- update` by a uniform against
  `((u + 1) / 2) . f` (again a one-hot dot, read by a gather), clipped to [-1, 1]; the budget
  `b - watch + update_alpha * watch * (user_quality_factor * score + document_quality_factor
  * quality)`. No click: `b - step_penalty`. Over when `b <= 0`.
* The draws. RecSim draws from numpy's global generator, which `RecSimWorld` seeds before each
  step of a session with one draw `randint(0, 2**31 - 1)` of the session's stream: the choice
  takes one uniform (`random_sample()`), a click's coin one more (`rand(1)`), in the order the
  repeats happen. Here each live user takes the next seed of its stream (drawn ahead,
  `stream_seeds`), a private `RandomState` seeded with it gives the uniforms in one call, and
  the repeats read them in order (the global generator is not touched at all).
"""
import collections

import numpy as np

SEED_HIGH = 2 ** 31 - 1

# What the step reads of RecSim's user (the same for every user; `RecSimWorld` reads them off a
# RecSim user model): the choice model's `min_normalizer` and `no_click_mass`, the user state's
# `step_penalty`, `user_update_alpha`, `user_quality_factor`, `document_quality_factor`, and
# `IEvUserModel`'s interest-step line (`alpha_x_intercept`, `alpha_y_intercept`).
Settings = collections.namedtuple("Settings", [
    "min_normalizer", "no_click_mass", "step_penalty", "update_alpha", "user_quality_factor",
    "document_quality_factor", "alpha_x_intercept", "alpha_y_intercept"])


def one_hot_columns(features):
    """int [n]: the column of each row's 1.0 when every row of `features` [n, d] is one-hot
    (one 1.0, the rest 0.0), as RecSim's video sampler makes them; else None."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 1:
        return None
    ones, zeros = features == 1.0, features == 0.0
    if not ((ones | zeros).all() and (ones.sum(axis=1) == 1).all()):
        return None
    return np.argmax(ones, axis=1).astype(np.int64)


def sample_interests(seeds, n_features, scratch=None):
    """float [len(seeds), n_features]: row i holds the interests of RecSim's
    `IEvUserModel(seed=seeds[i])` after `reset()`: its `UtilityModelUserSampler`
    (`RandomState(seed)`) samples a user in the model's constructor and the kept one in
    `reset()`, `uniform(-1, 1, n_features)` each. `scratch`: a `RandomState` to reseed."""
    scratch = np.random.RandomState(0) if scratch is None else scratch
    out = np.zeros((len(seeds), int(n_features)))
    for i, seed in enumerate(seeds):
        scratch.seed(int(seed))
        scratch.uniform(-1.0, 1.0, int(n_features))
        out[i] = scratch.uniform(-1.0, 1.0, int(n_features))
    return out


def uniforms(seeds, count, scratch=None):
    """float [len(seeds), count]: row i is `RandomState(seeds[i]).random_sample(count)` (the
    draws of numpy's global generator after `np.random.seed(seeds[i])`)."""
    scratch = np.random.RandomState(0) if scratch is None else scratch
    out = np.empty((len(seeds), int(count)))
    for i, seed in enumerate(seeds):
        scratch.seed(int(seed))
        out[i] = scratch.random_sample(int(count))
    return out


def stream_seeds(seeds, count, scratch=None):
    """int64 [len(seeds), count]: row i is `RandomState(seeds[i]).randint(0, 2**31 - 1, count)`,
    the same numbers as `count` calls `randint(0, 2**31 - 1)` one after the other (each takes
    its own 32-bit draws; `tests/test_recsim_users.py` checks it): a stream's step seeds."""
    scratch = np.random.RandomState(0) if scratch is None else scratch
    out = np.empty((len(seeds), int(count)), dtype=np.int64)
    for i, seed in enumerate(seeds):
        scratch.seed(int(seed))
        out[i] = scratch.randint(0, SEED_HIGH, size=int(count))
    return out


class ArrayUsers(object):
    """A batch of RecSim users: interests float [n, d], budget float [n], done bool [n], and per
    user its stream: the stream's seed (int64 [n]), the step seeds drawn from it so far
    (`table`, int64 [n, m], as `stream_seeds`) and how many of them the steps used (`used`,
    int64 [n]). RecSim keeps a `RandomState` per stream instead; making one costs ~0.1 ms (it
    reads the OS entropy before being seeded), the table reseeds one scratch generator. `step`
    updates the users in place, as RecSim's objects are updated in place."""

    __slots__ = ("interests", "budget", "done", "seeds", "table", "used")
    TABLE = 40   # step seeds drawn per stream at first (a session's steps; doubled if needed)

    def __init__(self, interests, budget, done, seeds, table, used):
        self.interests = interests
        self.budget = budget
        self.done = done
        self.seeds = seeds
        self.table = table
        self.used = used

    @classmethod
    def start(cls, user_seeds, seeds, n_features, time_budget, scratch=None):
        """Users of `sample_interests(user_seeds)` with a full budget, and their streams."""
        n = len(user_seeds)
        return cls(sample_interests(user_seeds, n_features, scratch),
                   np.full(n, float(time_budget)), np.zeros(n, dtype=bool),
                   np.asarray(seeds, dtype=np.int64).reshape(n),
                   stream_seeds(seeds, cls.TABLE, scratch), np.zeros(n, dtype=np.int64))

    def __len__(self):
        return self.budget.shape[0]

    def take(self, index):
        index = np.asarray(index, dtype=np.int64)
        return ArrayUsers(self.interests[index], self.budget[index], self.done[index],
                          self.seeds[index], self.table[index], self.used[index])

    def next_seeds(self, rows, scratch=None):
        """int64 [len(rows)]: the next step seed of the streams of `rows`."""
        if rows.size and self.used[rows].max() >= self.table.shape[1]:
            self.table = stream_seeds(self.seeds, 2 * self.table.shape[1], scratch)
        out = self.table[rows, self.used[rows]]
        self.used[rows] += 1
        return out

    def step(self, slates, corpus, columns, settings, scratch=None):
        """Show row i the slate `slates[i]` (int [n, k], document ids) until a click or the end
        of its budget (rows already done are skipped). `corpus`: the world's `Corpus`;
        `columns`: `one_hot_columns(corpus.features)`. Returns (clicks int [n] (-1: none),
        watch float [n], idle int [n] (repeats without a click), purchases int [n])."""
        slates = np.asarray(slates, dtype=np.int64)
        n, k = slates.shape
        s = settings
        clicks = np.full(n, -1, dtype=np.int64)
        watch = np.zeros(n)
        idle = np.zeros(n, dtype=np.int64)
        purchases = np.zeros(n, dtype=np.int64)
        rows = np.flatnonzero(~self.done)
        if rows.size == 0:
            return clicks, watch, idle, purchases
        seeds = self.next_seeds(rows, scratch).tolist()
        # at most budget / step_penalty repeats without a click, then 2 draws for a click
        most = float(self.budget[rows].max()) / s.step_penalty if s.step_penalty > 0 else 0.0
        table = uniforms(seeds, max(int(np.ceil(max(most, 0.0))) + 3, 8), scratch)
        used = np.zeros(rows.size, dtype=np.int64)    # draws taken, per row of `table`
        act = np.arange(rows.size)                     # rows of `table` still repeating
        slope = -s.alpha_y_intercept / s.alpha_x_intercept
        while act.size:
            if used[act].max() + 2 > table.shape[1]:   # never at RecSim's settings; exact anyway
                table = uniforms(seeds, 2 * table.shape[1], scratch)
            j = rows[act]
            interests = self.interests[j]
            scores = np.take_along_axis(interests, columns[slates[j]], axis=1)   # = the dots
            weights = np.concatenate([scores, np.full((j.size, 1), s.no_click_mass)], axis=1)
            weights = weights - s.min_normalizer
            cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
            cdf = cdf / cdf[:, -1:]
            chosen = (cdf <= table[act, used[act]][:, None]).sum(axis=1)
            used[act] += 1
            hit = chosen < k
            h, j_h, pos = act[hit], j[hit], chosen[hit]
            if h.size:
                doc = slates[j_h, pos]
                budget = self.budget[j_h]
                seen = np.minimum(budget, corpus.video_length[doc])
                u, f = interests[hit], corpus.features[doc]
                update = (slope * np.absolute(u) + s.alpha_y_intercept) * f * (f - u)
                up = table[h, used[h]] < ((u + 1.0) / 2)[np.arange(h.size), columns[doc]]
                used[h] += 1
                self.interests[j_h] = np.clip(np.where(up[:, None], u + update, u - update),
                                              -1.0, 1.0)
                received = (s.user_quality_factor * weights[hit, pos]
                            + s.document_quality_factor * corpus.quality[doc])
                self.budget[j_h] = (budget - seen) + s.update_alpha * seen * received
                clicks[j_h], watch[j_h] = doc, seen
                purchases[j_h] = corpus.quality[doc] > 0
            miss = j[~hit]
            self.budget[miss] -= s.step_penalty
            idle[miss] += 1
            self.done[j] = self.budget[j] <= 0
            act = act[~hit][~self.done[miss]]
        return clicks, watch, idle, purchases
