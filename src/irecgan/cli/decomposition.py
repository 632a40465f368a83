"""The decomposition report of scripts/decomposition.sh (issue 22): per simulator log, a table
of the methods against the log's ceiling and logging policy, the gaps (a) ceiling -
irecgan_true, (b) irecgan_true - irecgan_nod, (c) irecgan - irecgan_nod per D head, with
confidence intervals, and a bar plot (irecgan.report.decomposition).

    python -m irecgan.cli.decomposition --out=DIR --policy_rows=FILE.json
        [--logging_policy=NAME=POLICY,...] [--datasets=a,b] [--confidence=0.95]
        [--differences=A-B,...] [--title=TEXT] RUN_DIR_OR_GLOB...
    python -m irecgan.cli.decomposition --list_user_fit RUN_DIR_OR_GLOB...
    python -m irecgan.cli.decomposition --list_model_value RUN_DIR_OR_GLOB...
    python -m irecgan.cli.decomposition --out=DIR --by_budget=LABEL=GAPS_CSV,LABEL=GAPS_CSV...

Run directories as irecgan-report finds them. `--policy_rows`: the policy rows irecgan-report
wrote (its policy_rows.json; run_sim.sh's report makes them, so they are computed once); the
rows of each log's ceiling (`belief` / `oracle`) and of its logging policy are used.
`--differences` adds gaps of your own to gaps.md / gaps.csv, gap "x", e.g.
`irecgan_seq@no_q_d-irecgan_nod` (a method label minus another, paired by seed; `ceiling` as
either side: Welch against the log's ceiling row), in every log reported.
`--list_user_fit` prints, one per line, the finished runs with a user model whose fit
(results.json["user_fit"] or user_fit.json) is missing, and writes nothing;
`--list_model_value` the same for model_value.json (U's error on the agent's own lists,
`irecgan-evaluate --model_value`; runs with a simulator), which gaps.md reports where runs
have it. `--by_budget`
reads the gaps.csv of earlier reports, one per training budget (e.g.
"cpu_short=results/decomposition/gaps.csv,converged=results/decomposition_converged/gaps.csv"),
and writes DIR/gaps_by_budget.md and DIR/<log>_gaps_by_budget.png (irecgan.report.gap_budget):
each gap against the budget; it takes no run directories. A label given twice joins reports
of other logs (made apart) under one budget. Exit status 0, or
2 on a user error (one line on stderr).
"""
import sys

from absl import flags

from irecgan import report
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError
from irecgan.report.policies import logging_policies
from irecgan.report import decomposition as dec
from irecgan.report.gap_budget import write_gap_budget

FLAGS = flags.FLAGS
flags.DEFINE_string("out", None, "Output folder (created if missing).")
flags.DEFINE_string("title", "Decomposition of the headroom gap", "Title of table.md / gaps.md.")
flags.DEFINE_string("policy_rows", None, "JSON file of simulator-policy rows (irecgan-report's "
                    "policy_rows.json).")
flags.DEFINE_list("logging_policy", [], "NAME=POLICY pairs: the policy row of the policy that "
                  "wrote log NAME (the 0 %% of its headroom).")
flags.DEFINE_list("datasets", [], "The logs to report (default: every log of the runs).")
flags.DEFINE_float("confidence", dec.CONFIDENCE, "Confidence level of the intervals.")
flags.DEFINE_list("differences", [], "MINUEND-SUBTRAHEND pairs of method labels (or "
                  "'ceiling'): further gaps, 'x', in gaps.md / gaps.csv.")
flags.DEFINE_list("by_budget", [], "LABEL=GAPS_CSV pairs, one per training budget: write each "
                  "gap against the budget instead of a decomposition.")
flags.DEFINE_bool("list_user_fit", False, "Print the finished runs with a user model whose fit "
                  "is missing, one per line; write nothing.")
flags.DEFINE_bool("list_model_value", False, "Print the finished runs with a user model and a "
                  "simulator without model_value.json (irecgan-evaluate --model_value), one "
                  "per line; write nothing.")


@guarded
def main(argv):
    args = argv[1:]
    if FLAGS.by_budget:
        return by_budget(args)
    if not args:
        raise UserError("give at least one run directory (or a folder or glob of them)")
    if FLAGS.list_user_fit or FLAGS.list_model_value:
        if FLAGS.list_user_fit and FLAGS.list_model_value:
            raise UserError("give one of --list_user_fit and --list_model_value")
        needs = dec.needs_user_fit if FLAGS.list_user_fit else dec.needs_model_value
        for run in report.load_runs(args):
            if needs(run):
                sys.stdout.write(run.path + "\n")
        return 0
    if not FLAGS.out:
        raise UserError("--out=DIR is required")
    if not 0.0 < FLAGS.confidence < 1.0:
        raise UserError("--confidence must lie strictly between 0 and 1, got %g"
                        % FLAGS.confidence)
    logging = logging_policies(FLAGS.logging_policy)
    entries = report.read_policy_rows(FLAGS.policy_rows) if FLAGS.policy_rows else []
    runs = report.load_runs(args)
    datasets = [d.strip() for d in FLAGS.datasets if d.strip()] or None
    if datasets:
        known = set(r.dataset for r in runs)
        unknown = [d for d in datasets if d not in known]
        if unknown:
            raise UserError("--datasets: no run of %s under %s" % (", ".join(unknown),
                                                                   ", ".join(args)))
    text, written = dec.write_decomposition(FLAGS.out, runs, entries, logging, datasets,
                                            title=FLAGS.title, confidence=FLAGS.confidence,
                                            differences=parse_differences(FLAGS.differences))
    sys.stdout.write(text)
    sys.stdout.flush()
    sys.stderr.write("wrote %s\n" % ", ".join(written))
    return 0


def parse_differences(items):
    """[(minuend, subtrahend)] from `--differences`' "A-B" items; a `UserError` for any other
    form (method labels hold no "-")."""
    out = []
    for item in items:
        parts = [p.strip() for p in item.split("-")]
        if len(parts) != 2 or not all(parts):
            raise UserError("--differences: %r is not MINUEND-SUBTRAHEND (two method labels, "
                            "e.g. irecgan-irecgan_nod)" % item)
        out.append(tuple(parts))
    return out


def by_budget(args):
    """--by_budget: the gaps of several reports against their budget labels."""
    if args:
        raise UserError("--by_budget takes no run directories (got %s)" % " ".join(args))
    if not FLAGS.out:
        raise UserError("--out=DIR is required")
    labelled = []
    for item in FLAGS.by_budget:
        label, sep, path = item.partition("=")
        if not sep or not label.strip() or not path.strip():
            raise UserError("--by_budget: %r is not LABEL=GAPS_CSV" % item)
        labelled.append((label.strip(), path.strip()))
    text, written = write_gap_budget(FLAGS.out, labelled)
    sys.stdout.write(text)
    sys.stderr.write("wrote %s\n" % ", ".join(written))
    return 0


def run():
    run_cli(main, __name__)


if __name__ == "__main__":
    run()
