"""irecgan-train: train one method on a processed log into a run directory.

    irecgan-train --method=pg --data=runs/sim/random.log --n_items=50 --run_dir=runs/pg_s1 --seed=1
    irecgan-train --flagfile=configs/cpu.cfg --method=lstm --data=... --run_dir=...

Restarting the same command resumes from the run directory's newest complete checkpoint.
"""
from absl import flags

from irecgan import experiment
from irecgan.cli.common import guarded, run_cli
from irecgan.cli import config_flags
from irecgan.errors import UserError

FLAGS = flags.FLAGS

for _define, _args, _kwargs in config_flags.definitions():   # one per key of config.TABLE
    _define(*_args, **_kwargs)
flags.DEFINE_string("run_dir", None, "Run directory (config, metrics, checkpoints, results).")
flags.DEFINE_boolean("progress", True, "Show progress bars.")

flags.mark_flag_as_required("run_dir")


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s" % " ".join(argv[1:]))
    results = experiment.run(FLAGS.run_dir, config_flags.config_from_flags(FLAGS),
                             show_progress=FLAGS.progress)
    for split, metrics in sorted(results["offline"].items()):
        print("%s: %s" % (split, ", ".join("%s %.2f" % (k, v) for k, v in sorted(metrics.items())
                                           if k.startswith("P@") and "batch" not in k)))
    if "online" in results:
        o = results["online"]
        print("online: reward %.3f +- %.3f over %d sessions%s" % (
            o["reward_mean"], o["reward_std"], o["n_sessions"],
            (", coverage@10 %.3f" % o["coverage@10"]) if "coverage@10" in o else ""))


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
