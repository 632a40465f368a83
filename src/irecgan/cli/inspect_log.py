"""`irecgan-inspect-log FILE [--lenient] [--min_len N] [--max_len N] [--split=ratio|fold|none]
[--split_seed=S]`: processed-log statistics.

Reads FILE with the same reader (and the same length filters) the trainers use, then prints the
reader's account of every line, the session/step/item counts, the purchase rate, a text
histogram of session lengths, and the share of test sessions that occur verbatim (same clicks,
lists and purchases) in the training part of the split the trainers would make with
`--split`/`--split_seed` (`irecgan-train --split=... --seed=S`): a log whose test sessions repeat
training ones measures memory, not generalisation. Exit status 0 on success, 2 on a user error (one line on stderr,
e.g. `error: log.txt:7: field 'purchase': purchase not 0/1 (got '2')`).
"""
import collections
import sys

from absl import flags

from irecgan.cli.common import guarded, run_cli
from irecgan.data.logfile import read_log
from irecgan.data.overlap import verbatim_repeats
from irecgan.data.splits import fold_split, ratio_split
from irecgan.errors import UserError

FLAGS = flags.FLAGS
flags.DEFINE_bool("lenient", False, "Skip malformed lines and count them instead of stopping at "
                  "the first one.")
flags.DEFINE_integer("min_len", 2, "Drop sessions with fewer steps (SPEC 2.1: 2).")
flags.DEFINE_integer("max_len", 40, "Drop sessions with more steps (SPEC 2.1: 40); 0 = no limit.")
flags.DEFINE_enum("split", "ratio", ["ratio", "fold", "none"], "The split of the verbatim-repeat "
                  "share: ratio (80/10/10), fold (38/1/1 of 40 folds) or none (skip it).")
flags.DEFINE_integer("split_seed", 1, "Seed of that split (irecgan-train's --seed).")

USAGE = ("usage: irecgan-inspect-log FILE [--lenient] [--min_len N] [--max_len N] "
         "[--split=ratio|fold|none] [--split_seed=S]")
SPLIT_TEXT = {"ratio": "ratio split 80/10/10", "fold": "fold split 38/1/1"}
BAR_WIDTH = 40
MAX_BINS = 20


def session_stats(sessions):
    """Counts over `Session`s: an OrderedDict of name -> number (see `stats_lines`)."""
    clicked, listed = set(), set()
    steps = purchases = candidates = 0
    lengths = []
    for s in sessions:
        lengths.append(len(s.clicks))
        steps += len(s.clicks)
        purchases += sum(s.purchases)
        clicked.update(s.clicks)
        for rec in s.rec_lists:
            listed.update(rec)
            candidates += len(rec)
    out = collections.OrderedDict()
    out["sessions"] = len(sessions)
    out["steps"] = steps
    out["distinct_clicked_items"] = len(clicked)
    out["distinct_listed_items"] = len(listed)
    out["purchases"] = purchases
    out["purchase_rate_pct"] = 100.0 * purchases / steps if steps else 0.0
    out["mean_list_length"] = float(candidates) / steps if steps else 0.0
    out["mean_length"] = float(steps) / len(lengths) if lengths else 0.0
    out["min_length"] = min(lengths) if lengths else 0
    out["max_length"] = max(lengths) if lengths else 0
    out["lengths"] = lengths
    return out


def histogram_lines(lengths, max_bins=MAX_BINS, width=BAR_WIDTH):
    """A text histogram of integer lengths: one line per bin, `lo-hi  count  ####`.

    Bins are consecutive integer ranges of equal width, at most `max_bins` of them; bar lengths
    are proportional to the count, the largest bin `width` characters (a non-empty bin gets at
    least one character)."""
    if not lengths:
        return []
    lo, hi = min(lengths), max(lengths)
    step = -(-(hi - lo + 1) // max_bins)  # ceil
    counts = collections.Counter((x - lo) // step for x in lengths)
    top = max(counts.values())
    label_width = len(str(hi)) * 2 + 1
    lines = []
    for b in range((hi - lo) // step + 1):
        a, z = lo + b * step, min(lo + (b + 1) * step - 1, hi)
        label = str(a) if a == z else "%d-%d" % (a, z)
        n = counts.get(b, 0)
        bar = "#" * max(1, int(round(float(width) * n / top))) if n else ""
        lines.append("  %*s %8d %s" % (label_width, label, n, bar))
    return lines


def stats_lines(stats):
    lines = [
        "sessions:               %d" % stats["sessions"],
        "steps:                  %d" % stats["steps"],
        "distinct clicked items: %d" % stats["distinct_clicked_items"],
        "distinct items in lists (clicks included): %d" % stats["distinct_listed_items"],
        "purchases:              %d (%.2f %% of steps)" % (stats["purchases"],
                                                          stats["purchase_rate_pct"]),
        "mean list length:       %.2f" % stats["mean_list_length"],
    ]
    if stats["sessions"]:
        lines.append("session length:         mean %.2f, min %d, max %d" % (
            stats["mean_length"], stats["min_length"], stats["max_length"]))
        lines.append("session length histogram (steps, sessions):")
        lines.extend(histogram_lines(stats["lengths"]))
    else:
        lines.append("no sessions kept")
    return lines


def verbatim_line(sessions, split, seed):
    """The verbatim-repeat line for `sessions` under the trainers' `split` with `seed`."""
    if split == "fold" and len(sessions) < 40:
        return "test sessions verbatim in training: n/a (a fold split needs 40 sessions)"
    parts = (fold_split if split == "fold" else ratio_split)(sessions, seed)
    repeats, n = verbatim_repeats(parts[0], parts[2])
    share = "%.2f %%" % (100.0 * repeats / n) if n else "n/a"
    return "test sessions verbatim in training: %d of %d (%s; %s, seed %d)" % (
        repeats, n, share, SPLIT_TEXT[split], seed)


def main(argv):
    if len(argv) != 2:
        raise UserError("expected exactly one FILE argument, got %d; %s" % (len(argv) - 1, USAGE))
    max_len = FLAGS.max_len if FLAGS.max_len > 0 else None
    sessions, report = read_log(argv[1], lenient=FLAGS.lenient, min_len=FLAGS.min_len,
                                max_len=max_len)
    out = report.summary_lines() + [""] + stats_lines(session_stats(sessions))
    if FLAGS.split != "none" and sessions:
        out.append(verbatim_line(sessions, FLAGS.split, FLAGS.split_seed))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def run():
    run_cli(guarded(main), __name__)


if __name__ == "__main__":
    run()
