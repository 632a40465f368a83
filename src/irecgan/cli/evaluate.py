"""irecgan-evaluate: offline P@k of a run directory's newest checkpoint on a split.

    irecgan-evaluate --run_dir=runs/pg_s1 --split=test
"""
import json
import os

from absl import flags

from irecgan import experiment
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.pretrain import agent_task, evaluate
from irecgan.runner import CONFIG, read_json

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A run directory made by irecgan-train.")
flags.DEFINE_enum("split", "test", ["train", "valid", "test"], "Which split to evaluate.")
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
    config = read_json(path)
    # read-only: the run may still be training (its newest checkpoint folder may be half
    # written, its metrics ahead of its checkpoint); evaluating must change nothing there
    data, models, runner, batch_maker = experiment.open_run(FLAGS.run_dir, config,
                                                            read_only=True)
    try:
        if not runner.resumed:
            raise UserError("%s has no complete checkpoint to evaluate" % FLAGS.run_dir)
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
