"""The converged preset per log (issue 32): which variant (agent lr x offline_ratio) and which
budget the decomposition at convergence uses, chosen from irecgan_true's budget curves alone.

THE PRESET RULE (written down on 2026-12-04, after rule v2 of irecgan.report.budget and before
any compared method's budget run, blind to the compared methods' online figures):

    For each log, only the variants with a converged budget E (rule v2) take part. A variant's
    score is irecgan_true's late-window mean at its E (each seed's mean online reward over the
    adversarial epochs in (0.8E, E], averaged over the seeds), with the 95 % Student t
    half-width of that mean over the seeds. The best variant is the one with the highest score.
    The preset is, among the variants whose score is at least the best score minus the best
    variant's half-width, the one that changes the fewest budget knobs from the paper's agent
    lr 1e-4 and offline_ratio 10 (0, 1 or 2 of the two), ties going to the higher score. The
    preset trains for its variant's E adversarial epochs and reports each run's final epoch. A
    log with no converged variant has no preset: the report says so and the decomposition at
    convergence leaves that log out.

Pure functions (`knobs_changed`, `variant_score`, `choose_preset`, `preset_markdown`,
`preset_flags`); numpy / scipy only.
"""
import math

from irecgan.report.stats import CONFIDENCE, mean_ci, seed_key

PAPER_LR = 1e-4
PAPER_RATIO = 10.0


def variant_knobs(variant):
    """(agent_lr, offline_ratio) of a variant name `lr<LR>_r<RATIO>`; ValueError otherwise."""
    if not variant.startswith("lr") or "_r" not in variant:
        raise ValueError("variant %r is not lr<LR>_r<RATIO>" % (variant,))
    lr, ratio = variant[2:].split("_r", 1)
    return float(lr), float(ratio)


def knobs_changed(variant):
    """How many of the paper's two budget knobs (agent lr 1e-4, offline_ratio 10) `variant`
    changes: 0, 1 or 2."""
    lr, ratio = variant_knobs(variant)
    return int(not math.isclose(lr, PAPER_LR, rel_tol=1e-9)) + int(
        not math.isclose(ratio, PAPER_RATIO, rel_tol=1e-9))


def variant_score(test, confidence=CONFIDENCE):
    """`stats.mean_ci` over the seeds of each seed's late-window mean in a `budget.window_test`
    result (its "late": seed -> mean over (0.8E, E])."""
    late = test["late"]
    return mean_ci([late[s] for s in sorted(late, key=seed_key)], confidence)


def choose_preset(rows, confidence=CONFIDENCE):
    """log -> the preset (dict log, variant, budget, score, best, candidates) or None, from
    `budget.budget_rows` (dicts log, variant, budget, test). Only the paper objective's rows
    (method irecgan_true: irecgan_true@OBJ never picks a preset) with a budget take part;
    `candidates` lists (variant, budget, score, knobs changed, within reach of the best)."""
    out = {}
    rows = [r for r in rows if r.get("method", "irecgan_true") == "irecgan_true"]
    for log in _logs(rows):
        mine = [r for r in rows if r["log"] == log and r["budget"] is not None]
        if not mine:
            out[log] = None
            continue
        scored = [(r, variant_score(r["test"], confidence)) for r in mine]
        best_row, best = max(scored, key=lambda p: p[1]["mean"])
        half = best["half"] if math.isfinite(best["half"]) else 0.0
        floor = best["mean"] - half
        candidates = [{"variant": r["variant"], "budget": r["budget"], "score": s,
                       "knobs": knobs_changed(r["variant"]), "in_reach": s["mean"] >= floor}
                      for r, s in scored]
        reach = [c for c in candidates if c["in_reach"]]
        chosen = min(reach, key=lambda c: (c["knobs"], -c["score"]["mean"]))
        out[log] = {"log": log, "variant": chosen["variant"], "budget": chosen["budget"],
                    "score": chosen["score"], "best": best_row["variant"], "floor": floor,
                    "candidates": candidates}
    return out


def _logs(rows):
    seen = []
    for r in rows:
        if r["log"] not in seen:
            seen.append(r["log"])
    return seen


def preset_flags(preset):
    """irecgan-train's flags of a chosen preset (the budget knobs only)."""
    lr, ratio = variant_knobs(preset["variant"])
    return ["--agent_lr=%g" % lr, "--offline_ratio=%g" % ratio,
            "--adv_epochs=%d" % preset["budget"]]


def preset_markdown(presets, confidence=CONFIDENCE):
    """budget.md's preset section: per log the candidates, their scores and the choice."""
    pct = int(round(confidence * 100))
    lines = ["## The converged preset per log (irecgan.report.preset)", "",
             "Score: irecgan_true's late-window mean at the variant's budget E, with its %d %% "
             "CI over seeds; in reach: score >= best score - best half-width; the preset is the "
             "in-reach variant with the fewest knobs changed from the paper (agent lr 1e-4, "
             "offline_ratio 10)." % pct, "",
             "| log | variant | E | score (%d %% CI) | knobs changed | in reach | preset |" % pct,
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for log, preset in presets.items():
        if preset is None:
            lines.append("| %s | - | - | - | - | - | none: no converged variant |" % log)
            continue
        for c in preset["candidates"]:
            s = c["score"]
            chosen = c["variant"] == preset["variant"]
            lines.append("| %s | %s | %d | %.4f [%.4f, %.4f] | %d | %s | %s |" % (
                log, c["variant"], c["budget"], s["mean"], s["low"], s["high"], c["knobs"],
                "yes" if c["in_reach"] else "no",
                " ".join(preset_flags(preset)) if chosen else ""))
    lines.append("")
    return "\n".join(lines)
