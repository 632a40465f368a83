"""One irecgan-train run from its parsed flags, shared by irecgan-train (cli/train.py: one run
per process) and cli/sweep.py (several runs in one process, each on a FlagValues of its own)."""
from absl import flags

from irecgan import experiment
from irecgan.cli import config_flags

RUN_DIR_HELP = "Run directory (config, metrics, checkpoints, results)."
PROGRESS_HELP = "Show progress bars."


def flag_values():
    """A new FlagValues holding irecgan-train's flags (every configuration key, --run_dir,
    --progress): the runs of one process never share parsed values."""
    values = flags.FlagValues()
    config_flags.define_flags(values)
    flags.DEFINE_string("run_dir", None, RUN_DIR_HELP, flag_values=values)
    flags.DEFINE_boolean("progress", True, PROGRESS_HELP, flag_values=values)
    flags.mark_flag_as_required("run_dir", flag_values=values)
    return values


def train(values):
    """Train the run of the parsed irecgan-train flags `values` to the end (experiment.run; it
    raises UserError and stopping.Stopped), then print its P@k and online figures."""
    results = experiment.run(values.run_dir, config_flags.config_from_flags(values),
                             show_progress=values.progress)
    for split, metrics in sorted(results["offline"].items()):
        print("%s: %s" % (split, ", ".join("%s %.2f" % (k, v) for k, v in sorted(metrics.items())
                                           if k.startswith("P@") and "batch" not in k)))
    if "online" in results:
        o = results["online"]
        print("online: reward %.3f +- %.3f over %d sessions%s" % (
            o["reward_mean"], o["reward_std"], o["n_sessions"],
            (", coverage@10 %.3f" % o["coverage@10"]) if "coverage@10" in o else ""))
