"""irecgan-train: train one method on a processed log into a run directory.

    irecgan-train --method=pg --data=runs/sim/random.log --n_items=50 --run_dir=runs/pg_s1 --seed=1
    irecgan-train --flagfile=configs/cpu.cfg --method=lstm --data=... --run_dir=...

Restarting the same command resumes from the run directory's newest complete checkpoint.
"""
from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.cli import config_flags, train_run
from irecgan.errors import UserError

FLAGS = flags.FLAGS

for _define, _args, _kwargs in config_flags.definitions():   # one per key of config.TABLE
    _define(*_args, **_kwargs)
flags.DEFINE_string("run_dir", None, train_run.RUN_DIR_HELP)
flags.DEFINE_boolean("progress", True, train_run.PROGRESS_HELP)

flags.mark_flag_as_required("run_dir")


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s" % " ".join(argv[1:]))
    train_run.train(FLAGS)


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
