"""`irecgan-benchmark`: score your own policy on a simulator benchmark, as our runs are scored.

    irecgan-benchmark --policy=MODULE:CALLABLE --env_params=[NAME=]PARAMS.npz [--k=10]
                      [--online_sessions=1000] [--online_seed=0] [--out=DIR] [--name=NAME]
                      [--logging_policy=POLICY] [--policy_seeds=1,2,3,4,5]
                      [--policy_sessions=1000]
    irecgan-benchmark --policy=savedmodel:DIR --env_params=...   (an agent exported by
                      irecgan-export)

`--policy=MODULE:CALLABLE` names a callable `policy(clicks, purchases, k, rng)` (the protocol:
`irecgan.evaluation.scoring`'s docstring and docs/API.md; the current directory is importable). It is
evaluated online against the simulator of `--env_params` exactly as a run's final evaluation
evaluates its agent (same seed, sessions, batches and figures), and set beside the simulator's
reference policies (`--policy_seeds` x `--policy_sessions`, as irecgan-report computes its
policy rows) with the headroom captured between `--logging_policy` (default: irecgan-simulate's
default logging policy of that simulator: MDP random, neural logging, RecSim random) and the
ceiling. Prints the table and writes `DIR/benchmark.json` (with `--out`), which irecgan-report
accepts among its inputs and shows as a row of dataset NAME (without `NAME=`: the parameter
file's name up to its first dot). The policy is called once on a probe batch of 4 sessions
before anything else, so a policy that does not follow the protocol (another signature, an error
inside, a wrong return value) fails in seconds. Exit status 0, or 2 on a user error, a protocol
violation or an exception raised by the policy (one line on stderr; `--debug`: the traceback).
"""
import sys

from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.evaluation import scoring as benchmark
from irecgan.report import env_spec

FLAGS = flags.FLAGS
flags.DEFINE_string("policy", None, "MODULE:CALLABLE (a protocol policy) or savedmodel:DIR.")
flags.DEFINE_string("env_params", None, "[NAME=]PATH of the simulator parameter file "
                    "(irecgan-simulate's .params.npz); NAME: the dataset of the row.")
flags.DEFINE_integer("k", 10, "Items per recommended list (the runs' --k default).")
flags.DEFINE_integer("online_sessions", 1000, "Sessions of the online evaluation (the runs' "
                     "--online_sessions default).")
flags.DEFINE_integer("online_seed", 0, "The simulator's RandomState seed, and the seed of the "
                     "policy's rng (the runs' --online_seed default).")
flags.DEFINE_string("out", None, "Folder for benchmark.json (created if missing).")
flags.DEFINE_string("name", None, "The row's method name (default: the CALLABLE, or "
                    "savedmodel:<folder name>).")
flags.DEFINE_string("logging_policy", None, "The reference policy that wrote the log (the 0 %% "
                    "of the headroom column).")
flags.DEFINE_list("policy_seeds", [str(s) for s in benchmark.POLICY_SEEDS],
                  "Simulator seeds of the reference policies' rows (irecgan-report's default).")
flags.DEFINE_integer("policy_sessions", benchmark.POLICY_SESSIONS,
                     "Sessions per seed of the reference policies' rows.")
flags.DEFINE_boolean("debug", False, "An exception raised by the policy propagates with its "
                     "traceback (default: one line naming the policy, the step and the "
                     "protocol, exit status 2).")


def _seeds():
    try:
        seeds = [int(s) for s in FLAGS.policy_seeds]
    except ValueError:
        raise UserError("--policy_seeds must be integers, got %s" % ",".join(FLAGS.policy_seeds))
    if not seeds or any(s < 0 or s >= 2 ** 32 for s in seeds):
        raise UserError("--policy_seeds must be one or more integers in 0..%d, got %s"
                        % (2 ** 32 - 1, ",".join(FLAGS.policy_seeds) or "none"))
    return seeds


def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s (all options are --flags)" % " ".join(argv[1:]))
    if not FLAGS.policy:
        raise UserError("--policy=MODULE:CALLABLE or --policy=savedmodel:DIR is required")
    if not FLAGS.env_params:
        raise UserError("--env_params=[NAME=]PATH is required")
    if FLAGS.online_sessions < 1 or FLAGS.policy_sessions < 1:
        raise UserError("--online_sessions and --policy_sessions must be >= 1")
    if not 0 <= FLAGS.online_seed < 2 ** 32:
        raise UserError("--online_seed must lie in 0..%d, got %d" % (2 ** 32 - 1,
                                                                    FLAGS.online_seed))
    if FLAGS.name is not None and not FLAGS.name.strip():
        raise UserError("--name must not be empty")
    seeds = _seeds()
    dataset, path = env_spec(FLAGS.env_params)
    policy = benchmark.load_policy(FLAGS.policy)
    try:
        result = benchmark.benchmark(
            policy, path, k=FLAGS.k, online_sessions=FLAGS.online_sessions,
            online_seed=FLAGS.online_seed, name=FLAGS.name or benchmark.policy_name(FLAGS.policy),
            dataset=dataset, logging_policy=FLAGS.logging_policy, policy_seeds=seeds,
            policy_sessions=FLAGS.policy_sessions, spec=FLAGS.policy, debug=FLAGS.debug)
    finally:
        if isinstance(policy, benchmark.SavedModelPolicy):
            policy.close()
    sys.stdout.write(benchmark.table_text(result))
    sys.stdout.flush()
    if FLAGS.out:
        sys.stderr.write("wrote %s\n" % benchmark.write_result(FLAGS.out, result))
    return 0


def run():
    run_cli(guarded(main), __name__)


if __name__ == "__main__":
    run()
