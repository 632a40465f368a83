"""The package's simulators as registry entries (`sim.simulator.Simulator`): the MDP (SPEC 8),
the neural oracle (SPEC 8b) and RecSim's interest-evolution user (`sim.recsim_env`, imported
lazily: a RecSim file is read without RecSim until an environment is built)."""
import collections

import numpy as np

from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from irecgan.sim import recsim_env
from irecgan.sim.recsim_policies import KNOWS as RECSIM_KNOWS
from irecgan.sim.simulator import KNOWS_HISTORY, Simulator, World, label_notes


def _seeded(seed):
    """A fresh `RandomState([seed, 5])`: the reference policies' own draws in the summary."""
    return np.random.RandomState([seed, 5])


class _Builtin(Simulator):
    """A simulator of the package: its module (`module`) writes its logs."""
    module = None

    def generate_log(self, env, policy, n_sessions, rng, batch_size):
        return self.module.generate_log(env, policy, n_sessions, rng, batch_size=batch_size)


class MdpSimulator(_Builtin):
    """The MDP of SPEC 8 (`sim.mdp`)."""
    module = mdp_sim
    name = "mdp"
    kind = mdp_sim.KIND
    policies = mdp_sim.POLICIES
    default_logging = "random"
    ceiling = "belief"
    bounds = ("imitation",)
    knows = dict(mdp_sim.KNOWS, **{"bayes (offline)": KNOWS_HISTORY})
    notes = label_notes(mdp_sim.KNOWS, "belief")
    truth = "bayes"
    options = ("transition_temperature", "states", "items", "list_size")
    purchases = False
    KNOBS = (("states", "n_states"), ("items", "n_items"), ("list_size", "list_size"),
             ("transition_temperature", "transition_temperature"))

    def load(self, path):
        return mdp_sim.MDP.load(path)

    def reference_policies(self, path, rng):
        env = self.load(path)
        policies = collections.OrderedDict()
        for name in mdp_sim.POLICIES:
            policies[name] = mdp_sim.logging_policy(env, name, rng)
        return env, policies

    def world(self, params_path, rng, options):
        if params_path:
            env = self.load(params_path)
        else:
            knobs = dict((key, options[flag]) for flag, key in self.KNOBS
                         if options.get(flag) is not None)
            env = mdp_sim.MDP.random(rng, **knobs)

        def summary(seed):
            return [(name, mdp_sim.logging_policy(env, name, _seeded(seed)))
                    for name in mdp_sim.POLICIES]
        return World(env, lambda name, r: mdp_sim.logging_policy(env, name, r), summary,
                     env.save)

    def describe(self, path):
        mdp = self.load(path)
        return ("%d states, %d items, lists of %d, transition temperature %g"
                % (mdp.n_states, mdp.n_items, mdp.list_size, mdp.transition_temperature))


class NeuralSimulator(_Builtin):
    """The neural oracle of SPEC 8b (`sim.neural`): its user samples its clicks, and its
    logging policy its lists, when the parameter file says the log was written so."""
    module = neural_sim
    name = "neural"
    kind = neural_sim.KIND
    policies = neural_sim.POLICIES
    default_logging = "logging"
    ceiling = "oracle"   # of the reported reward, purchases; oracle_train: of the agents' reward
    bounds = ("oracle_train",)
    knows = neural_sim.KNOWS
    notes = label_notes(neural_sim.KNOWS, "oracle")
    truth = "oracle"
    options = ("sample_click", "sample_list")
    reward = "purchases"
    REFERENCES = ("random", "logging", "oracle", "oracle_train")   # the report's order

    def load(self, path):
        user_params, _ = neural_sim.load_params(path)
        switches = neural_sim.load_switches(path)
        return neural_sim.NeuralUser(user_params, sample_click=switches["sample_click"])

    def item_count(self, path):
        return neural_sim.NeuralUser(neural_sim.load_params(path)[0]).n_items

    def reference_policies(self, path, rng):
        _, policy_params = neural_sim.load_params(path)
        switches = neural_sim.load_switches(path)
        env = self.load(path)
        policies = collections.OrderedDict()
        for name in self.REFERENCES:
            policies[name] = neural_sim.policy(env, policy_params, name, rng,
                                               sample_list=switches["sample_list"])
        return env, policies

    def world(self, params_path, rng, options):
        """`options` "sample_click" / "sample_list": True, False or None (a loaded file's
        switches, else False)."""
        if params_path:
            user_params, policy_params = neural_sim.load_params(params_path)
            saved = neural_sim.load_switches(params_path)
        else:
            user_params, policy_params = neural_sim.random_params(rng)
            saved = {"sample_click": False, "sample_list": False}
        switch = dict((key, saved[key] if options.get(key) is None else bool(options[key]))
                      for key in ("sample_click", "sample_list"))
        env = neural_sim.NeuralUser(user_params, sample_click=switch["sample_click"])

        def policy(name, r):
            return neural_sim.policy(env, policy_params, name, r, switch["sample_list"])

        def summary(seed):
            return [(name, policy(name, _seeded(seed))) for name in neural_sim.POLICIES]

        def save(path):
            neural_sim.save_params(path, user_params, policy_params, **switch)
        return World(env, policy, summary, save)

    def describe(self, path):
        sw = neural_sim.load_switches(path)
        return "%s clicks, %s logging lists" % ("sampled" if sw["sample_click"] else "argmax",
                                                "sampled" if sw["sample_list"] else "top")


class RecSimSimulator(_Builtin):
    """RecSim's interest-evolution user on a fixed corpus (`sim.recsim_env`)."""
    module = recsim_env
    name = "recsim"
    kind = recsim_env.KIND
    policies = recsim_env.POLICIES
    default_logging = "random"
    ceiling = "posterior"
    state_ceiling = "oracle"
    knows = RECSIM_KNOWS
    notes = label_notes(RECSIM_KNOWS, "posterior", "oracle")
    truth = "empirical"
    summary_note = "; reward = clicks"

    def load(self, path):
        return recsim_env.RecSimWorld.load(path)

    def item_count(self, path):
        return int(np.asarray(recsim_env.load_arrays(path)["features"]).shape[0])

    def reference_policies(self, path, rng):
        env = self.load(path)
        return env, recsim_env.reference_policies(env, rng)

    def world(self, params_path, rng, options):
        env = self.load(params_path) if params_path else recsim_env.RecSimWorld.random(rng)

        def summary(seed):
            return list(recsim_env.reference_policies(env, _seeded(seed)).items())
        return World(env, lambda name, r: recsim_env.logging_policy(env, name, r), summary,
                     env.save)

    def describe(self, path):
        world = self.load(path)
        return ("%d videos, slates of %d, time budget %g minutes"
                % (world.n_items, world.list_size, world.time_budget))


SIMULATORS = (MdpSimulator(), NeuralSimulator(), RecSimSimulator())
