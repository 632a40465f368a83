"""The decomposition of each simulator log's headroom gap (issue 22): how far the model-based
agent stays below the log's ceiling, split into

    (a) ceiling - irecgan_true       what this agent cannot find even in the true world
    (b) irecgan_true - irecgan_nod   what the user model's error costs
    (c) irecgan - irecgan_nod        what the discriminator buys, per D head (irecgan: the
                                     authors' head; irecgan_seq: the sequence head)

with (a) + (b) = ceiling - irecgan_nod, shown as a fourth, context line. Every gap is a mean
with a confidence interval (default 95 %): a difference of two methods is PAIRED by seed (the
runs of one seed share the split and the initial weights' seed): d_s = a_s - b_s, mean d +-
t_{1-alpha/2, n-1} * sd(d) / sqrt(n); a difference against the ceiling (a policy row over
simulator seeds, independent of the training seeds) is a Welch interval. Gaps are also shown in
% of the log's headroom, C - L (ceiling and logging policy: their mean rewards, taken as
constants).

This module decides which gaps, from which rows: pure functions (`gap_table`, `largest_gap`,
`largest_by_log`, `decomposition`) and `write_decomposition`, which writes table.md /
table.csv (one row per log and method), gaps.md / gaps.csv (their text:
`report.decomposition_tables`) and `<log>_decomposition.png` (`plots.plot_reward_bars`). The
intervals are `stats.paired_ci` and `stats.welch_ci`. U's fit (irecgan.evaluation.user_fit,
given a click: P@1_click in %, ll_click per step; the truth's beside it) comes from
`rows.add_user_fit` (results.json["user_fit"] or RUN/user_fit.json). gaps.md's further
sections: U's error on the agent's own lists (`value_rows`, from model_value.json) and what the
adversarial phase adds (`gain_rows`, from metrics.jsonl). No TensorFlow, no absl.
"""
import collections
import io
import math
import os

from irecgan.errors import UserError
from irecgan.report.budget import seed_curve
from irecgan.report.decomposition_tables import (GAP_CSV, SEED_CSV, TABLE_CSV, VALUE_FIGURES,
                                                 gap_records, gaps_markdown, seed_records,
                                                 table_markdown, table_records)
from irecgan.report.plots import plot_reward_bars, safe_file_name
from irecgan.report.runs import split_label
from irecgan.report.rows import (add_headroom, aggregate_rows, datasets_in_order, method_rank,
                                 policy_label, reference_rows, simulators_of)
from irecgan.report.stats import (CONFIDENCE, NO_CI, as_number, excludes_zero, get_nested,
                                   magnitude, mean_ci, mean_std, paired_ci, percent_of, welch_ci)
from irecgan.report.tables import write_records

CEILING = "ceiling"  # the ceiling policy row of a log, in GAPS
USER_METHODS = ("irecgan_nod", "irecgan")  # config methods with a user model U
BASE = "irecgan_nod"   # U without D: what the D heads' U is compared with
# (irecgan_true has none: the true simulator answers its agent)

# (name, minuend, subtrahend): the differences of gaps.md, in this order
GAPS = (("a", CEILING, "irecgan_true"),
        ("b", "irecgan_true", "irecgan_nod"),
        ("c", "irecgan", "irecgan_nod"),
        ("c", "irecgan_seq", "irecgan_nod"),
        ("a+b", CEILING, "irecgan_nod"),
        ("w", "irecgan_true_r01", "irecgan_true"))
GAP_MEANING = {"a": "what the agent cannot find in the true world",
               "b": "what U's error costs", "c": "what D buys",
               "a+b": "the whole gap of model-based training without D",
               "w": "what training mostly on true-world sessions buys (10 : 1 instead of 1 : 10)",
               "o": "what the agent objective buys over the paper's",
               "x": "a difference asked for (--differences)"}
RANKED = ("a", "b", "c")  # the gaps largest_gap ranks (the paper objective's)


def gaps_for(methods):
    """GAPS, then per agent objective X of the method labels (`method@X`, issue 34) the same
    gaps among the methods trained with X (those whose methods all ran) and, per method@X, the
    gap "o@X" = method@X - method (the objective against the paper's, paired by seed)."""
    methods = list(methods)
    out = list(GAPS)
    for objective in sorted(set(split_label(m)[1] for m in methods) - {""}):
        def tag(m):
            return m if m == CEILING else "%s@%s" % (m, objective)
        for gap, minuend, subtrahend in GAPS:
            if all(m == CEILING or tag(m) in methods for m in (minuend, subtrahend)):
                out.append(("%s@%s" % (gap, objective), tag(minuend), tag(subtrahend)))
        for m in methods:
            plain, variant = split_label(m)
            if variant == objective and plain in methods:
                out.append(("o@%s" % objective, m, plain))
    return out


def gap_label(minuend, subtrahend, ceiling_name=None):
    """`"minuend - subtrahend"`, the ceiling named `"ceiling (belief)"` when `ceiling_name`."""
    def name(m):
        return "ceiling (%s)" % ceiling_name if m == CEILING and ceiling_name else m
    return "%s - %s" % (name(minuend), name(subtrahend))


def gap_table(dataset, rewards, ceiling=None, logging=None, confidence=CONFIDENCE,
              differences=()):
    """The gaps of one log (`gaps_for`, in order), then one gap "x" per (minuend, subtrahend)
    of `differences` (method labels, or CEILING). `rewards`: method -> {seed: online reward};
    `ceiling`, `logging`: (name, [reward per simulator seed]) or None. Each gap is a dict:
    dataset, gap, label, meaning, kind ("paired" | "welch"), ci (see `mean_ci`), headroom (the
    ci in % of C - L, or None), excludes_zero, missing (why it was not computed, or None)."""
    span = None
    if ceiling is not None and logging is not None:
        c_mean, l_mean = mean_std(ceiling[1])[0], mean_std(logging[1])[0]
        if math.isfinite(c_mean) and math.isfinite(l_mean) and c_mean > l_mean:
            span = c_mean - l_mean
    out = []
    asked = [("x", minuend, subtrahend) for minuend, subtrahend in differences]
    for gap, minuend, subtrahend in gaps_for(m for m in rewards if rewards[m]) + asked:
        kind = "welch" if CEILING in (minuend, subtrahend) else "paired"
        base, _, objective = gap.partition("@")
        meaning = GAP_MEANING[base] + (" (objective %s)" % objective if objective else "")
        row = {"dataset": dataset, "gap": gap,
               "label": gap_label(minuend, subtrahend, ceiling[0] if ceiling else None),
               "meaning": meaning, "kind": kind, "ci": dict(NO_CI), "headroom": None,
               "excludes_zero": None, "missing": None}
        absent = [m for m in (minuend, subtrahend) if m != CEILING and not rewards.get(m)]
        if minuend == CEILING and ceiling is None:
            absent.insert(0, "a ceiling policy row")
        if absent:
            row["missing"] = "no %s" % " and no ".join(
                a if a.startswith("a ceiling") else "%s runs" % a for a in absent)
        elif kind == "welch":
            row["ci"] = welch_ci(ceiling[1], list(rewards[subtrahend].values()), confidence)
        else:
            row["ci"] = paired_ci(rewards[minuend], rewards[subtrahend], confidence)
            if not row["ci"]["n"]:
                row["missing"] = "no seed with both %s and %s" % (minuend, subtrahend)
        if row["missing"] is None:
            row["excludes_zero"] = excludes_zero(row["ci"])
            if span is not None:
                row["headroom"] = percent_of(row["ci"], span)
        out.append(row)
    return out


def largest_gap(gaps):
    """`(largest, overlapping)`: among the computed gaps (a), (b), (c) (RANKED: the paper
    objective's, not the context lines (a+b), (w) nor another objective's), the
    one of largest |mean| and those whose interval of |gap| overlaps its interval of |gap| (so the
    ranking is not established at this confidence); (None, []) when none was computed."""
    done = [g for g in gaps if g["gap"] in RANKED and g["missing"] is None]
    if not done:
        return None, []
    top = max(done, key=lambda g: abs(g["ci"]["mean"]))
    low, high = magnitude(top["ci"])
    overlap = []
    for g in done:
        if g is top:
            continue
        g_low, g_high = magnitude(g["ci"])
        if g_low <= high and low <= g_high:
            overlap.append(g)
    return top, overlap


def largest_by_log(gaps):
    """Per log of `gaps`, in order, a finding {"dataset", "top", "overlap" (`largest_gap` of
    its gaps), "missing" (its gaps (a), (b), (c) that were not computed)}."""
    out = []
    for dataset in datasets_in_order(gaps):
        mine = [g for g in gaps if g["dataset"] == dataset]
        top, overlap = largest_gap(mine)
        out.append({"dataset": dataset, "top": top, "overlap": overlap,
                    "missing": [g for g in mine if g["missing"] is not None
                                and g["gap"] in RANKED]})
    return out


# -- from the runs --------------------------------------------------------------------------

def needs_user_fit(run):
    """A finished run of a method with a user model (USER_METHODS) without its fit
    (`Run.user_fit`: results.json["user_fit"] or RUN/user_fit.json)."""
    return (run.finished and str(run.config.get("method")) in USER_METHODS
            and run.user_fit is None)


def needs_model_value(run):
    """A finished run with a user model and a simulator (config env_params) without
    model_value.json (`Run.model_value`, `irecgan-evaluate --model_value`)."""
    return (run.finished and str(run.config.get("method")) in USER_METHODS
            and bool(run.config.get("env_params")) and run.model_value is None)


def control_label(control, variant):
    """The label of `control` (irecgan_nod or irecgan_true, methods without D) trained like a
    run of variant `variant`: `control@variant` without the variant's `no_q_d` part (without D
    q_D = 1, so the ablation leaves them unchanged): irecgan_nod@advantage for
    irecgan@advantage+no_q_d, irecgan_nod for irecgan_seq@no_q_d."""
    parts = [p for p in variant.split("+") if p and p != "no_q_d"]
    return control + ("@" + "+".join(parts) if parts else "")


def value_rows(runs, dataset, confidence=CONFIDENCE):
    """U's error on the agent's own lists for `dataset` (model_value.json of each finished run):
    per method with such runs, a dict dataset, method, n, and for each figure F of VALUE_FIGURES
    (clicks per session; U's log-likelihood per step given a click, "ll") F_user / F_truth
    (means over seeds in each world), F_ci (`mean_ci` of U - truth over seeds) and F_vs_nod
    (`paired_ci` of U - truth minus that of irecgan_nod trained with the same agent objective,
    `control_label`: `irecgan_nod@X` for `method@X`, by seed; None for irecgan_nod@X itself or
    without it)."""
    per = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: method_rank(r.method)):
        if run.finished and run.dataset == dataset and isinstance(run.model_value, dict):
            per.setdefault(run.method, collections.OrderedDict())[run.seed] = dict(
                (figure, (as_number(get_nested(run.model_value, *user)),
                          as_number(get_nested(run.model_value, *truth))))
                for figure, user, truth in VALUE_FIGURES)
    out = []
    for method, seeds in per.items():
        row = {"dataset": dataset, "method": method, "n": len(seeds)}
        for figure, _, _ in VALUE_FIGURES:
            pairs = [(s, v[figure]) for s, v in seeds.items()]
            errors = dict((s, u - t) for s, (u, t) in pairs)
            nod = control_label(BASE, split_label(method)[1])   # irecgan_nod[@objective]
            base = (dict((s, v[figure][0] - v[figure][1]) for s, v in per[nod].items())
                    if method != nod and nod in per else None)
            row.update({figure + "_user": mean_ci([u for _, (u, _) in pairs])["mean"],
                        figure + "_truth": mean_ci([t for _, (_, t) in pairs])["mean"],
                        figure + "_ci": mean_ci(list(errors.values()), confidence),
                        figure + "_vs_nod": paired_ci(errors, base, confidence) if base
                        else None})
        out.append(row)
    return out


def gain_rows(runs, dataset, confidence=CONFIDENCE):
    """What the adversarial phase adds, per method of `dataset` that has one (not pg): each
    finished run's online reward at the phase's end (its last adversarial evaluation) minus at
    its start (the last agent-phase evaluation: `budget.seed_curve`'s epoch 0). Per method a
    dict dataset, method, n, start, end (means over seeds), gain (`paired_ci` of end - start
    over seeds) and vs_true (`paired_ci` of the gain minus that of irecgan_true trained with
    the same agent objective, `control_label`: `irecgan_true@X` for `method@X`, by seed; None
    for irecgan_true@X itself or without it)."""
    per = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: method_rank(r.method)):
        if not run.finished or run.dataset != dataset or str(run.config.get("method")) == "pg":
            continue
        curve = seed_curve(run)
        if 0 in curve and len(curve) > 1:
            per.setdefault(run.method, collections.OrderedDict())[run.seed] = (
                curve[0], curve[max(curve)])
    gains = dict((m, dict((s, end - start) for s, (start, end) in seeds.items()))
                 for m, seeds in per.items())
    out = []
    for method, seeds in per.items():
        true = control_label("irecgan_true", split_label(method)[1])
        out.append({"dataset": dataset, "method": method, "n": len(seeds),
                    "start": mean_ci([a for a, _ in seeds.values()])["mean"],
                    "end": mean_ci([b for _, b in seeds.values()])["mean"],
                    "gain": mean_ci(list(gains[method].values()), confidence),
                    "vs_true": paired_ci(gains[method], gains[true], confidence)
                    if method != true and true in gains else None})
    return out


def rewards_by_method(runs, dataset):
    """method -> {seed: online reward} of the finished runs of `dataset`; a seed twice in one
    method is a `UserError` (pairing needs one run per seed)."""
    out = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: method_rank(r.method)):
        if not run.finished or run.dataset != dataset:
            continue
        seeds = out.setdefault(run.method, collections.OrderedDict())
        if run.seed in seeds:
            raise UserError("%s / %s has seed %s twice (%s): pairing by seed needs one run "
                            "per seed" % (dataset, run.method, run.seed, run.path))
        seeds[run.seed] = get_nested(run.results, "online", "reward_mean")
    return out


def decomposition(runs, policy_entries, logging, datasets=None, confidence=CONFIDENCE,
                  differences=()):
    """`(rows, gaps, headroom)` of the report: the table rows (`rows.aggregate_rows` of the runs
    and of each log's ceiling and logging-policy rows, with the headroom column and U's fit
    from `rows.add_user_fit`), the gap rows of every log (`gap_table`), and
    `rows.add_headroom`'s (done, skipped).
    `logging`: log -> the name of its logging policy's row; `datasets`: the logs (default:
    those of the runs); `differences`: further gaps (`gap_table`)."""
    if datasets is None:
        datasets = sorted(set(r.dataset for r in runs))
    datasets = list(datasets)
    runs = [r for r in runs if r.dataset in datasets]
    simulators = simulators_of(policy_entries)   # what the rows know, from all of them
    keep = [e for e in policy_entries if isinstance(e, dict) and e.get("dataset") in datasets
            and (policy_label(simulators, e["dataset"], e.get("method"))[1] is not None
                 or e.get("method") == logging.get(e["dataset"]))]
    rows = aggregate_rows(runs, keep, simulators=simulators)
    headroom = add_headroom(rows, logging)
    gaps = []
    for dataset in datasets:
        ceiling, logged = reference_rows(rows, dataset, logging.get(dataset))
        ref = [(r["method"], r["reward_values"]) if r is not None else None
               for r in (ceiling, logged)]
        gaps += gap_table(dataset, rewards_by_method(runs, dataset), ref[0], ref[1],
                          confidence, differences)
    return rows, gaps, headroom


# -- the files ------------------------------------------------------------------------------

def write_decomposition(out_dir, runs, policy_entries, logging, datasets=None,
                        title="Decomposition of the headroom gap", confidence=CONFIDENCE,
                        differences=()):
    """Write table.md, table.csv, gaps.md, gaps.csv, seeds.csv (each finished run's figures,
    `decomposition_tables.seed_records`) and `<log>_decomposition.png` into `out_dir`; returns
    (gaps.md's text, written paths). `differences`: further gaps (`gap_table`)."""
    rows, gaps, headroom = decomposition(runs, policy_entries, logging, datasets, confidence,
                                         differences)
    if not any(r["kind"] == "run" for r in rows):
        raise UserError("no finished run of %s" % ", ".join(datasets or ["any log"]))
    values = [v for d in datasets_in_order(rows) for v in value_rows(runs, d, confidence)]
    gains = [g for d in datasets_in_order(rows) for g in gain_rows(runs, d, confidence)]
    gaps_text = gaps_markdown(gaps, largest_by_log(gaps), title, confidence, values, gains)
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        written = []
        for name, text in (("table.md", table_markdown(rows, title, headroom)),
                           ("gaps.md", gaps_text)):
            path = os.path.join(out_dir, name)
            with io.open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            written.append(path)
        for name, columns, records in (
                ("table.csv", TABLE_CSV, table_records(rows, confidence)),
                ("gaps.csv", GAP_CSV, gap_records(gaps, confidence)),
                ("seeds.csv", SEED_CSV, seed_records(runs, datasets_in_order(rows)))):
            path = os.path.join(out_dir, name)
            write_records(path, columns, records)
            written.append(path)
        for dataset in datasets_in_order(rows):
            path = os.path.join(out_dir, safe_file_name(dataset) + "_decomposition.png")
            if plot_reward_bars(path, dataset, rows, logging.get(dataset), confidence):
                written.append(path)
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    return gaps_text, written
