"""Each agent objective at its own budget (issue 34): the budget rule of irecgan.report.budget
applied to an objective's perfect-model control irecgan_true@OBJ picks the epoch E at which its
curve is flat; this module reads every control's online reward at that epoch (the evaluation
after epoch E of longer runs; a control the rule calls still rising is read at the last
candidate budget and says so), its share of the headroom, and its paired-by-seed difference to
the paper objective's irecgan_true read at the paper objective's own budget, same log and
variant. Pure functions; numpy / scipy through irecgan.report.stats only.
"""
import math

from irecgan.report.stats import CONFIDENCE, mean_ci, paired_ci, seed_key
from irecgan.report.tables import evidence, fmt_ci

PAPER_CONTROL = "irecgan_true"   # budget.CONTROL: the paper objective's control


def values_at(per_seed_curves, epoch):
    """seed -> the curve's value at `epoch`, for the seeds whose curve has it (seed order)."""
    return dict((s, per_seed_curves[s][epoch])
                for s in sorted(per_seed_curves, key=seed_key) if epoch in per_seed_curves[s])


def reported_epoch(rule_row):
    """`(epoch, flat)`: the rule's budget (flat True), else the last budget it tested (flat
    False), else `(None, None)` (no budget could be tested)."""
    if rule_row["budget"] is not None:
        return rule_row["budget"], True
    if rule_row["test"] is None:
        return None, None
    return rule_row["test"]["budget"], False


def direction(test):
    """A window test that is not flat (`window_test`): "unknown" (no interval), "falling" (it
    lies below 0) or "still rising"."""
    if test["flat"] is None:
        return "unknown"
    return "falling" if test["ci"]["high"] < 0.0 else "still rising"


def at_budget_rows(groups, rule_rows, confidence=CONFIDENCE):
    """One dict per rule row (`budget.budget_rows`) with a reported epoch: log, variant, method,
    epoch, flat, values (seed -> value at epoch), ci (`mean_ci`), vs_paper (`paired_ci` of the
    values minus the paper control's at its own epoch, same log and variant; None for the paper
    control itself or without it)."""
    out = []
    for row in rule_rows:
        epoch, flat = reported_epoch(row)
        if epoch is None:
            continue
        values = values_at(groups[(row["log"], row["variant"], row["method"])], epoch)
        out.append({"log": row["log"], "variant": row["variant"], "method": row["method"],
                    "epoch": epoch, "flat": flat, "values": values,
                    "trend": None if flat else direction(row["test"]),
                    "ci": mean_ci(list(values.values()), confidence), "vs_paper": None})
    for r in out:
        if r["method"] == PAPER_CONTROL:
            continue
        paper = [p for p in out if (p["log"], p["variant"], p["method"]) ==
                 (r["log"], r["variant"], PAPER_CONTROL)]
        if paper:
            r["vs_paper"] = paired_ci(r["values"], paper[0]["values"], confidence)
            r["paper_epoch"] = paper[0]["epoch"]
    return out


def headroom_percent(reward, references):
    """100 (reward - L) / (C - L) for `references` (L, C): logging policy and ceiling rewards;
    NaN when either is missing or C <= L."""
    if references is None:
        return float("nan")
    low, high = references
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return float("nan")
    return 100.0 * (reward - low) / (high - low)


def at_budget_markdown(rows, references, confidence=CONFIDENCE):
    """The section's lines: one table row per `at_budget_rows` row; `references`: log -> (L, C)
    for the headroom (logging policy, ceiling), or missing."""
    pct = int(round(confidence * 100))
    lines = ["## Each objective at its own budget", "",
             "Every control's online reward at the epoch the rule picks from its own curve (the "
             "evaluation after that epoch; 'still rising' or 'falling': the last budget "
             "tested), and its "
             "difference to the paper objective's irecgan_true at that one's own budget, "
             "paired by seed (%d %% CIs)." % pct, "",
             "| log | variant | control | epoch | online reward (%d %% CI) | headroom | "
             "- irecgan_true at its budget, paired | seeds |" % pct,
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        share = headroom_percent(r["ci"]["mean"], references.get(r["log"]))
        if r["vs_paper"] is None:
            diff = "-"
        else:
            d = r["vs_paper"]
            diff = "%s (epoch %d)%s" % (fmt_ci(d), r["paper_epoch"],
                                         ": " + evidence(d) if evidence(d) else "")
        lines.append("| %s | %s | %s | %d%s | %s | %s | %s | %d |" % (
            r["log"], r["variant"], r["method"], r["epoch"],
            "" if r["flat"] else " (%s)" % r["trend"], fmt_ci(r["ci"]),
            "%.1f %%" % share if math.isfinite(share) else "-", diff, len(r["values"])))
    lines.append("")
    return lines
