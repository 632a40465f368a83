"""irecgan-evaluate: offline P@k of a run directory's newest checkpoint on a split, or U's fit.

    irecgan-evaluate --run_dir=runs/pg_s1 --split=test
    irecgan-evaluate --run_dir=runs/pg_s1 --data=other.log
    irecgan-evaluate --run_dir=runs/irecgan_s1 --user_fit
    irecgan-evaluate --run_dir=runs/irecgan_s1 --model_value

`--data=LOG` evaluates on every session of another processed log (sessions of 2..40 steps, as
training reads them), encoded with the run's own vocabulary (RUN/data.json): the run's log is
not read, so a run directory copied elsewhere evaluates on any log.

`--user_fit` computes results.json["user_fit"] (irecgan.evaluation.user_fit: U's test P@1 and LL / step
beside the truth's) from the newest checkpoint and writes it to RUN/user_fit.json, for runs that
finished before results.json held it; it writes nothing else there. A run without a user model
(lstm, pg) gets one line and exit status 0, and nothing is written.

`--model_value` (issue 32) answers the newest checkpoint's agent's sampled lists with U and
with the run's simulator (irecgan.training.model_value: clicks, purchases and the share of
sessions cut at the length cap in each world, and U - truth) and writes RUN/model_value.json;
the same for a run without a user model as for --user_fit. Both worlds draw from the online
evaluation's seed: the same checkpoint gives the same bytes.
"""
import json
import os

from absl import flags

from irecgan import experiment
from irecgan.cli.common import guarded, run_cli
from irecgan.config import BASELINES, run_config
from irecgan.errors import UserError
from irecgan.rundir.runner import CONFIG, write_json
from irecgan.training.pretrain import agent_task, evaluate

USER_FIT = "user_fit.json"
MODEL_VALUE = "model_value.json"

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A run directory made by irecgan-train.")
flags.DEFINE_enum("split", "test", ["train", "valid", "test"], "Which split to evaluate.")
flags.DEFINE_string("data", None, "Evaluate on every session of this processed log (with the "
                    "run's vocabulary) instead of --split of the run's own log.")
flags.DEFINE_boolean("user_fit", False, "Compute U's fit on the test split (results.json's "
                     "user_fit) and write RUN_DIR/" + USER_FIT + " (--split is not used).")
flags.DEFINE_boolean("model_value", False, "Answer the agent's sampled lists with U and with "
                     "the run's simulator and write RUN_DIR/" + MODEL_VALUE + " (U's error "
                     "on the agent's own lists; --split is not used).")
flags.mark_flags_as_required(["run_dir"])


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s (all options are --flags)"
                        % " ".join(argv[1:]))
    if not os.path.isdir(FLAGS.run_dir):
        raise UserError("--run_dir must be an existing run directory, got %r" % FLAGS.run_dir)
    path = os.path.join(FLAGS.run_dir, CONFIG)
    if not os.path.exists(path):
        raise UserError("%s: no %s (not a run directory)" % (FLAGS.run_dir, CONFIG))
    config = run_config(FLAGS.run_dir)
    if FLAGS.user_fit and FLAGS.model_value:
        raise UserError("give one of --user_fit and --model_value")
    wanted = USER_FIT if FLAGS.user_fit else MODEL_VALUE if FLAGS.model_value else None
    if wanted and config.get("method") in BASELINES:
        print("%s: method %s has no user model; no %s written"
              % (FLAGS.run_dir, config.get("method"), wanted))
        return
    if FLAGS.data:
        if wanted:
            raise UserError("--data does not go with --user_fit or --model_value (they use the "
                            "run's own data)")
        print(json.dumps(experiment.evaluate_log(FLAGS.run_dir, config, FLAGS.data), indent=2,
                         sort_keys=True))
        return
    # read-only: the run may still be training (its newest checkpoint folder may be half
    # written, its metrics ahead of its checkpoint); evaluating must change nothing there
    data, models, runner, batch_maker = experiment.open_run(FLAGS.run_dir, config,
                                                            read_only=True)
    try:
        if not runner.resumed:
            raise UserError("%s has no complete checkpoint to evaluate" % FLAGS.run_dir)
        if FLAGS.user_fit:
            fit = experiment.evaluator(runner, models, data, config, batch_maker,
                                       log=runner.log).user_fit()
            if fit is None:
                raise UserError("%s: no test session to evaluate U on" % FLAGS.run_dir)
            out = os.path.join(FLAGS.run_dir, USER_FIT)
            write_json(out, fit)
            print(json.dumps(dict(fit, checkpoint=runner.state.get("where"), file=out),
                             indent=2, sort_keys=True))
            return
        if FLAGS.model_value:
            value = dict(experiment.model_value_of(runner, models, data, config),
                         checkpoint=runner.state.get("where"))
            out = os.path.join(FLAGS.run_dir, MODEL_VALUE)
            write_json(out, value)
            print(json.dumps(dict(value, file=out), indent=2, sort_keys=True))
            return
        sessions = getattr(data, FLAGS.split)
        metrics = evaluate(runner.session, agent_task(models, "mle"), sessions,
                           config["batch_size"], batch_maker)
        metrics["split"] = FLAGS.split
        metrics["checkpoint"] = runner.state.get("where")
        print(json.dumps(metrics, indent=2, sort_keys=True))
    finally:
        runner.close()


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
