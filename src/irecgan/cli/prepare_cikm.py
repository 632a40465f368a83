"""`irecgan-prepare-cikm`: raw CIKM Cup 2016 (DIGINETICA) files -> the processed log (SPEC 2.1b).

    irecgan-prepare-cikm --raw_dir=DIR --out=FILE [--order=time|file] [--report_json=FILE]
    irecgan-prepare-cikm --synthetic_out=DIR [--seed=S] [--synthetic_sessions=N] [--out=FILE]

The first form converts the competition files in DIR (train-queries.csv, train-clicks.csv,
train-purchases.csv) and prints what it kept and dropped, and why. The second writes a small
synthetic raw directory with the real files' headers and quirks (for tests and scripts) and
prints the counts it planted; with --out it then converts that directory as well.
Progress goes to stderr. Exit status 0 on success, 2 on a user error (one line on stderr).
"""
import io
import json
import sys
import time

from absl import flags

from irecgan.cikm.convert import ORDERS, convert
from irecgan.cikm.synth import write_synthetic_raw
from irecgan.cli.common import guarded, run_cli
from irecgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_string("raw_dir", None, "Directory with the raw CIKM Cup 2016 files.")
flags.DEFINE_string("out", None, "Processed log to write (SPEC 2.1).")
flags.DEFINE_enum("order", "time", list(ORDERS), "Order of a session's queries: 'time' "
                  "(timeframe, ties by file order; the documented fix) or 'file' (the authors' "
                  "prototype).")
flags.DEFINE_string("report_json", None, "Also write the converter's counts to this JSON file.")
flags.DEFINE_string("synthetic_out", None, "Write a synthetic raw directory here instead of "
                    "converting --raw_dir (then convert it too when --out is given).")
flags.DEFINE_integer("seed", 0, "Seed of the synthetic raw directory.")
flags.DEFINE_integer("synthetic_sessions", 300, "Number of sessions of the synthetic directory "
                     "(300: enough for the 40-fold split of SMOKE=1 ./run_cikm.sh).")
flags.DEFINE_integer("synthetic_items", 2000,
                     "Item universe of the synthetic directory (CIKM-shaped: 40000).")


def _stderr_progress():
    start = time.time()

    def progress(message):
        sys.stderr.write("[%6.1fs] %s\n" % (time.time() - start, message))
        sys.stderr.flush()
    return progress


def main(argv):
    if len(argv) > 1:
        raise UserError("unexpected arguments: %s (all options are --flags)"
                        % " ".join(argv[1:]))
    out_lines = []
    if FLAGS.synthetic_out:
        if FLAGS.raw_dir:
            raise UserError("give either --raw_dir (convert real files) or --synthetic_out "
                            "(write synthetic ones), not both")
        if FLAGS.synthetic_sessions < 1:
            raise UserError("--synthetic_sessions must be >= 1, got %d" % FLAGS.synthetic_sessions)
        planted = write_synthetic_raw(FLAGS.synthetic_out, FLAGS.seed,
                                      n_sessions=FLAGS.synthetic_sessions,
                                      n_items=FLAGS.synthetic_items)
        out_lines.append("wrote synthetic raw files to %s (seed %d); planted counts:"
                         % (FLAGS.synthetic_out, FLAGS.seed))
        out_lines.extend("  %s: %s" % (k, v) for k, v in planted.items())
        raw_dir = FLAGS.synthetic_out
        if not FLAGS.out:
            sys.stdout.write("\n".join(out_lines) + "\n")
            return 0
    else:
        if not FLAGS.raw_dir or not FLAGS.out:
            raise UserError("--raw_dir and --out are required (or --synthetic_out to write "
                            "synthetic raw files)")
        raw_dir = FLAGS.raw_dir
    report = convert(raw_dir, FLAGS.out, order=FLAGS.order, progress=_stderr_progress())
    out_lines.append("converted %s -> %s" % (raw_dir, FLAGS.out))
    out_lines.extend(report.summary_lines())
    if FLAGS.report_json:
        try:
            with io.open(FLAGS.report_json, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(report.as_dict(), indent=1, sort_keys=False) + "\n")
        except (IOError, OSError) as err:
            raise UserError("cannot write %s: %s" % (FLAGS.report_json, err.strerror or err))
    sys.stdout.write("\n".join(out_lines) + "\n")
    return 0


def run():
    run_cli(guarded(main), __name__)


if __name__ == "__main__":
    run()
