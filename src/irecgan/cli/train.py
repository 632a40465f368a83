"""irecgan-train: train one method on a processed log into a run directory.

    irecgan-train --method=pg --data=runs/sim/random.log --n_items=50 --run_dir=runs/pg_s1 --seed=1
    irecgan-train --flagfile=configs/cpu.cfg --method=lstm --data=... --run_dir=...

Restarting the same command resumes from the run directory's newest complete checkpoint.
"""
from absl import flags

from irecgan import config, experiment
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError

FLAGS = flags.FLAGS

_DEFINE = {"integer": flags.DEFINE_integer, "float": flags.DEFINE_float,
           "boolean": flags.DEFINE_boolean, "string": flags.DEFINE_string}


def define_flag(key):
    """The flag of a configuration key (config.Key): its kind from the key's rule (an enum of a
    choice's options, a comma-separated list of split_ratios), the key's default and help; a
    required key (config.Str(required=True)) has no default and must be given."""
    rule = key.rule
    if rule.flag == "enum":
        flags.DEFINE_enum(key.name, key.default, list(rule.options), key.help)
    elif rule.flag == "list":
        flags.DEFINE_list(key.name, [str(x) for x in key.default], key.help)
    elif getattr(rule, "required", False):
        _DEFINE[rule.flag](key.name, None, key.help)
        flags.mark_flag_as_required(key.name)
    else:
        _DEFINE[rule.flag](key.name, key.default, key.help)


for _key in config.TABLE:
    define_flag(_key)
flags.DEFINE_string("run_dir", None, "Run directory (config, metrics, checkpoints, results).")
flags.DEFINE_boolean("progress", True, "Show progress bars.")

flags.mark_flag_as_required("run_dir")


def config_from_flags():
    """The configuration of the parsed flags, resolved (config.resolve)."""
    overrides = dict((key, FLAGS[key].value) for key in config.DEFAULTS)
    try:
        overrides["split_ratios"] = [float(x) for x in FLAGS.split_ratios]
    except ValueError:
        raise UserError("--split_ratios must be numbers, got %s" % FLAGS.split_ratios)
    return config.resolve(overrides)


@guarded
def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s" % " ".join(argv[1:]))
    results = experiment.run(FLAGS.run_dir, config_from_flags(), show_progress=FLAGS.progress)
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
