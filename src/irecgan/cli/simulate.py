"""`irecgan-simulate`: write a simulated processed log (SPEC 2.1) and its simulator parameters.

    irecgan-simulate --env=mdp --policy=random|max|mix|belief --sessions=N --seed=S --out=FILE
        [--transition_temperature=T] [--states=S] [--items=N] [--list_size=K]
    irecgan-simulate --env=neural [--policy=logging|oracle|random] --sessions=N --seed=S
        --out=FILE [--sample_click] [--sample_list]
    irecgan-simulate --env=recsim --policy=random|quality --sessions=N --seed=S --out=FILE

`--env=recsim` (RecSim's interest-evolution user on a fixed corpus, `irecgan.sim.recsim_env`)
needs the optional extra: pip install -e ".[tf2,recsim]".

`belief` (MDP), `oracle` (neural) and `posterior` (RecSim) are the history-based ceilings: the
best a greedy policy does from the click history with the true parameters (sim/belief.py,
sim/neural.py, sim/recsim_posterior.py); the summary labels every reference policy history-based
or state-aware (SPEC 6).
`--params=FILE` reuses saved simulator parameters instead of drawing them from the seed (the MDP
generator's knobs then come from the file; a neural file's --sample_click/--sample_list switches
apply unless given on the command line); `--params_out` (default `OUT.params.npz`) receives the
parameters used. For the same flags the log,
the parameter file and the printed summary are byte-identical. The summary gives the log's
figures and the online figures (SPEC 7) of the reference policies on the same simulator.

Random streams, all derived from `--seed=S`: `RandomState([S, 1])` draws the parameters,
`[S, 2]` the sessions, `[S, 3]` the logging policy's own draws; the online figures use
`[S, 4]` for the simulator and `[S, 5]` for the reference policies' own draws.
Exit status 0 on success, 2 on a user error (one line on stderr).
"""
import os
import sys

import numpy as np
from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.data.logfile import write_sessions
from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import online, registry

FLAGS = flags.FLAGS
flags.DEFINE_string("env", "mdp", "Simulator: mdp (SPEC 8), neural (SPEC 8b) or recsim "
                    "(RecSim's interest-evolution user; needs the recsim extra).")
flags.DEFINE_string("policy", None, "Logging policy. mdp: random (default), max, mix, belief "
                    "(the history-based ceiling) or imitation (the click-imitation bound); "
                    "neural: logging (default, its logging LSTM), oracle (the ceiling), random "
                    "or oracle_train (greedy on 1 + 3 * purchase); recsim: random (default) or "
                    "quality.")
flags.DEFINE_integer("sessions", 10000, "Number of logged sessions (each with >= 2 steps).")
flags.DEFINE_integer("seed", 0, "Seed of every random stream.")
flags.DEFINE_string("out", None, "Output log file (required).")
flags.DEFINE_string("params", None, "Load the simulator parameters from this file instead of "
                    "drawing them from --seed.")
flags.DEFINE_string("params_out", None, "Where to save the parameters (default OUT.params.npz).")
flags.DEFINE_boolean("sample_click", False, "neural: draw the click from the softmax of the "
                     "user's scores instead of taking the argmax.")
flags.DEFINE_boolean("sample_list", False, "neural: draw the logging list from the policy's "
                     "softmax (without replacement) instead of taking its top items.")
flags.DEFINE_float("transition_temperature", None, "mdp: the transition logits are divided "
                   "by it (default 1.0, the authors' generator; 0.05: sharp transitions).")
flags.DEFINE_integer("states", None, "mdp: number of states (default %d)." % mdp_sim.N_STATES)
flags.DEFINE_integer("items", None, "mdp: number of items (default %d)." % mdp_sim.N_ITEMS)
flags.DEFINE_integer("list_size", None, "mdp: list length (default %d)." % mdp_sim.LIST_SIZE)
flags.DEFINE_integer("eval_sessions", 1000, "Sessions per reference policy for the online "
                     "figures of the summary (0: skip them).")

MDP_KNOBS = ("transition_temperature", "states", "items", "list_size")
SWITCHES = ("sample_click", "sample_list")
BATCH = 1000
PARAMS_SUFFIX = ".params.npz"
MAX_TRANSITIONS = 10 ** 8   # states x items x states float64s of the MDP (800 MB)


def _streams(seed):
    return [np.random.RandomState([seed, k]) for k in (1, 2, 3)]


def _check_flags():
    """(the simulator, its logging policy, the parameter file to write) of the flags."""
    simulator = registry.by_name(FLAGS.env)
    if simulator is None:
        raise UserError("--env must be one of %s, got %r" % (", ".join(registry.names()),
                                                             FLAGS.env))
    if FLAGS.sessions < 1:
        raise UserError("--sessions must be >= 1, got %d" % FLAGS.sessions)
    if FLAGS.seed < 0 or FLAGS.seed >= 2 ** 32:
        raise UserError("--seed must be in 0..2**32-1, got %d" % FLAGS.seed)
    if FLAGS.eval_sessions < 0:
        raise UserError("--eval_sessions must be >= 0, got %d" % FLAGS.eval_sessions)
    if not FLAGS.out:
        raise UserError("--out=FILE is required")
    policy = _policy(simulator.policies, simulator.default_logging)
    knobs = [name for name in MDP_KNOBS if getattr(FLAGS, name) is not None]
    if (FLAGS.sample_click or FLAGS.sample_list) and "sample_click" not in simulator.options:
        raise UserError("--sample_click/--sample_list apply to --env=%s only" % _owner(SWITCHES))
    if knobs and knobs[0] not in simulator.options:
        raise UserError("--%s applies to --env=%s only" % (knobs[0], _owner(MDP_KNOBS)))
    if knobs and FLAGS.params:
        raise UserError("--%s draws new parameters: not with --params" % knobs[0])
    if "items" in simulator.options:
        _check_knobs()
    if FLAGS.params is not None and not os.path.isfile(FLAGS.params):
        raise UserError("--params: parameter file %s does not exist" % FLAGS.params)
    params_out = FLAGS.params_out or FLAGS.out + PARAMS_SUFFIX
    for flag, path in (("--out", FLAGS.out), ("--params_out", params_out)):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UserError("directory %s (for %s) does not exist" % (folder, path))
        if os.path.isdir(path):
            raise UserError("%s must name a file, got the directory %s" % (flag, path))
    return simulator, policy, params_out


def _owner(options):
    """The names of the simulators that take the flags `options`, for error messages."""
    return "/".join(s.name for s in registry.simulators() if options[0] in s.options)


def _check_knobs():
    if FLAGS.transition_temperature is not None and not FLAGS.transition_temperature > 0:
        raise UserError("--transition_temperature must be > 0, got %r"
                        % FLAGS.transition_temperature)
    for name in ("states", "items", "list_size"):
        value = getattr(FLAGS, name)
        if value is not None and value < 1:
            raise UserError("--%s must be >= 1, got %d" % (name, value))
    items = FLAGS.items if FLAGS.items is not None else mdp_sim.N_ITEMS
    size = FLAGS.list_size if FLAGS.list_size is not None else mdp_sim.LIST_SIZE
    states = FLAGS.states if FLAGS.states is not None else mdp_sim.N_STATES
    if size > items:
        raise UserError("--list_size (%d) must not exceed --items (%d)" % (size, items))
    if states * items * states > MAX_TRANSITIONS:
        raise UserError("--states=%d and --items=%d give a transition table of %d entries, at "
                        "most %d are allowed" % (states, items, states * items * states,
                                                 MAX_TRANSITIONS))


def _fmt_eval(name, res, coverage):
    text = ("  %-8s reward/session %7.3f +- %7.3f  clicks/session %6.3f  length %6.3f  "
            "clicks/clicked session %6.3f" % (
                name, res["reward_mean"], res["reward_std"], res["clicks_mean"],
                res["length_mean"], res["clicks_mean_clicked"]))
    if coverage:
        text += "  coverage@1 %.3f  coverage@10 %.3f" % (res["coverage@1"], res["coverage@10"])
    if "watch_time_mean" in res:
        text += "  watch time/session %7.3f +- %7.3f min" % (res["watch_time_mean"],
                                                           res["watch_time_std"])
    return text


def simulate(simulator, policy_name, params_path, seed, n_sessions, eval_sessions, options):
    """Returns (sessions, stats, save_params, summary lines of the online figures) of the
    registered `simulator`; `options`: its flags (`Simulator.options`: name -> value or None)."""
    rng_params, rng_sessions, rng_policy = _streams(seed)
    world = simulator.world(params_path, rng_params, options)
    policy = world.policy(policy_name, rng_policy)
    sessions, stats = simulator.generate_log(world.env, policy, n_sessions, rng_sessions,
                                             batch_size=BATCH)
    lines = []
    if eval_sessions:
        lines.append("online figures per policy (%d sessions each, seed %d, at most %d steps%s):"
                     % (eval_sessions, seed, world.env.max_steps, simulator.summary_note))
        for name, pol in world.summary(seed):
            res = online.evaluate(world.env, pol, eval_sessions, seed=[seed, 4],
                                  batch_size=BATCH, max_steps=world.env.max_steps)
            lines.append(_fmt_eval(name, res, "coverage@1" in res)
                         + simulator.notes.get(name, ""))
    return sessions, stats, world.save, lines


def _option(name):
    """A flag's value when it was given, None when absent (then the simulator decides)."""
    if not FLAGS[name].present:
        return None
    value = getattr(FLAGS, name)
    return bool(value) if isinstance(value, bool) else value


def _policy(allowed, default):
    """--policy (or the environment's default), checked against the environment's policies."""
    policy = FLAGS.policy or default
    if policy not in allowed:
        raise UserError("--policy must be one of %s for --env=%s, got %r"
                        % (", ".join(allowed), FLAGS.env, policy))
    return policy


def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected argument %r (all options are --flags)" % argv[1])
    simulator, policy, params_out = _check_flags()
    sessions, stats, save, eval_lines = simulate(
        simulator, policy, FLAGS.params, FLAGS.seed, FLAGS.sessions, FLAGS.eval_sessions,
        dict((name, _option(name)) for name in simulator.options))
    try:
        lines = write_sessions(FLAGS.out, sessions)
    except (IOError, OSError) as err:
        raise UserError("cannot write %s: %s" % (FLAGS.out, err))
    save(params_out)

    n = len(sessions)
    purchases = sum(sum(s.purchases) for s in sessions)
    world = ["world:               " + simulator.describe(params_out)]
    out = [
        "env:                 %s (policy %s)" % (FLAGS.env, policy),
        "parameters:          %s (%s)" % (params_out, "loaded from %s" % FLAGS.params
                                          if FLAGS.params else "seed %d" % FLAGS.seed),
        "log:                 %s" % FLAGS.out,
    ] + world + [
        "sessions:            %d (of %d generated; %d with < 2 steps discarded; %d cut at the "
        "step limit)" % (n, stats["generated"], stats["discarded_short"], stats["truncated"]),
        "steps:               %d" % lines,
        "mean session length: %.3f steps" % (float(lines) / n),
        "mean reward/session: %.3f (%s)" % (stats["reward"] / n, simulator.reward),
    ]
    if simulator.purchases:
        out.append("purchase rate:       %.2f %% of click steps (start steps excluded)" % (
            100.0 * purchases / max(lines - n, 1)))
    sys.stdout.write("\n".join(out + eval_lines) + "\n")
    return 0


def run():
    run_cli(guarded(main), __name__)


if __name__ == "__main__":
    run()
