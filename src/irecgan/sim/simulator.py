"""The interface of one simulator, as the registry (`sim.registry`) holds it.

A simulator is a subclass of `Simulator` whose instance is `register`ed: its parameter files
carry its `kind` tag (`sim.paramfile`), and every part of the package that depends on which
simulator a file holds (the environment of a run's evaluation, U's fit, the report's reference
rows, irecgan-benchmark's headroom, irecgan-simulate) asks the registry instead of testing the
tag itself. Numpy only: nothing here imports TensorFlow, and a simulator with an optional
dependency (RecSim) imports it only when an environment is built.
"""
import collections

# What irecgan-simulate works with (see `Simulator.world`):
#   env: the environment (`sim.online`'s interface);
#   policy(name, rng): the logging policy `name` (one of `Simulator.policies`), its draws from rng;
#   summary(seed): [(name, policy)] the reference policies of the printed summary, in its order;
#   save(path): writes the parameter file of `env` (and of its policies, when it has some).
World = collections.namedtuple("World", ["env", "policy", "summary", "save"])

TRUTHS = ("bayes", "oracle", "empirical")
KNOWS_HISTORY = "history-based"
KNOWS_STATE = "state-aware"


def label_notes(knows, ceiling, state_ceiling=None):
    """name -> the summary note of each labelled policy: what it knows, and which is the
    history-based ceiling (irecgan-simulate's summary lines)."""
    notes = {}
    for name, label in knows.items():
        role = (", the ceiling" if name == ceiling else
                ", the state-aware reference" if name == state_ceiling else "")
        notes[name] = "  (%s%s)" % (label, role)
    return notes


class Simulator(object):
    """One simulator. Subclasses set the class attributes and implement the methods.

    Attributes:
      name: its `--env` value in irecgan-simulate (e.g. "mdp").
      kind: the `kind` tag of its parameter files (e.g. "irecgan.sim.mdp").
      policies: the logging policies irecgan-simulate offers (names).
      default_logging: the logging policy of irecgan-simulate without --policy, and so the
        logging policy that irecgan-benchmark measures headroom from by default.
      ceiling: the name of the reference policy that is the history-based ceiling, the 100 % of
        the headroom column (None: there is none).
      state_ceiling: the name of a state-aware reference policy that the headroom falls back to,
        saying so, when a table has no row of `ceiling` (None: no fallback).
      bounds: reference policies every table shows beside the ceiling, as labelled bounds of
        what a kind of agent can reach (MDP: `imitation`, the click-imitation bound; neural:
        `oracle_train`, the oracle of the agents' training reward).
      knows: reference-policy name -> what it knows (SPEC 6): KNOWS_HISTORY ("history-based":
        what a recommender sees, clicks, shown lists, purchases, plus the simulator's
        parameters) or KNOWS_STATE ("state-aware": it reads the user's hidden state).
      truth: what U's fit compares with: "bayes" (the environment is an MDP whose posterior
        `sim.belief` computes; the report also adds its Bayes-optimal offline row), "oracle"
        (the environment is a user whose click probabilities are known), "empirical" (the
        training log's click rates; nothing is loaded) or None (no truth).
      options: the irecgan-simulate flags (names) it takes, passed to `world`.
      reward: what its reward counts, for irecgan-simulate's summary ("clicks").
      purchases: True when its logs carry purchases (the summary then gives their rate).
      summary_note: appended to the summary's heading of the online figures.
      notes: reference-policy name -> note appended to its summary line (`label_notes`
        makes them from `knows`).
    """
    name = None
    kind = None
    policies = ()
    default_logging = None
    ceiling = None
    state_ceiling = None
    bounds = ()
    knows = {}
    truth = "empirical"
    options = ()
    reward = "clicks"
    purchases = True
    summary_note = ""
    notes = {}

    def load(self, path):
        """The environment of the parameter file `path` (as a run is evaluated on)."""
        raise NotImplementedError

    def item_count(self, path):
        """The number of items (raw ids 0..n-1) of the parameter file `path`."""
        return self.load(path).n_items

    def reference_policies(self, path, rng):
        """`(env, OrderedDict name -> policy)`: the environment of `path` and the reference
        policies of the report's policy rows (their own draws from `rng`)."""
        raise NotImplementedError

    def world(self, params_path, rng, options):
        """A `World` for irecgan-simulate: loaded from `params_path`, or (None) drawn from
        `rng`; `options`: flag name -> value (None: not given) of the names in `options`."""
        raise NotImplementedError

    def generate_log(self, env, policy, n_sessions, rng, batch_size):
        """`(sessions, stats)` of `n_sessions` logged sessions (`online.collect_sessions`)."""
        raise NotImplementedError

    def describe(self, path):
        """One line describing the simulator of the parameter file `path` (after "world:")."""
        raise NotImplementedError
