"""The budget-curve report of scripts/budget_curves.sh (issue 32): per simulator log, the
online reward against the adversarial epoch per variant (agent lr x offline_ratio) and method,
a mean with a confidence interval over seeds, and the budget the rule of
irecgan.report.budget picks from irecgan_true's curves alone.

    python -m irecgan.cli.budget --out=DIR [--policy_rows=FILE.json]
        [--logging_policy=NAME=POLICY,...] [--confidence=0.95] [--title=TEXT]
        [--finished_only] RUNS_DIR_OR_GLOB...

Writes DIR/budget.md (per log: the budget per variant, the two window means and the interval
behind it, or "still rising at MAX"), DIR/budget.csv (log, variant, method, epoch, mean,
ci_low, ci_high, n) and DIR/<log>_budget.png. `--policy_rows`: irecgan-report's
policy_rows.json (run_sim.sh's report writes it), for the ceiling and logging-policy lines.
A run in progress adds the epochs it has written (the budget study's curves grow as it runs);
`--finished_only` draws only finished runs (results.json), so that the curves are those of the
runs a table of finished runs reads (scripts/decomposition.sh and objectives_study.sh).
Exit status 0, or 2 on a user error (one line on stderr).
"""
import sys

from absl import flags

from irecgan import report
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.report import budget
from irecgan.report.policies import logging_policies

FLAGS = flags.FLAGS
flags.DEFINE_string("out", None, "Output folder (created if missing).")
flags.DEFINE_string("title", "Budget curves", "Title of budget.md.")
flags.DEFINE_string("policy_rows", None, "JSON file of simulator-policy rows (irecgan-report's "
                    "policy_rows.json): the ceiling and logging-policy lines.")
flags.DEFINE_list("logging_policy", [], "NAME=POLICY pairs: the policy row of the policy that "
                  "wrote log NAME.")
flags.DEFINE_float("confidence", budget.CONFIDENCE, "Confidence level of the intervals.")
flags.DEFINE_bool("finished_only", False, "Draw only finished runs (with results.json); by "
                  "default a run in progress adds the epochs it has written.")


@guarded
def main(argv):
    args = argv[1:]
    if not args:
        raise UserError("give at least one run directory (or a folder or glob of them)")
    if not FLAGS.out:
        raise UserError("--out=DIR is required")
    if not 0.0 < FLAGS.confidence < 1.0:
        raise UserError("--confidence must lie strictly between 0 and 1, got %g"
                        % FLAGS.confidence)
    logging = logging_policies(FLAGS.logging_policy)
    entries = report.read_policy_rows(FLAGS.policy_rows) if FLAGS.policy_rows else []
    runs = report.load_runs(args)
    if FLAGS.finished_only:
        runs = [run for run in runs if run.finished]
        if not runs:
            raise UserError("--finished_only: no finished run (with results.json) under %s"
                            % ", ".join(args))
    text, written = budget.write_budget(FLAGS.out, runs, entries, logging, title=FLAGS.title,
                                        confidence=FLAGS.confidence)
    sys.stdout.write(text)
    sys.stdout.flush()
    sys.stderr.write("wrote %s\n" % ", ".join(written))
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
