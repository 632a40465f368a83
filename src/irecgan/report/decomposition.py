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

Pure functions (`mean_ci`, `paired_ci`, `welch_ci`, `gap_table`, `largest_gap`) and the files
of `write_decomposition`: table.md / table.csv (one row per log and method), gaps.md / gaps.csv,
and `<log>_decomposition.png`. U's fit (irecgan.evaluation.user_fit, given a click: P@1_click
in %, ll_click per step; the truth's beside it) comes from `rows.add_user_fit` (results.json
["user_fit"] or RUN/user_fit.json). No TensorFlow, no absl.
"""
import collections
import csv
import io
import math
import os

import numpy as np

from irecgan.errors import UserError
from irecgan.report.rows import (CEILINGS, _method_rank, add_headroom, aggregate_rows,
                                 reference_rows)
from irecgan.report.stats import _get, _number, mean_std
from irecgan.report.tables import fmt_seconds, fmt_seeds, fmt_stat, md_table

CONFIDENCE = 0.95
CEILING = "ceiling"  # the ceiling policy row of a log, in GAPS
USER_METHODS = ("irecgan_nod", "irecgan")  # config methods with a user model U
# (irecgan_true has none: the true simulator answers its agent)

# (name, minuend, subtrahend): the differences of gaps.md, in this order
GAPS = (("a", CEILING, "irecgan_true"),
        ("b", "irecgan_true", "irecgan_nod"),
        ("c", "irecgan", "irecgan_nod"),
        ("c", "irecgan_seq", "irecgan_nod"),
        ("a+b", CEILING, "irecgan_nod"),
        ("w", "irecgan_true_r01", "irecgan_true"))
CONTEXT_GAPS = ("a+b", "w")  # context lines, not one of the three gaps ranked by largest_gap
GAP_MEANING = {"a": "what the agent cannot find in the true world",
               "b": "what U's error costs", "c": "what D buys",
               "a+b": "the whole gap of model-based training without D",
               "w": "what training mostly on true-world sessions buys (10 : 1 instead of 1 : 10)"}


def _finite(values):
    vals = np.array([_number(v) for v in values], dtype=np.float64)
    return vals[np.isfinite(vals)]


def t_quantile(df, confidence=CONFIDENCE):
    """The two-sided Student t quantile t_{1 - alpha/2, df} (scipy.stats.t)."""
    from scipy import stats
    return float(stats.t.ppf(0.5 + confidence / 2.0, df))


def _interval(mean, half, n, df, sd=float("nan")):
    return {"mean": mean, "low": mean - half, "high": mean + half, "half": half, "n": n,
            "df": df, "sd": sd}


NO_CI = _interval(float("nan"), float("nan"), 0, float("nan"))


def mean_ci(values, confidence=CONFIDENCE):
    """One-sample t interval of the finite `values`: mean +- t_{n-1} * sd / sqrt(n) (sd with
    n - 1); half-width NaN when n < 2."""
    vals = _finite(values)
    n = int(vals.size)
    if n == 0:
        return dict(NO_CI)
    mean = float(vals.mean())
    if n < 2:
        return _interval(mean, float("nan"), n, float("nan"))
    sd = float(vals.std(ddof=1))
    return _interval(mean, t_quantile(n - 1, confidence) * sd / math.sqrt(n), n, n - 1, sd)


def paired_ci(a, b, confidence=CONFIDENCE):
    """a - b paired by seed: `a`, `b` map seed -> value; the seeds with a finite value in both
    give d_s = a_s - b_s and `mean_ci(d)`, with "seeds" (sorted) added."""
    seeds = sorted((s for s in a if s in b and math.isfinite(_number(a[s]))
                    and math.isfinite(_number(b[s]))), key=lambda s: (_number(s), str(s)))
    out = mean_ci([_number(a[s]) - _number(b[s]) for s in seeds], confidence)
    out["seeds"] = seeds
    return out


def welch_ci(a, b, confidence=CONFIDENCE):
    """mean(a) - mean(b) of two independent samples with Welch's interval: se = sqrt(va / na +
    vb / nb), df = se^4 / ((va / na)^2 / (na - 1) + (vb / nb)^2 / (nb - 1)) (sample variances);
    half-width NaN when either sample has fewer than 2 values, 0 when both have no spread."""
    va_, vb_ = _finite(a), _finite(b)
    na, nb = int(va_.size), int(vb_.size)
    if na == 0 or nb == 0:
        return dict(NO_CI)
    mean = float(va_.mean() - vb_.mean())
    if na < 2 or nb < 2:
        return _interval(mean, float("nan"), min(na, nb), float("nan"))
    qa, qb = float(va_.var(ddof=1)) / na, float(vb_.var(ddof=1)) / nb
    se = math.sqrt(qa + qb)
    if se == 0.0:
        return _interval(mean, 0.0, min(na, nb), float(na + nb - 2))
    df = (qa + qb) ** 2 / (qa ** 2 / (na - 1) + qb ** 2 / (nb - 1))
    return _interval(mean, t_quantile(df, confidence) * se, min(na, nb), df)


def excludes_zero(ci):
    """True when the interval lies wholly above or below 0; None when it is not known."""
    if not (math.isfinite(ci["low"]) and math.isfinite(ci["high"])):
        return None
    return ci["low"] > 0.0 or ci["high"] < 0.0


def gap_label(minuend, subtrahend, ceiling_name=None):
    def name(m):
        return "ceiling (%s)" % ceiling_name if m == CEILING and ceiling_name else m
    return "%s - %s" % (name(minuend), name(subtrahend))


def gap_table(dataset, rewards, ceiling=None, logging=None, confidence=CONFIDENCE):
    """The gaps of one log (GAPS, in order). `rewards`: method -> {seed: online reward};
    `ceiling`, `logging`: (name, [reward per simulator seed]) or None. Each gap is a dict:
    dataset, gap, label, meaning, kind ("paired" | "welch"), ci (see `mean_ci`), headroom (the
    ci in % of C - L, or None), excludes_zero, missing (why it was not computed, or None)."""
    span = None
    if ceiling is not None and logging is not None:
        c_mean, l_mean = mean_std(ceiling[1])[0], mean_std(logging[1])[0]
        if math.isfinite(c_mean) and math.isfinite(l_mean) and c_mean > l_mean:
            span = c_mean - l_mean
    out = []
    for gap, minuend, subtrahend in GAPS:
        kind = "welch" if CEILING in (minuend, subtrahend) else "paired"
        row = {"dataset": dataset, "gap": gap,
               "label": gap_label(minuend, subtrahend, ceiling[0] if ceiling else None),
               "meaning": GAP_MEANING[gap], "kind": kind, "ci": dict(NO_CI), "headroom": None,
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
                row["headroom"] = dict((k, (100.0 * row["ci"][k] / span
                                            if k in ("mean", "low", "high", "half") else v))
                                       for k, v in row["ci"].items())
        out.append(row)
    return out


def _magnitude(ci):
    """The interval of |x| for x in [low, high] (|mean| +- 0 when the interval is unknown)."""
    low, high = ci["low"], ci["high"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return abs(ci["mean"]), abs(ci["mean"])
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


def largest_gap(gaps):
    """`(largest, overlapping)`: among the computed gaps (a), (b), (c) (not CONTEXT_GAPS), the one of
    largest |mean| and those whose interval of |gap| overlaps its interval of |gap| (so the
    ranking is not established at this confidence); (None, []) when none was computed."""
    done = [g for g in gaps if g["gap"] not in CONTEXT_GAPS and g["missing"] is None]
    if not done:
        return None, []
    top = max(done, key=lambda g: abs(g["ci"]["mean"]))
    low, high = _magnitude(top["ci"])
    overlap = []
    for g in done:
        if g is top:
            continue
        g_low, g_high = _magnitude(g["ci"])
        if g_low <= high and low <= g_high:
            overlap.append(g)
    return top, overlap


# -- the table ------------------------------------------------------------------------------

def needs_user_fit(run):
    """A finished run of a method with a user model (USER_METHODS) without its fit
    (`Run.user_fit`: results.json["user_fit"] or RUN/user_fit.json)."""
    return (run.finished and str(run.config.get("method")) in USER_METHODS
            and run.user_fit is None)


def rewards_by_method(runs, dataset):
    """method -> {seed: online reward} of the finished runs of `dataset`; a seed twice in one
    method is a `UserError` (pairing needs one run per seed)."""
    out = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: _method_rank(r.method)):
        if not run.finished or run.dataset != dataset:
            continue
        seeds = out.setdefault(run.method, collections.OrderedDict())
        if run.seed in seeds:
            raise UserError("%s / %s has seed %s twice (%s): pairing by seed needs one run "
                            "per seed" % (dataset, run.method, run.seed, run.path))
        seeds[run.seed] = _get(run.results, "online", "reward_mean")
    return out


def decomposition(runs, policy_entries, logging, datasets=None, confidence=CONFIDENCE):
    """`(rows, gaps, headroom)` of the report: the table rows (`rows.aggregate_rows` of the runs
    and of each log's ceiling and logging-policy rows, with the headroom column and U's fit
    from `rows.add_user_fit`), the gap rows of every log (`gap_table`), and `rows.add_headroom`'s (done, skipped).
    `logging`: log -> the name of its logging policy's row; `datasets`: the logs (default:
    those of the runs)."""
    if datasets is None:
        datasets = sorted(set(r.dataset for r in runs))
    datasets = list(datasets)
    runs = [r for r in runs if r.dataset in datasets]
    keep = [e for e in policy_entries if isinstance(e, dict) and e.get("dataset") in datasets
            and (e.get("method") in CEILINGS or e.get("method") == logging.get(e["dataset"]))]
    rows = aggregate_rows(runs, keep)
    headroom = add_headroom(rows, logging)
    gaps = []
    for dataset in datasets:
        ceiling, logged = reference_rows(rows, dataset, logging.get(dataset))
        ref = [(r["method"], r["reward_values"]) if r is not None else None
               for r in (ceiling, logged)]
        gaps += gap_table(dataset, rewards_by_method(runs, dataset), ref[0], ref[1],
                          confidence)
    return rows, gaps, headroom


TABLE_COLUMNS = ("log", "method", "seeds", "online reward", "headroom captured (%)",
                 "test P@1 (%)", "U P@1 (%), given a click: model / truth",
                 "U log-lik / step, given a click: model / truth",
                 "D held-out acc (last)", "D held-out AUC (last)", "wall time / run")


def _pair(a, b, digits, total):
    if not a[2] and not b[2]:
        return "-"
    return "%s / %s" % (_dash(fmt_stat(a, digits, total)), _dash(fmt_stat(b, digits, total)))


def _dash(text):
    return "-" if text == "n/a" else text


def table_cells(row):
    total = row["n"] if row["kind"] == "run" else None
    run = row["kind"] == "run"
    return [row["dataset"], row["method"], fmt_seeds(row),
            _dash(fmt_stat(row["reward"], 3, total)), _dash(fmt_stat(row["headroom"], 1, total)),
            _dash(fmt_stat(row["P@1"], 2, total)) if run else "-",
            _pair(row["user_P@1_click"], row["true_P@1_click"], 2, total) if run else "-",
            _pair(row["user_ll_click"], row["true_ll_click"], 3, total) if run else "-",
            _dash(fmt_stat(row.get("d_heldout_last", (0, 0, 0)), 3, total)),
            _dash(fmt_stat(row.get("d_auc_last", (0, 0, 0)), 3, total)),
            fmt_seconds(row["wall_time"]) or "-"]


def _fmt_ci(ci, digits=3):
    if not math.isfinite(ci["mean"]):
        return "-"
    if not math.isfinite(ci["half"]):
        return "%.*f [n/a]" % (digits, ci["mean"])
    return "%.*f [%.*f, %.*f]" % (digits, ci["mean"], digits, ci["low"], digits, ci["high"])


def _gap_n(g):
    if g["missing"] is not None:
        return "-"
    if g["kind"] == "paired":
        return "%d paired seeds" % g["ci"]["n"]
    return "Welch, df %.1f" % g["ci"]["df"] if math.isfinite(g["ci"]["df"]) else "Welch"


def largest_text(dataset, gaps, confidence=CONFIDENCE):
    """The line naming a log's largest gap, its interval, and whether intervals overlap."""
    top, overlap = largest_gap(gaps)
    if top is None:
        return "* %s: no gap computed." % dataset
    share = (" (%s %% of the headroom)" % _fmt_ci(top["headroom"], 1)
             if top["headroom"] else "")
    text = "* %s: the largest gap is (%s) %s = %s%s" % (
        dataset, top["gap"], top["label"], _fmt_ci(top["ci"]), share)
    if overlap:
        text += ("; its %g %% CI of the gap's size overlaps that of %s, so which is largest is "
                 "not established" % (100 * confidence,
                                      ", ".join("(%s) %s" % (g["gap"], g["label"])
                                                for g in overlap)))
    else:
        text += "; its %g %% CI of the gap's size overlaps no other gap's" % (100 * confidence)
    missing = [g for g in gaps if g["missing"] is not None and g["gap"] not in CONTEXT_GAPS]
    if missing:
        text += " (not computed: %s)" % "; ".join("(%s) %s: %s" % (g["gap"], g["label"],
                                                                    g["missing"])
                                                  for g in missing)
    return text + "."


GAP_COLUMNS = ("log", "gap", "difference", "meaning", "n", "mean [95 % CI]",
               "% of headroom [95 % CI]", "CI excludes 0")


def gaps_markdown(gaps, title, confidence=CONFIDENCE):
    header = list(GAP_COLUMNS)
    pct = "%g %%" % (100 * confidence)
    header[5] = "mean [%s CI]" % pct
    header[6] = "% of headroom [" + pct + " CI]"
    cells = []
    for g in gaps:
        flag = {True: "yes", False: "no", None: "-"}[g["excludes_zero"]]
        cells.append([g["dataset"], "(%s)" % g["gap"], g["label"], g["meaning"], _gap_n(g),
                      _fmt_ci(g["ci"]) if g["missing"] is None else "- (%s)" % g["missing"],
                      _fmt_ci(g["headroom"], 1) if g["headroom"] else "-", flag])
    lines = ["# %s: the gaps" % title, ""] + md_table(header, cells) + ["", "Largest gap per log "
             "((a), (b), (c); by |mean|):", ""]
    for dataset in _datasets(gaps):
        lines.append(largest_text(dataset, [g for g in gaps if g["dataset"] == dataset],
                                  confidence))
    lines += ["", "Notes:", "",
              "* Online reward per session against the true simulator. (a) + (b) = ceiling - "
              "irecgan_nod, the last line of each log.",
              "* Differences of two methods are paired by seed (the runs of one seed share "
              "their split): mean of d_s = a_s - b_s +- t_{0.975, n-1} * sd(d) / sqrt(n) "
              "(scipy.stats.t; n = the seeds with both). Differences against the ceiling (a "
              "policy row over simulator seeds, independent of the training seeds) use "
              "Welch's interval (Welch-Satterthwaite df).",
              "* % of headroom: the gap over C - L (the ceiling's and the logging policy's "
              "mean rewards, taken as constants).",
              "* The largest gap compares the intervals of the gaps' sizes |gap|; "
              "\"overlaps\" means the ranking is not established at this confidence."]
    return "\n".join(lines) + "\n"


def _datasets(items):
    out = []
    for item in items:
        if item["dataset"] not in out:
            out.append(item["dataset"])
    return out


def table_markdown(rows, gaps, title, headroom):
    lines = ["# %s" % title, ""] + md_table(TABLE_COLUMNS, [table_cells(r) for r in rows])
    lines += ["", "Notes:", "",
              "* Every cell is the mean +- sample standard deviation over seeds (policy rows: "
              "over simulator seeds). Online reward: per session against the true simulator. "
              "Headroom captured: 0 % = the logging policy, 100 % = the ceiling, per seed.",
              "* U P@1 / log-lik, given a click: the user model's next-click prediction on the "
              "test split among the shown items (irecgan.user_fit: results.json[\"user_fit\"] "
              "or user_fit.json), next to the true user's on the same steps (MDP: the Bayes "
              "filter; neural: the oracle; RecSim: an empirical click-through model, not the "
              "true user); '-' where no fit was made or the method has no U.",
              "* D held-out acc / AUC: the discriminator on validation vs freshly generated "
              "sessions at the last adversarial epoch (irecgan: the authors' head; "
              "irecgan_seq: the sequence head).",
              "* The gaps with their confidence intervals are in gaps.md."]
    done, skipped = headroom
    for dataset, (name, low, ceiling, high) in done.items():
        lines.append("* %s: headroom = (reward - %.3f) / (%.3f - %.3f): `%s` (logging) to "
                     "`%s` (ceiling)." % (dataset, low, high, low, name, ceiling))
    for dataset, reason in skipped.items():
        lines.append("* %s: no headroom: %s." % (dataset, reason))
    for r in rows:
        for note in r["notes"]:
            lines.append("* %s / %s: %s." % (r["dataset"], r["method"], note))
    return "\n".join(lines) + "\n"


def _csv_float(value):
    return "" if value is None or not math.isfinite(_number(value)) else repr(float(value))


TABLE_CSV = ["log", "method", "source", "n_seeds", "seeds"]
for _key in ("online_reward", "headroom_pct", "test_P@1", "user_P@1", "truth_P@1", "user_ll",
             "truth_ll", "d_heldout_acc_last", "d_heldout_auc_last"):
    TABLE_CSV += [_key + "_mean", _key + "_std", _key + "_n"]
TABLE_CSV += ["online_reward_ci_low", "online_reward_ci_high", "wall_time_s_mean", "note"]
ROW_KEYS = (("online_reward", "reward"), ("headroom_pct", "headroom"), ("test_P@1", "P@1"),
            ("user_P@1", "user_P@1_click"), ("truth_P@1", "true_P@1_click"),
            ("user_ll", "user_ll_click"), ("truth_ll", "true_ll_click"),
            ("d_heldout_acc_last", "d_heldout_last"),
            ("d_heldout_auc_last", "d_auc_last"))
GAP_CSV = ["log", "gap", "difference", "kind", "n", "df", "mean", "ci_low", "ci_high",
           "headroom_pct_mean", "headroom_pct_ci_low", "headroom_pct_ci_high", "ci_excludes_0",
           "confidence", "seeds", "missing"]


def table_records(rows, confidence=CONFIDENCE):
    out = []
    for r in rows:
        ci = mean_ci(r["reward_values"], confidence)
        rec = {"log": r["dataset"], "method": r["method"],
               "source": "run" if r["kind"] == "run" else "simulator policy",
               "n_seeds": r["n"], "seeds": " ".join(str(s) for s in r["seeds"]),
               "online_reward_ci_low": _csv_float(ci["low"]),
               "online_reward_ci_high": _csv_float(ci["high"]),
               "wall_time_s_mean": _csv_float(r["wall_time"][0]), "note": "; ".join(r["notes"])}
        for col, key in ROW_KEYS:
            m, s, n = r.get(key, (float("nan"), float("nan"), 0))
            rec.update({col + "_mean": _csv_float(m), col + "_std": _csv_float(s),
                        col + "_n": n})
        out.append(rec)
    return out


def gap_records(gaps, confidence=CONFIDENCE):
    out = []
    for g in gaps:
        ci, pct = g["ci"], g["headroom"] or {}
        out.append({"log": g["dataset"], "gap": g["gap"], "difference": g["label"],
                    "kind": g["kind"], "n": ci["n"], "df": _csv_float(ci["df"]),
                    "mean": _csv_float(ci["mean"]), "ci_low": _csv_float(ci["low"]),
                    "ci_high": _csv_float(ci["high"]),
                    "headroom_pct_mean": _csv_float(pct.get("mean")),
                    "headroom_pct_ci_low": _csv_float(pct.get("low")),
                    "headroom_pct_ci_high": _csv_float(pct.get("high")),
                    "ci_excludes_0": {True: "yes", False: "no", None: ""}[g["excludes_zero"]],
                    "confidence": confidence,
                    "seeds": " ".join(str(s) for s in ci.get("seeds", [])),
                    "missing": g["missing"] or ""})
    return out


def _write_csv(path, columns, records):
    with io.open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for rec in records:
            writer.writerow(rec)


# -- the plot -------------------------------------------------------------------------------

def reward_bars_figure(dataset, rows, logging=None, confidence=CONFIDENCE):
    """Bars of the online reward per method (run rows of `dataset`) with `confidence` t
    intervals over seeds as error bars; the ceiling and the logging policy as labelled
    horizontal lines. None when no run row has a reward; the caller closes it."""
    from irecgan.report.plots import _pyplot, draw_reference_lines, method_color
    runs = [r for r in rows if r["dataset"] == dataset and r["kind"] == "run"
            and r["reward"][2]]
    if not runs:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        cis = [mean_ci(r["reward_values"], confidence) for r in runs]
        errors = [c["half"] if math.isfinite(c["half"]) else 0.0 for c in cis]
        xs = np.arange(len(runs))
        ax.bar(xs, [c["mean"] for c in cis], yerr=errors, capsize=4,
               color=[method_color(r["method"]) for r in runs], alpha=0.8)
        ax.set_xticks(xs)
        ax.set_xticklabels(["%s\n(n=%d)" % (r["method"], c["n"]) for r, c in zip(runs, cis)],
                           fontsize=8)
        draw_reference_lines(ax, [r for r in rows if r["dataset"] == dataset], dataset,
                             logging)
        ax.set_ylabel("online reward per session (mean, %g %% CI)" % (100 * confidence))
        ax.set_title("%s: online reward per method" % dataset)
        ax.grid(True, axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
    except Exception:
        plt.close(fig)
        raise
    return fig


# -- all files ------------------------------------------------------------------------------

def _safe_name(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "_"


def write_decomposition(out_dir, runs, policy_entries, logging, datasets=None,
                        title="Decomposition of the headroom gap", confidence=CONFIDENCE):
    """Write table.md, table.csv, gaps.md, gaps.csv and `<log>_decomposition.png` into
    `out_dir`; returns (gaps.md's text, written paths)."""
    from irecgan.report.plots import _pyplot
    rows, gaps, headroom = decomposition(runs, policy_entries, logging, datasets, confidence)
    if not any(r["kind"] == "run" for r in rows):
        raise UserError("no finished run of %s" % ", ".join(datasets or ["any log"]))
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        written = []
        for name, text in (("table.md", table_markdown(rows, gaps, title, headroom)),
                           ("gaps.md", gaps_markdown(gaps, title, confidence))):
            path = os.path.join(out_dir, name)
            with io.open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
            written.append(path)
        for name, columns, records in (("table.csv", TABLE_CSV, table_records(rows, confidence)),
                                       ("gaps.csv", GAP_CSV, gap_records(gaps, confidence))):
            path = os.path.join(out_dir, name)
            _write_csv(path, columns, records)
            written.append(path)
        for dataset in _datasets(rows):
            fig = reward_bars_figure(dataset, rows, logging.get(dataset), confidence)
            if fig is None:
                continue
            path = os.path.join(out_dir, _safe_name(dataset) + "_decomposition.png")
            try:
                fig.savefig(path, dpi=100)
            finally:
                _pyplot().close(fig)
            written.append(path)
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    return gaps_markdown(gaps, title, confidence), written
