"""Each gap of the decomposition against the training budget (issue 32): the gaps.csv files of
several decomposition reports (e.g. the cpu_short preset's results/decomposition and the
converged preset's results/decomposition_converged), each under a budget label, side by side.

`read_gaps(path)` reads one gaps.csv (`decomposition_tables`' columns); `gaps_by_budget`
joins them (log -> gap difference -> [(label, row)] in the order given); `budget_gap_markdown`
is the table (mean [CI] per budget, "no evidence" where the interval holds 0) and
`plot_gaps_by_budget` one PNG per log: every gap's mean with its confidence interval as an
error bar, one x position per budget. numpy / matplotlib only.
"""
import collections
import csv
import io
import math
import os

from irecgan.errors import UserError
from irecgan.report.plots import pyplot, safe_file_name, save_figure

GAP_ORDER = ("a", "b", "c", "w", "d")


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


def read_gaps(path):
    """The rows of one gaps.csv: dicts log, gap, difference, mean, low, high, n (floats where
    numbers); a `UserError` naming the file when it is missing or lacks a column."""
    try:
        with io.open(path, encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (IOError, OSError) as err:
        raise UserError("cannot read %s: %s" % (path, " ".join(str(err).split())))
    need = ("log", "gap", "difference", "mean", "ci_low", "ci_high", "n")
    for line, row in enumerate(rows, 2):
        missing = [k for k in need if row.get(k) is None]
        if missing:
            raise UserError("%s:%d: no %s column" % (path, line, ", ".join(missing)))
    return [{"log": r["log"], "gap": r["gap"], "difference": r["difference"],
             "mean": _float(r["mean"]), "low": _float(r["ci_low"]), "high": _float(r["ci_high"]),
             "n": int(_float(r["n"])) if math.isfinite(_float(r["n"])) else 0} for r in rows]


def gaps_by_budget(labelled):
    """log -> difference -> [(label, row)] from `[(label, rows of read_gaps)]`, logs and
    differences in first-seen order, sorted by gap letter (a, b, c, ...)."""
    out = collections.OrderedDict()
    for label, rows in labelled:
        for row in rows:
            per_log = out.setdefault(row["log"], collections.OrderedDict())
            per_log.setdefault((row["gap"], row["difference"]), []).append((label, row))
    for log in out:
        keys = sorted(out[log], key=lambda k: GAP_ORDER.index(k[0]) if k[0] in GAP_ORDER
                      else len(GAP_ORDER))
        out[log] = collections.OrderedDict((k[1], out[log][k]) for k in keys)
    return out


def _cell(row):
    if not math.isfinite(row["mean"]):
        return "-"
    text = "%.3f [%.3f, %.3f]" % (row["mean"], row["low"], row["high"])
    if math.isfinite(row["low"]) and row["low"] <= 0.0 <= row["high"]:
        text += " (no evidence)"
    return text


def budget_gap_markdown(joined, labels, title="Gaps against the budget"):
    """The table: per log, one row per gap, one column per budget label."""
    lines = ["# %s" % title, ""]
    for log, gaps in joined.items():
        lines += ["## %s" % log, "", "| gap | " + " | ".join(labels) + " |",
                  "| --- |" + " --- |" * len(labels)]
        for difference, cells in gaps.items():
            by_label = dict(cells)
            lines.append("| %s | %s |" % (difference, " | ".join(
                _cell(by_label[l]) if l in by_label else "-" for l in labels)))
        lines.append("")
    return "\n".join(lines)


def plot_gaps_by_budget(path, log, gaps, labels):
    """One PNG: each gap's mean and CI (error bar) at each budget label, a line per gap."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    xs = dict((l, i) for i, l in enumerate(labels))
    width = 0.6 / max(1, len(gaps))
    for j, (difference, cells) in enumerate(gaps.items()):
        pts = [(xs[l] + (j - (len(gaps) - 1) / 2.0) * width, r) for l, r in cells if l in xs
               and math.isfinite(r["mean"])]
        if not pts:
            continue
        x = [p[0] for p in pts]
        y = [p[1]["mean"] for p in pts]
        err = [[max(0.0, p[1]["mean"] - p[1]["low"]) if math.isfinite(p[1]["low"]) else 0.0
                for p in pts],
               [max(0.0, p[1]["high"] - p[1]["mean"]) if math.isfinite(p[1]["high"]) else 0.0
                for p in pts]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=difference)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("gap in online reward (mean, 95 % CI)")
    ax.set_title("%s: each gap against the training budget" % log)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path)
    return path


def write_gap_budget(out_dir, labelled, title="Gaps against the budget"):
    """gaps_by_budget.md and `<log>_gaps_by_budget.png` in `out_dir` from `[(label, gaps.csv
    path)]`; returns (the markdown, written paths). A label may name several files (reports of
    one budget made apart, e.g. on other machines) when no log is in two of them."""
    labels, seen, read = [], {}, []
    for label, path in labelled:
        rows = read_gaps(path)
        if label not in labels:
            labels.append(label)
        for log in sorted(set(r["log"] for r in rows)):
            if (label, log) in seen:
                raise UserError("budget %s: log %s is in both %s and %s" % (
                    label, log, seen[label, log], path))
            seen[label, log] = path
        read.append((label, rows))
    joined = gaps_by_budget(read)
    text = budget_gap_markdown(joined, labels, title)
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        written = [os.path.join(out_dir, "gaps_by_budget.md")]
        with io.open(written[0], "w", encoding="utf-8") as handle:
            handle.write(text)
        for log, gaps in joined.items():
            written.append(plot_gaps_by_budget(
                os.path.join(out_dir, safe_file_name(log) + "_gaps_by_budget.png"), log, gaps,
                labels))
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    return text, written
