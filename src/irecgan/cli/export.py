"""irecgan-export: a run's trained agent as a TensorFlow SavedModel (see irecgan/export.py).

    irecgan-export --run_dir=runs/pg_s1 --out=exports/pg_s1
    irecgan-export --run_dir=runs/pg_s1 --out=exports/pg_s1_ckpt3 --checkpoint=3

Signatures "recommend" (history, length, k -> items, scores) and "score" (history, length,
candidates -> probs); raw item ids are strings. The run directory is only read.
"""
from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.export import export_agent

FLAGS = flags.FLAGS
flags.DEFINE_string("run_dir", None, "A run directory made by irecgan-train.")
flags.DEFINE_string("out", None, "The SavedModel directory to write (absent or empty).")
flags.DEFINE_integer("checkpoint", None, "Export checkpoint ckpt-N of the run (default: the "
                     "newest intact one).", lower_bound=0)
flags.mark_flags_as_required(["run_dir", "out"])


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s (all options are --flags)"
                        % " ".join(argv[1:]))
    out = export_agent(FLAGS.run_dir, FLAGS.out, checkpoint=FLAGS.checkpoint)
    print(out)


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
