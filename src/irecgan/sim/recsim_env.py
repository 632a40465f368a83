"""RecSim's interest-evolution user as a third simulator (the optional `recsim` extra).

RecSim (google-research/recsim, PyPI `recsim` 0.2.4) is imported only when a world is built
(`sim.recsim_import.import_recsim`): importing this module needs numpy alone, so the core
package, `report` and the CLIs work without the extra, and `--env=recsim` without it is one
`UserError` naming the pip command.

The world (what `recsim.environments.interest_evolution.create_environment` builds, with a fixed
corpus)
------------------------------------------------------------------------------------------------
* Documents: `n_docs` (100) videos drawn ONCE by RecSim's `UtilityModelVideoSampler` (the
  factory's sampler) seeded from our `RandomState`: 20 topic clusters, features = the one-hot
  cluster, length 4 minutes, quality ~ N(mean of its cluster, 0.1) where the 14 "trashy"
  clusters have means -3..0 and the 6 "nutritious" ones 0..3. Document i has item id i
  (`0 .. n_docs - 1`), the same in every session: RecSim resamples the candidate set per episode
  unless told not to; here the corpus is fixed and saved in the parameter file.
* Users: RecSim's `IEvUserModel` with `MultinomialProportionalChoiceModel` and its own
  `UtilityModelUserSampler` (interests ~ U(-1, 1)^20, no-click mass 1, min normalizer -1, step
  penalty 0.5 minutes, budget update `alpha = 0.9 / 3.4`, document quality factor 1), unchanged
  but for ONE setting: the session's time budget is `time_budget` minutes (default 30) instead of
  RecSim's 200, so that sessions end by themselves within the 40 steps that the processed log
  allows (SPEC 2.1); with 200 minutes nearly every session runs into the step cap.
  The choice: the user picks document i of the slate with probability proportional to
  `interest[cluster_i] + 1`, or no document with weight 2. A click watches `min(budget, 4)`
  minutes, costs that much budget and gives back `alpha * watch_time * quality`; a slate without
  a click costs 0.5 minutes; a click also moves the user's interest in the clicked cluster
  (towards or away, at random). The session is over (`is_terminal`) when the budget is <= 0.
  Quality is the long-term lever: trashy clicks spend the budget faster.
* Randomness: every session draws, from the environment's `RandomState`, the seed of its RecSim
  user sampler and the seed of its own stream (a `RandomState`). RecSim draws the choice
  (`choose_item`) and the interest-update coin (`update_state`) from numpy's GLOBAL generator:
  before each step of a session the global generator is seeded with one draw
  (`randint(0, 2**31 - 1)`) of the session's stream, and after each `step` call the global
  generator is restored to what it was. So a session's outcome depends only on its seeds and the
  slates shown, and other code's use of the global generator is untouched.
* Engines (issue 33). `engine="recsim"` calls RecSim's objects, one user and one repeat of the
  slate at a time (the definition; `ObjectUsers`). `engine="numpy"` computes the same for all
  users of a batch at once (`sim.recsim_users.ArrayUsers`: the same operations, the same draws,
  from a private `RandomState` seeded as above instead of the global one): equal to the last bit
  and 10-15 times cheaper (`benchmarks/recsim_cost.py`). It needs one-hot document features
  (RecSim's video sampler makes them); the default (`engine=None`) is numpy when they are,
  else recsim.

Mapping onto the environment interface of `sim.online`
------------------------------------------------------
* Start (step 0, no list): the start item is drawn from RecSim's choice-model weights of the
  whole corpus for the new user (`interest[cluster] + 1`, no-click excluded), by one uniform of
  the environment's `RandomState`: the document the user arrives with. It is not a RecSim step:
  it spends no budget, changes no interest and earns no reward.
* A step shows a slate of `k` documents (item ids). RecSim's step (`SingleUserEnvironment.step`:
  `simulate_response`, `update_state`, `is_terminal`) is repeated with the SAME slate until the
  user clicks or the session is over: our log holds one click per line, and a policy of the click
  history (every learned agent, the ceiling) would show the same slate again after a slate
  without a click. A click: reward 1, watch time = RecSim's `watch_time`, purchase = 1 when the
  clicked document's quality is > 0 (a "nutritious" video). When the budget runs out without a
  click the session ends (click -1); when the click itself used up the budget the click is kept
  and the next step ends the session without a RecSim call.
* Online reward = clicks per session (as on the MDP); `step_figures` adds the watch time, which
  `online.evaluate` reports as `watch_time_mean` / `watch_time_std` (RecSim's own reward,
  `clicked_watchtime_reward`). Sessions hold at most `max_steps` = 40 steps counting the start.
* Log state field: the index of the step (1 for the first slate), as for the neural oracle.

The policies (random, quality, the oracle ceiling) are in `sim.recsim_policies`, the corpus and
the parameter file in `sim.recsim_corpus`, the import of RecSim in `sim.recsim_import`; their
names are importable from here too.
"""
import collections
import collections.abc
import contextlib

import numpy as np

from irecgan.errors import UserError
from irecgan.sim import online, paramfile
from irecgan.sim.recsim_corpus import KEYS, KIND, N_DOCS, Corpus, load_arrays, random_corpus
from irecgan.sim.recsim_import import INSTALL, available, import_recsim
from irecgan.sim.recsim_policies import (POLICIES, QUALITY_TEMPERATURE, OraclePolicy,
                                         QualityPolicy, logging_policy, reference_policies)
from irecgan.sim.recsim_users import ArrayUsers, Settings, one_hot_columns

__all__ = ["KEYS", "KIND", "N_DOCS", "Corpus", "load_arrays", "random_corpus", "INSTALL",
           "available", "import_recsim", "POLICIES", "QUALITY_TEMPERATURE", "OraclePolicy",
           "QualityPolicy", "logging_policy", "reference_policies", "LIST_SIZE", "MAX_STEPS",
           "TIME_BUDGET", "NO_CLICK_MASS", "ENGINES", "UserView", "RecSimState", "ObjectUsers",
           "RecSimWorld", "generate_log"]

LIST_SIZE = 10
MAX_STEPS = 40
TIME_BUDGET = 30.0
NO_CLICK_MASS = 1.0
ENGINES = ("numpy", "recsim")

# What a policy receives per session (`policy_states`): the user's true state (copies).
UserView = collections.namedtuple("UserView", [
    "interests", "time_budget", "weights_offset", "no_click_weight", "step_penalty",
    "update_alpha", "quality_factor"])


@contextlib.contextmanager
def _global_numpy_kept():
    """Restore numpy's global generator after the block (RecSim draws from it)."""
    saved = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(saved)


# ------------------------------------------------------------------------ the environment
class _Session(object):
    """One user: its RecSim user model and the stream of RecSim's global-numpy draws."""

    __slots__ = ("model", "stream", "done")

    def __init__(self, model, stream):
        self.model = model
        self.stream = stream
        self.done = False


class ObjectUsers(object):
    """The users of a batch as RecSim's objects (`engine="recsim"`): a `_Session` per user.
    The same interface as `recsim_users.ArrayUsers` (`take`, `step`, `views`)."""

    __slots__ = ("sessions",)

    def __init__(self, sessions):
        self.sessions = sessions

    def __len__(self):
        return len(self.sessions)

    def take(self, index):
        return ObjectUsers([self.sessions[i] for i in np.asarray(index).tolist()])

    def step(self, world, lists):
        """RecSim's steps for each row until a click or the end (`RecSimWorld.step`)."""
        n = lists.shape[0]
        clicks = np.full(n, -1, dtype=np.int64)
        watch = np.zeros(n)
        idle = np.zeros(n, dtype=np.int64)
        purchases = np.zeros(n, dtype=np.int64)
        with _global_numpy_kept():
            for j, (session, row) in enumerate(zip(self.sessions, lists.tolist())):
                if session.done:
                    continue
                docs = world.documents(row)
                np.random.seed(session.stream.randint(0, 2 ** 31 - 1))
                while True:
                    # = recsim.simulator.environment.SingleUserEnvironment.step on a fixed
                    # candidate set (the document sampler's update_state is a no-op here)
                    responses = session.model.simulate_response(docs)
                    session.model.update_state(docs, responses)
                    session.done = bool(session.model.is_terminal())
                    hit = [i for i, r in enumerate(responses) if r.clicked]
                    if hit:
                        clicks[j] = row[hit[0]]
                        watch[j] = float(responses[hit[0]].watch_time)
                        purchases[j] = int(docs[hit[0]].quality > 0)
                        break
                    idle[j] += 1
                    if session.done:
                        break
        return clicks, watch, idle, purchases

    def views(self):
        """A `UserView` per user, read off RecSim's user states."""
        out = []
        for session in self.sessions:
            u = RecSimWorld.user_state(session.model)
            cf = u.choice_features
            out.append(UserView(np.array(u.user_interests, dtype=np.float64),
                                float(u.time_budget), -float(cf["min_normalizer"]),
                                float(cf["no_click_mass"]) - float(cf["min_normalizer"]),
                                float(u.step_penalty), float(u.user_update_alpha),
                                float(u.document_quality_factor)))
        return out


class _ArrayViews(collections.abc.Sequence):
    """The `UserView`s of `ArrayUsers` as of now (the arrays copied; a `UserView` is made when
    read: most policies never read them)."""

    def __init__(self, users, settings):
        self.interests = np.array(users.interests, dtype=np.float64)
        self.budget = np.array(users.budget, dtype=np.float64)
        self.fixed = (-float(settings.min_normalizer),
                      float(settings.no_click_mass) - float(settings.min_normalizer),
                      float(settings.step_penalty), float(settings.update_alpha),
                      float(settings.document_quality_factor))

    def __len__(self):
        return self.budget.shape[0]

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[x] for x in range(*i.indices(len(self)))]
        return UserView(self.interests[i].copy(), float(self.budget[i]), *self.fixed)


# users: ObjectUsers or recsim_users.ArrayUsers; t: int [n], index of the next step; watch:
# float [n], watch time of the step just taken; idle: int [n], slates without a click in the
# step just taken.
RecSimState = collections.namedtuple("RecSimState", ["users", "t", "watch", "idle"])


class RecSimWorld(object):
    """RecSim's interest-evolution user on a fixed corpus (the environment of `sim.online`).

    Args:
      corpus: a `Corpus` (from `random_corpus` or `load`).
      list_size: slate size k (10; `step` accepts any k >= 1).
      max_steps: session cap counting the start step (40).
      time_budget: minutes of each session's budget (30; RecSim's sampler: 200).
      no_click_mass: RecSim's `no_click_mass` of the user model (1).
      engine: "numpy" (all users at once), "recsim" (RecSim's objects, user by user) or None
        (numpy when the corpus' features are one-hot, else recsim); the same figures.
    """

    def __init__(self, corpus, list_size=LIST_SIZE, max_steps=MAX_STEPS,
                 time_budget=TIME_BUDGET, no_click_mass=NO_CLICK_MASS, engine=None):
        self.recsim = import_recsim()
        ie = self.recsim["ie"]
        features = np.asarray(corpus.features, dtype=np.float64)
        n = features.shape[0] if features.ndim == 2 else 0
        if n < 1 or features.shape[1] != ie.IEvVideo.NUM_FEATURES:
            raise UserError("corpus features must have shape [n >= 1, %d], got %s"
                            % (ie.IEvVideo.NUM_FEATURES, features.shape))
        for name in ("cluster_id", "video_length", "quality"):
            if np.asarray(getattr(corpus, name)).shape != (n,):
                raise UserError("corpus %s must have shape [%d]" % (name, n))
        if not 1 <= int(list_size) <= n:
            raise UserError("list_size must be in 1..%d, got %r" % (n, list_size))
        if int(max_steps) < 1 or not float(time_budget) > 0:
            raise UserError("max_steps and time_budget must be positive")
        self.corpus = Corpus(features, np.asarray(corpus.cluster_id, dtype=np.int64),
                             np.asarray(corpus.video_length, dtype=np.float64),
                             np.asarray(corpus.quality, dtype=np.float64), int(corpus.seed))
        self.n_items = n
        self.list_size = int(list_size)
        self.max_steps = int(max_steps)
        self.time_budget = float(time_budget)
        self.no_click_mass = float(no_click_mass)
        self.docs = [ie.IEvVideo(i, self.corpus.features[i],
                                 cluster_id=int(self.corpus.cluster_id[i]),
                                 video_length=float(self.corpus.video_length[i]),
                                 quality=float(self.corpus.quality[i])) for i in range(n)]
        budget = self.time_budget

        class BudgetUserState(ie.IEvUserState):
            """RecSim's user state with the session budget set to `time_budget`."""

            def __init__(self, **features):
                features["time_budget"] = budget
                super(BudgetUserState, self).__init__(**features)

        self._user_ctor = BudgetUserState
        self.columns = one_hot_columns(self.corpus.features)
        if engine not in (None,) + ENGINES:
            raise UserError("engine must be one of %s, got %r" % (", ".join(ENGINES), engine))
        if engine == "numpy" and self.columns is None:
            raise UserError("engine numpy needs one-hot document features")
        self.engine = engine or ("recsim" if self.columns is None else "numpy")
        self.settings = self.user_settings()
        self._scratch = np.random.RandomState(0)   # the numpy engine's uniforms (reseeded)

    # ------------------------------------------------------------ construction and storage
    @classmethod
    def random(cls, rng, n_docs=N_DOCS, **kwargs):
        """A world whose corpus is drawn by `random_corpus(rng, n_docs)`."""
        return cls(random_corpus(rng, n_docs), **kwargs)

    def save(self, path):
        """The corpus and the user settings as a deterministic `.npz` (`sim.paramfile`)."""
        c = self.corpus
        paramfile.save_arrays(path, KIND, {
            "features": c.features, "cluster_id": c.cluster_id, "video_length": c.video_length,
            "quality": c.quality, "corpus_seed": np.int64(c.seed),
            "list_size": np.int64(self.list_size), "time_budget": np.float64(self.time_budget),
            "no_click_mass": np.float64(self.no_click_mass)})

    @classmethod
    def load(cls, path, max_steps=MAX_STEPS, engine=None):
        """A world from a file written by `save` (`UserError` when bad or RecSim is missing)."""
        a = load_arrays(path)
        return cls(Corpus(a["features"], a["cluster_id"], a["video_length"], a["quality"],
                          int(a["corpus_seed"])), list_size=int(a["list_size"]),
                   max_steps=max_steps, time_budget=float(a["time_budget"]),
                   no_click_mass=float(a["no_click_mass"]), engine=engine)

    # ------------------------------------------------------------ RecSim objects
    def user_model(self, seed):
        """A RecSim `IEvUserModel` as `create_environment` builds it (proportional choice
        model, user sampler seeded with `seed`), after `reset()` as `Environment.reset` does."""
        ie = self.recsim["ie"]
        model = ie.IEvUserModel(self.list_size,
                                choice_model_ctor=self.recsim["choice_model"]
                                .MultinomialProportionalChoiceModel,
                                response_model_ctor=ie.IEvResponse,
                                user_state_ctor=self._user_ctor,
                                no_click_mass=self.no_click_mass, seed=int(seed))
        model.reset()
        return model

    def user_settings(self):
        """The `recsim_users.Settings` of this world's users, read off one RecSim user model
        (the same for every user; its sampled interests are not used)."""
        model = self.user_model(0)
        u = self.user_state(model)
        cf = u.choice_features
        return Settings(cf["min_normalizer"], cf["no_click_mass"], u.step_penalty,
                        u.user_update_alpha, u.user_quality_factor, u.document_quality_factor,
                        model._alpha_x_intercept,  # pylint: disable=protected-access
                        model._alpha_y_intercept)  # pylint: disable=protected-access

    def documents(self, items):
        """RecSim document objects of the item ids `items`."""
        return [self.docs[i] for i in items]

    @staticmethod
    def user_state(model):
        """The RecSim user state of a user model (RecSim has no public accessor)."""
        return model._user_state  # pylint: disable=protected-access

    def choice_weights(self, model):
        """float [n_items]: the weights RecSim's proportional choice model gives every document
        for this user (`score_documents`: `interests . features - min_normalizer`), computed
        in one product (the test checks it against `score_documents`)."""
        state = self.user_state(model)
        return (self.corpus.features.dot(np.asarray(state.user_interests, dtype=np.float64))
                - float(state.choice_features["min_normalizer"]))

    # ------------------------------------------------------------ environment interface
    def start(self, n, rng):
        """Per session, from `rng`: a [n, 2] int draw (user-sampler seed, stream seed), then
        n uniforms for the start items (drawn from the choice weights of the whole corpus)."""
        seeds = rng.randint(0, 2 ** 31 - 1, size=(int(n), 2))
        u = rng.random_sample(int(n))
        weights = np.zeros((int(n), self.n_items))
        offset = float(self.settings.min_normalizer)
        if self.engine == "numpy":
            users = ArrayUsers.start(seeds[:, 0].tolist(), seeds[:, 1].tolist(),
                                     self.corpus.features.shape[1], self.time_budget,
                                     self._scratch)
            for i in range(int(n)):   # as `choice_weights`, row by row
                weights[i] = self.corpus.features.dot(users.interests[i]) - offset
        else:
            sessions = []
            for i, (user_seed, stream_seed) in enumerate(seeds.tolist()):
                model = self.user_model(user_seed)
                weights[i] = self.choice_weights(model)
                sessions.append(_Session(model, np.random.RandomState(stream_seed)))
            users = ObjectUsers(sessions)
        first = online.draw_rows(weights, u).astype(np.int64)
        return RecSimState(users, np.ones(int(n), dtype=np.int64), np.zeros(int(n)),
                           np.zeros(int(n), dtype=np.int64)), first

    def step(self, states, lists, rng=None):
        """Show each row its slate until a click or the end (see the module docstring). The
        randomness is the sessions' own streams; `rng` is not drawn from."""
        lists = np.asarray(lists, dtype=np.int64)
        if self.engine == "numpy":
            clicks, watch, idle, purchases = states.users.step(
                lists, self.corpus, self.columns, self.settings, self._scratch)
        else:
            clicks, watch, idle, purchases = states.users.step(self, lists)
        rewards = (clicks >= 0).astype(np.float64)
        return clicks, rewards, purchases, RecSimState(states.users, states.t + 1, watch, idle)

    def take(self, states, index):
        index = np.asarray(index, dtype=np.int64)
        return RecSimState(states.users.take(index), states.t[index], states.watch[index],
                           states.idle[index])

    def policy_states(self, states):
        """A `UserView` per session: the true interests and the budget rule's settings."""
        if self.engine == "numpy":
            return _ArrayViews(states.users, self.settings)
        return states.users.views()

    def log_states(self, states):
        """The index of the step about to be taken (1 for the first slate)."""
        return [str(t) for t in states.t.tolist()]

    def step_figures(self, states):
        """Per-row figures of the step that produced `states`: the watch time (minutes)."""
        return collections.OrderedDict([("watch_time", np.asarray(states.watch))])



def generate_log(world, policy, n_sessions, rng, max_steps=MAX_STEPS, batch_size=1000,
                 first_id=1):
    """`n_sessions` logged sessions (2..max_steps steps each): `(sessions, stats)` as
    `online.collect_sessions`; the sessions' seeds and start items from `rng`."""
    return online.collect_sessions(world, policy, n_sessions, rng, max_steps=max_steps,
                                   min_steps=2, batch_size=batch_size, first_id=first_id)
