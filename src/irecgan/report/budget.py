"""Budget curves and the converged preset (issue 32): online reward against the adversarial
epoch per (log, variant, method), a mean over seeds with a 95 % t-interval per epoch, and the
rule that picks the training budget from the perfect-model control irecgan_true alone.

THE RULE (written down on 2026-12-04, before any budget run was made, blind to the compared
methods' online figures; v2 of 2026-12-04 raised MIN_BUDGET from 10 to 50 after seeing only
irecgan_true's curves, before any compared method's budget run):

    For each log and variant, only irecgan_true's runs are looked at. For a candidate budget E
    (a multiple of STEP = 10 adversarial epochs, E >= MIN_BUDGET = 50, and no larger than the
    last epoch that at least 2 seeds reached), each seed's curve truncated at E gives two window
    means: its mean online reward over the adversarial epochs in (0.8E, E] ("late") and over
    those in (0.6E, 0.8E] ("early"). The paired-by-seed differences late - early (seeds with
    every epoch of both windows; at least 2 of them) give a 95 % Student t interval
    (stats.paired_ci). The converged budget is the smallest such E whose interval contains 0
    (low <= 0 <= high). When no E qualifies, there is no converged budget: the table says
    "still rising at MAX" (or "falling at MAX" when the last interval lies below 0, "unknown
    at MAX" when it could not be computed), MAX the largest candidate E.

A variant is the agent learning rate and mixing of a run's configuration, named like
`lr1e-4_r10` (agent_lr 1e-4, offline_ratio 10; `variant_name`). A run's curve is its
metrics.jsonl's "online_reward_mean" per adversarial epoch, with epoch 0 the agent after
pretraining (its last agent-phase record, when online evaluation ran there). pg has no
adversarial phase: its curve is over its agent epochs (variant "pg"), and its final online
reward is drawn as a reference line.

An agent objective other than the paper's (issue 34; runs labelled `irecgan_true@OBJ`) has its
own perfect-model control: the rule is applied to each `irecgan_true@OBJ` group as to
irecgan_true's, and its row names the objective. Presets are chosen from the paper
objective's irecgan_true alone (`is_control`, `preset.choose_preset`). Pure functions
(`epoch_ci`, `window_test`, `converged_budget`, `budget_curves`, `budget_rows`) and
`write_budget` (budget.md, budget.csv, <log>_budget.png). numpy / scipy only; no TensorFlow,
no absl.
"""
import collections
import io
import math
import os

from irecgan.errors import UserError
from irecgan.report.at_budget import at_budget_markdown, at_budget_rows, direction
from irecgan.report.budget_plots import plot_budget
from irecgan.report.plots import label_order, safe_file_name
from irecgan.report.preset import choose_preset, preset_flags, preset_markdown
from irecgan.report.rows import (datasets_in_order, label_rows, method_rank, policy_row,
                                 simulators_of)
from irecgan.report.rows import reference_lines as labelled_reference_lines
from irecgan.report.runs import method_label
from irecgan.report.stats import (CONFIDENCE, as_number, get_nested, mean_ci, paired_ci,
                                   seed_key)
from irecgan.report.tables import csv_float, fmt_ci, write_records

STEP = 10          # candidate budgets are multiples of this many adversarial epochs
MIN_BUDGET = 50    # the smallest candidate budget (rule v2; v1 had 10: 2-epoch windows)
MIN_SEEDS = 2      # a t interval needs two paired differences
CONTROL = "irecgan_true"   # the method the rule looks at (with each objective's irecgan_true@OBJ)
PG = "pg"
OBJECTIVE_CLAUSE = " (each agent objective's on its own control, irecgan_true@OBJ)"
KEY = "online_reward_mean"
CSV_COLUMNS = ["log", "variant", "method", "epoch", "mean", "ci_low", "ci_high", "n"]


def number_name(value):
    """A number as it appears in a variant's name: 1e-4 -> "1e-4", 2.5e-4 -> "2.5e-4", 10 ->
    "10", 0.1 -> "0.1" (an exponent below 0.01)."""
    value = float(value)
    if value != 0.0 and abs(value) < 0.01:
        mantissa, exponent = ("%.6e" % value).split("e")
        return "%se%d" % (mantissa.rstrip("0").rstrip("."), int(exponent))
    return "%g" % value


def variant_name(config):
    """`lr<agent_lr>_r<offline_ratio>` of a run configuration (pg's runs: "pg"); "?" for a
    value the configuration lacks."""
    if str(config.get("method")) == PG:
        return PG
    parts = []
    for prefix, key in (("lr", "agent_lr"), ("r", "offline_ratio")):
        value = as_number(config.get(key))
        parts.append(prefix + (number_name(value) if math.isfinite(value) else "?"))
    return "_".join(parts)


def budget_method(config):
    """The method's name in the budget report: `runs.method_label` as if in an irecgan_true
    folder, so that irecgan_true at offline_ratio 0.1 stays irecgan_true (the ratio is part of
    the variant)."""
    return method_label(config, folder=CONTROL)


def seed_curve(run):
    """`{epoch: online reward}` of one run: adversarial epochs 1.. (0: the last agent-phase
    record) for methods with an adversarial phase; agent epochs for pg."""
    agent, adversarial = {}, {}
    for record in run.metrics:
        value = as_number(record.get(KEY))
        if record.get("epoch") is None or not math.isfinite(value):
            continue
        if record.get("phase") == "agent":
            agent[int(record["epoch"])] = value
        elif record.get("phase") == "adversarial":
            adversarial[int(record["epoch"])] = value
    if str(run.config.get("method")) == PG:
        return agent
    if agent and 0 not in adversarial:
        adversarial[0] = agent[max(agent)]
    return adversarial


def epoch_ci(per_seed_curves, confidence=CONFIDENCE):
    """`[(epoch, interval)]`: per epoch of any seed, `stats.mean_ci` over the seeds holding it
    (`per_seed_curves`: seed -> {epoch: value})."""
    epochs = sorted(set(e for c in per_seed_curves.values() for e in c))
    return [(e, mean_ci([c[e] for c in per_seed_curves.values() if e in c], confidence))
            for e in epochs]


def _window(curve, low_fifths, high_fifths, budget):
    """Mean of `curve` over the epochs e with low/5 * budget < e <= high/5 * budget; None when
    one of them is missing."""
    epochs = [e for e in range(1, budget + 1) if low_fifths * budget < 5 * e <= high_fifths * budget]
    if not epochs or any(e not in curve for e in epochs):
        return None
    return sum(curve[e] for e in epochs) / float(len(epochs))


def window_test(per_seed_curves, budget, confidence=CONFIDENCE):
    """The rule's measurement at `budget` (see the module docstring): a dict with budget,
    late / early (seed -> window mean, seeds with both), ci (`stats.paired_ci` of late - early)
    and flat (True when low <= 0 <= high, False when not, None when the interval is unknown)."""
    late, early = collections.OrderedDict(), collections.OrderedDict()
    for seed in sorted(per_seed_curves, key=seed_key):
        a = _window(per_seed_curves[seed], 4, 5, budget)
        b = _window(per_seed_curves[seed], 3, 4, budget)
        if a is not None and b is not None:
            late[seed], early[seed] = a, b
    ci = paired_ci(late, early, confidence)
    if len(ci["seeds"]) < MIN_SEEDS or not (math.isfinite(ci["low"])
                                            and math.isfinite(ci["high"])):
        flat = None
    else:
        flat = ci["low"] <= 0.0 <= ci["high"]
    return {"budget": budget, "late": late, "early": early, "ci": ci, "flat": flat}


def candidate_budgets(per_seed_curves, step=STEP, min_budget=MIN_BUDGET):
    """The multiples of `step` from `min_budget` up to the last epoch that at least MIN_SEEDS
    seeds reached."""
    if step < 1 or min_budget < 1:
        raise ValueError("step and min_budget must be at least 1, got %r, %r"
                         % (step, min_budget))
    lasts = sorted((max(c) for c in per_seed_curves.values() if c), reverse=True)
    if len(lasts) < MIN_SEEDS:
        return []
    first = int(math.ceil(min_budget / float(step))) * step
    return list(range(first, lasts[MIN_SEEDS - 1] + 1, step))


def converged_budget(per_seed_curves, step=STEP, min_budget=MIN_BUDGET, confidence=CONFIDENCE):
    """`(E, measurement)`: the smallest candidate budget E whose `window_test` is flat, with
    that test; `(None, the last candidate's test)` when none is (None, None when there is no
    candidate: fewer than MIN_SEEDS seeds, or curves shorter than `min_budget`)."""
    test = None
    for budget in candidate_budgets(per_seed_curves, step, min_budget):
        test = window_test(per_seed_curves, budget, confidence)
        if test["flat"]:
            return budget, test
    return None, test


def is_control(method):
    """Whether the rule reads a (budget report) method's curves: irecgan_true, the paper
    objective's perfect-model control, or `irecgan_true@OBJ`, another objective's."""
    return method == CONTROL or method.startswith(CONTROL + "@")


def verdict(budget, test):
    """The table's words for `converged_budget`'s answer."""
    if budget is not None:
        return "flat at %d" % budget
    if test is None:
        return "no budget to test (fewer than %d seeds or curves shorter than %d epochs)" % (
            MIN_SEEDS, MIN_BUDGET)
    return "%s at %d" % (direction(test), test["budget"])


def group_curves(runs):
    """(log, variant, method) -> {seed: curve} of the runs (finished or not), in log order,
    then variant, then method rank; a seed twice in one group is a `UserError`."""
    groups = {}
    for run in runs:
        key = (run.dataset, variant_name(run.config), budget_method(run.config))
        seeds = groups.setdefault(key, {})
        if run.seed in seeds:
            raise UserError("%s / %s / %s has seed %s twice (%s)" % (key + (run.seed, run.path)))
        seeds[run.seed] = seed_curve(run)
    order = dict((d, i) for i, d in enumerate(datasets_in_order(
        [{"dataset": r.dataset} for r in runs])))
    keys = sorted(groups, key=lambda k: (order[k[0]], k[1] == PG, k[1], method_rank(k[2])))
    return collections.OrderedDict((k, groups[k]) for k in keys)


def budget_curves(groups, confidence=CONFIDENCE):
    """(log, variant, method) -> `epoch_ci` of each group of `group_curves`."""
    return collections.OrderedDict((k, epoch_ci(v, confidence)) for k, v in groups.items())


def pg_finals(runs):
    """log -> {pg's label: [final online reward of each finished run]} (results.json's online
    reward), one label per agent objective (`pg`, `pg@advantage`): two objectives' runs are
    two rows, never one mean."""
    out = collections.OrderedDict()
    for run in runs:
        if run.finished and str(run.config.get("method")) == PG:
            value = as_number(get_nested(run.results, "online", "reward_mean"))
            if math.isfinite(value):
                labels = out.setdefault(run.dataset, collections.OrderedDict())
                labels.setdefault(budget_method(run.config), []).append(value)
    return out


def pg_rows(finals, log):
    """`(label, finals)` of `pg_finals(...)[log]` in `label_order`: pg's paper objective first."""
    return sorted(finals.get(log, {}).items(), key=lambda kv: label_order(kv[0]))


def budget_rows(groups, step=STEP, min_budget=MIN_BUDGET, confidence=CONFIDENCE):
    """The rule per (log, variant, control) with the control's runs (`is_control`: irecgan_true
    and each objective's irecgan_true@OBJ): dicts log, variant, method, budget, test
    (`converged_budget`), verdict."""
    rows = []
    for (log, variant, method), curves in groups.items():
        if not is_control(method):
            continue
        budget, test = converged_budget(curves, step, min_budget, confidence)
        rows.append({"log": log, "variant": variant, "method": method, "budget": budget,
                     "test": test, "verdict": verdict(budget, test)})
    return rows


def row_variant(row):
    """A rule row's variant as budget.md names it: the variant, with the objective's control
    after it when it is not the paper objective's (`lr1e-3_r0.1, irecgan_true@slate`)."""
    method = row.get("method", CONTROL)
    return row["variant"] if method == CONTROL else "%s, %s" % (row["variant"], method)


def _mean_of(values):
    return sum(values.values()) / float(len(values)) if values else float("nan")


def budget_markdown(rows, finals, title, confidence=CONFIDENCE):
    """budget.md's text: per log, the budget the rule picks per variant and its measurement."""
    pct = int(round(confidence * 100))
    lines = ["# %s" % title, "",
             "The rule (irecgan.report.budget, docs/RESULTS.md), on irecgan_true only%s: the "
             "smallest budget E (a multiple of %d adversarial epochs, E >= %d) at which the "
             "paired-by-seed difference of each seed's mean online reward over epochs "
             "(0.8E, E] and over (0.6E, 0.8E] has a %d %% CI containing 0." % (
                 OBJECTIVE_CLAUSE if any(r.get("method", CONTROL) != CONTROL for r in rows)
                 else "", STEP, MIN_BUDGET, pct), ""]
    for log in datasets_in_order([{"dataset": r["log"]} for r in rows] +
                                 [{"dataset": d} for d in finals]):
        lines += ["## %s" % log, ""]
        for label, values in pg_rows(finals, log):
            lines += ["%s (its own budget): final online reward %.3f over %d seeds." % (
                label, _mean_of(dict(enumerate(values))), len(values)), ""]
        mine = [r for r in rows if r["log"] == log]
        if not mine:
            lines += ["No irecgan_true runs: no budget.", ""]
            continue
        lines += ["| variant | budget | verdict | E tested | early (0.6E, 0.8E] | "
                  "late (0.8E, E] | late - early (%d %% CI) | seeds |" % pct,
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in mine:
            t = r["test"]
            if t is None:
                cells = ["-", "-", "-", "-", "0"]
            else:
                cells = [str(t["budget"]), "%.4f" % _mean_of(t["early"]),
                         "%.4f" % _mean_of(t["late"]), fmt_ci(t["ci"], 4),
                         str(len(t["ci"]["seeds"]))]
            lines.append("| %s | %s | %s | %s |" % (
                row_variant(r), r["budget"] if r["budget"] is not None else "-", r["verdict"],
                " | ".join(cells)))
        lines.append("")
    return "\n".join(lines)


def curve_records(curves):
    """budget.csv's rows (CSV_COLUMNS) of `budget_curves`."""
    out = []
    for (log, variant, method), points in curves.items():
        for epoch, ci in points:
            out.append({"log": log, "variant": variant, "method": method, "epoch": epoch,
                        "mean": csv_float(ci["mean"]), "ci_low": csv_float(ci["low"]),
                        "ci_high": csv_float(ci["high"]), "n": ci["n"]})
    return out


def reference_lines(policy_entries, log, logging_name):
    """`[(label, reward)]`: the log's ceiling and bounds (with what they know) and its logging
    policy `logging_name` (`rows.reference_lines`), from irecgan-report's policy rows."""
    rows = dict((e.get("method"), policy_row(e)) for e in policy_entries
                if isinstance(e, dict) and e.get("dataset") == log)
    rows = dict((k, v) for k, v in rows.items() if v["reward"][2])
    labelled = label_rows(list(rows.values()), simulators_of(policy_entries))
    return [("%s: %s%s" % (role, row["method"], ", %s" % row["knows"]
                           if row["knows"] and role != "logging policy" else ""),
             row["reward"][0])
            for role, row in labelled_reference_lines(labelled, log, logging_name)]


def headroom_references(policy_entries, log, logging_name):
    """`(logging policy's reward, ceiling's reward)` of `reference_lines`, or None without
    either."""
    lines = reference_lines(policy_entries, log, logging_name)
    ceiling = [r for label, r in lines if label.startswith("ceiling")]
    logged = [r for label, r in lines if label.startswith("logging policy")]
    return (logged[0], ceiling[0]) if ceiling and logged else None


def run_time_line(runs):
    """The study's cost: the runs' summed wall time (timing.json; one run per core)."""
    times = [as_number(r.wall_time) for r in runs]
    done = [t for t in times if math.isfinite(t)]
    return ("Run time: %d runs, %d with a recorded wall time, %.0f s summed (%.1f core-hours; "
            "each run uses one core)." % (len(times), len(done), sum(done), sum(done) / 3600.0))


def write_preset(out_dir, preset, title):
    """`converged_<log>.cfg` in `out_dir`: the preset's budget flags (irecgan-train's flagfile
    syntax, read after the base preset by run_sim.sh --preset=converged); returns its path."""
    path = os.path.join(out_dir, "converged_%s.cfg" % safe_file_name(preset["log"]))
    s = preset["score"]
    with io.open(path, "w", encoding="utf-8") as handle:
        handle.write("# %s's converged preset (irecgan.report.preset), chosen from irecgan_true's "
                     "budget curves only (%s):\n# variant %s, budget %d adversarial epochs, score "
                     "%.4f [%.4f, %.4f] over %d seeds; the budget knobs only.\n%s\n" % (
                         preset["log"], title, preset["variant"], preset["budget"], s["mean"],
                         s["low"], s["high"], s["n"], "\n".join(preset_flags(preset))))
    return path


def write_budget(out_dir, runs, policy_entries=(), logging=None, title="Budget curves",
                 confidence=CONFIDENCE):
    """Write budget.md, budget.csv and `<log>_budget.png` into `out_dir`; returns (budget.md's
    text, written paths)."""
    logging = logging or {}
    groups = group_curves(runs)
    curves = budget_curves(groups, confidence)
    rows = budget_rows(groups, confidence=confidence)
    finals = pg_finals(runs)
    presets = choose_preset(rows, confidence)
    text = budget_markdown(rows, finals, title, confidence) + "\n"
    if any(r["method"] != CONTROL for r in rows):   # agent objectives: each at its own budget
        text += "\n".join(at_budget_markdown(at_budget_rows(groups, rows, confidence), dict(
            (log, headroom_references(policy_entries, log, logging.get(log)))
            for log in set(r["log"] for r in rows)), confidence)) + "\n"
    text += preset_markdown(presets, confidence) + "\n" + run_time_line(runs) + "\n"
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        path = os.path.join(out_dir, "budget.md")
        with io.open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        written = [path, os.path.join(out_dir, "budget.csv")]
        write_records(written[1], CSV_COLUMNS, curve_records(curves))
        for log, preset in presets.items():
            if preset is not None:
                written.append(write_preset(out_dir, preset, title))
        for log in datasets_in_order([{"dataset": k[0]} for k in curves]):
            mine = collections.OrderedDict((k[1:], v) for k, v in curves.items()
                                           if k[0] == log and k[1] != PG)
            if not mine:
                continue
            lines = reference_lines(policy_entries, log, logging.get(log))
            for label, values in pg_rows(finals, log):
                lines.append(("%s, final (%d seeds)" % (label, len(values)),
                              _mean_of(dict(enumerate(values)))))
            path = os.path.join(out_dir, safe_file_name(log) + "_budget.png")
            plot_budget(path, log, mine, lines, [r for r in rows if r["log"] == log])
            written.append(path)
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    return text, written
