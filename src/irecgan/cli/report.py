"""`irecgan-report`: aggregate run directories into tables (mean +- std over seeds) and plots.

    irecgan-report --out=DIR [--title=TEXT] [--policy_rows=FILE.json]
                   [--env_params=[NAME=]PARAMS.npz ...] [--policy_seeds=1,2,3,4,5]
                   [--policy_sessions=1000] [--published=sim|cikm|none]
                   [--logging_policy=NAME=POLICY,...] RUN_DIR_OR_GLOB...

Every positional argument is a run directory, a folder holding run directories at any depth,
or a glob pattern of either; every folder with a config.json below them is a run. A
`benchmark.json` of irecgan-benchmark given or found there adds its policy's row to its dataset
(the headroom column then places it as any row of that dataset). Writes
`DIR/table.md`, `DIR/table.csv` and per dataset `DIR/<dataset>_online_reward.png`,
`DIR/<dataset>_precision.png`, `DIR/<dataset>_coverage.png` (MDP), and prints the markdown.

`--env_params=NAME=PATH` (repeatable, or comma-separated) evaluates the simulator policies of a
parameter file (MDP: random, max, mix, belief, imitation; neural oracle: random lists, its
logging policy, oracle, oracle_train; RecSim: random, quality, oracle, posterior) online for each of `--policy_seeds` (`--policy_sessions` sessions each) and adds them as
rows of dataset NAME (without `NAME=`: the file name up to its first dot, e.g. `mdp_random` for
`mdp_random.log.params.npz`); for an MDP it also adds the Bayes-optimal offline P@k on the test
split of each finished run of NAME. The rows are also saved to `DIR/policy_rows.json`, which
`--policy_rows` reads back. `--logging_policy=NAME=POLICY` names the policy row of the policy
that wrote dataset NAME's log: the headroom column then measures each row between it (0 %) and
the history-based ceiling (`belief`, `oracle` or `posterior`, 100 %; every reference row is
labelled history-based or state-aware, `report.rows.label_rows`). Exit status 0, or 2 on a user error (one line on
stderr).
"""
import collections
import json
import os
import sys

import numpy as np
from absl import flags

from irecgan import report
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.report.policies import logging_policies

FLAGS = flags.FLAGS
flags.DEFINE_string("out", None, "Output folder (created if missing).")
flags.DEFINE_string("title", "irecgan results", "Title of table.md.")
flags.DEFINE_string("policy_rows", None, "JSON file of simulator-policy rows: a list of "
                    "{dataset, method, reward: [...], coverage@10: [...], coverage: [[...]]}.")
flags.DEFINE_multi_string("env_params", [], "NAME=PATH (or PATH) of a simulator parameter "
                          "file whose policies are evaluated online as extra rows of dataset "
                          "NAME; repeatable, or comma-separated.")
flags.DEFINE_list("policy_seeds", ["1", "2", "3", "4", "5"],
                  "Simulator seeds of the policy rows computed from --env_params.")
flags.DEFINE_integer("policy_sessions", 1000, "Sessions per seed for the policy rows.")
flags.DEFINE_list("logging_policy", [], "NAME=POLICY pairs: the policy row (random, max, mix, "
                  "logging, ...) of the policy that wrote dataset NAME's log, the 0 %% of its "
                  "headroom column.")
flags.DEFINE_list("published", ["none"], "Published figures to add as marked comparison rows: "
                  "sim, cikm, both as sim,cikm, or none.")

def _env_specs(values):
    specs = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            specs.append(report.env_spec(item))
    return specs


def _policy_seeds():
    try:
        seeds = [int(s) for s in FLAGS.policy_seeds]
    except ValueError:
        raise UserError("--policy_seeds must be integers, got %s" % ",".join(FLAGS.policy_seeds))
    if not seeds:
        raise UserError("--policy_seeds is empty")
    if any(s < 0 or s >= 2 ** 32 for s in seeds):
        raise UserError("--policy_seeds must lie in 0..%d, got %s"
                        % (2 ** 32 - 1, ",".join(FLAGS.policy_seeds)))
    return seeds


def _published():
    which = [p.strip() for p in FLAGS.published if p.strip()]
    if which in ([], ["none"]):
        return []
    for key in which:
        if key not in report.PUBLISHED:
            raise UserError("--published must be sim, cikm, sim,cikm or none, got %s"
                            % ",".join(FLAGS.published))
    return list(collections.OrderedDict.fromkeys(which))


def _check_paths(specs):
    """The flags naming files and folders, before anything is read or written."""
    if os.path.exists(FLAGS.out) and not os.path.isdir(FLAGS.out):
        raise UserError("--out must name a folder, got the file %s" % FLAGS.out)
    if FLAGS.policy_rows is not None and not os.path.isfile(FLAGS.policy_rows):
        raise UserError("--policy_rows: file %s does not exist" % FLAGS.policy_rows)
    for _, path in specs:
        if not os.path.isfile(path):
            raise UserError("--env_params: parameter file %s does not exist" % path)


def main(argv):
    if not FLAGS.out:
        raise UserError("--out=DIR is required")
    args = argv[1:]
    if not args:
        raise UserError("give at least one run directory (or a folder or glob of them)")
    published = _published()
    logging = logging_policies(FLAGS.logging_policy)
    specs = _env_specs(FLAGS.env_params)
    seeds = _policy_seeds()
    if FLAGS.policy_sessions < 1:
        raise UserError("--policy_sessions must be >= 1, got %d" % FLAGS.policy_sessions)
    _check_paths(specs)

    runs, entries = report.load_inputs(args)   # benchmark.json files give policy rows
    source = "--env_params" + (" / benchmark.json" if entries else "")
    if FLAGS.policy_rows:
        entries += report.read_policy_rows(FLAGS.policy_rows)
    computed = []
    for name, path in specs:
        env, policies = report.environment_policies(
            path, np.random.RandomState(report.POLICY_RNG_SEED))
        computed += report.policy_rows(env, policies, seeds, FLAGS.policy_sessions,
                                       dataset=name)
        computed += report.bayes_rows(path, runs, name)
    entries += computed

    text, written = report.write_report(FLAGS.out, runs, entries, title=FLAGS.title,
                                        published=published,
                                        policy_source=FLAGS.policy_rows or source,
                                        logging=logging)
    if computed:
        path = os.path.join(FLAGS.out, "policy_rows.json")
        try:
            with open(path, "w") as handle:
                json.dump(computed, handle, indent=2)
                handle.write("\n")
        except (IOError, OSError) as err:
            raise UserError("cannot write %s: %s" % (path, err))
        written.append(path)
    sys.stdout.write(text)
    sys.stdout.flush()
    sys.stderr.write("wrote %s\n" % ", ".join(written))
    return 0


def run():
    run_cli(guarded(main), __name__)


if __name__ == "__main__":
    run()
