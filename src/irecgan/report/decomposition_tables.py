"""The text of the decomposition report's files (report.decomposition decides what they hold):
table.md / table.csv, one row per log and method against the log's ceiling and logging policy,
and gaps.md / gaps.csv, the gaps with their confidence intervals and the largest gap per log.
Pure functions. No TensorFlow, no absl."""
import math

from irecgan.report.budget import seed_curve
from irecgan.report.rows import ceiling_note, heldout_d, knows_notes, method_rank
from irecgan.report.stats import CONFIDENCE, get_nested, mean_ci
from irecgan.report.tables import (csv_float, dash, evidence, fmt_ci, fmt_seconds, fmt_seeds,
                                   fmt_stat, md_table)

TABLE_COLUMNS = ("log", "method", "seeds", "online reward", "headroom captured (%)",
                 "test P@1 (%)", "U P@1 (%), given a click: model / truth",
                 "U log-lik / step, given a click: model / truth",
                 "D held-out acc (last)", "D held-out AUC (last)", "wall time / run")


def _pair(a, b, digits, total):
    if not a[2] and not b[2]:
        return "-"
    return "%s / %s" % (dash(fmt_stat(a, digits, total)), dash(fmt_stat(b, digits, total)))


def table_cells(row):
    """The cells of one row of table.md (TABLE_COLUMNS); "-" where a row has no such figure."""
    total = row["n"] if row["kind"] == "run" else None
    run = row["kind"] == "run"
    return [row["dataset"], row["method"], fmt_seeds(row),
            dash(fmt_stat(row["reward"], 3, total)), dash(fmt_stat(row["headroom"], 1, total)),
            dash(fmt_stat(row["P@1"], 2, total)) if run else "-",
            _pair(row["user_P@1_click"], row["true_P@1_click"], 2, total) if run else "-",
            _pair(row["user_ll_click"], row["true_ll_click"], 3, total) if run else "-",
            dash(fmt_stat(row.get("d_heldout_last", (0, 0, 0)), 3, total)),
            dash(fmt_stat(row.get("d_auc_last", (0, 0, 0)), 3, total)),
            fmt_seconds(row["wall_time"]) or "-"]


def _gap_n(g):
    if g["missing"] is not None:
        return "-"
    if g["kind"] == "paired":
        return "%d paired seeds" % g["ci"]["n"]
    return "Welch, df %.1f" % g["ci"]["df"] if math.isfinite(g["ci"]["df"]) else "Welch"


def largest_text(finding, confidence=CONFIDENCE):
    """The line naming a log's largest gap, its interval, and whether intervals overlap, from
    one `decomposition.largest_by_log` finding."""
    dataset, top, overlap = finding["dataset"], finding["top"], finding["overlap"]
    if top is None:
        return "* %s: no gap computed." % dataset
    share = (" (%s %% of the headroom)" % fmt_ci(top["headroom"], 1)
             if top["headroom"] else "")
    text = "* %s: the largest gap is (%s) %s = %s%s" % (
        dataset, top["gap"], top["label"], fmt_ci(top["ci"]), share)
    if overlap:
        text += ("; its %g %% CI of the gap's size overlaps that of %s, so which is largest is "
                 "not established" % (100 * confidence,
                                      ", ".join("(%s) %s" % (g["gap"], g["label"])
                                                for g in overlap)))
    else:
        text += "; its %g %% CI of the gap's size overlaps no other gap's" % (100 * confidence)
    if finding["missing"]:
        text += " (not computed: %s)" % "; ".join("(%s) %s: %s" % (g["gap"], g["label"],
                                                                    g["missing"])
                                                  for g in finding["missing"])
    return text + "."


GAP_COLUMNS = ("log", "gap", "difference", "meaning", "n", "mean [95 % CI]",
               "% of headroom [95 % CI]", "CI excludes 0")


def versus(d):
    """A difference's interval, ": no evidence" added when it holds 0; "-" for None."""
    if d is None:
        return "-"
    return fmt_ci(d) + (": no evidence" if evidence(d) == "no evidence" else "")


def value_lines(values, confidence=CONFIDENCE):
    """gaps.md's section on U's error on the agent's own lists (`decomposition.value_rows`)."""
    pct = "%g %%" % (100 * confidence)

    def pair(user, truth):
        return "-" if not math.isfinite(user) else "%.3f / %.3f" % (user, truth)

    cells = [[v["dataset"], v["method"], str(v["n"]),
              pair(v["clicks_user"], v["clicks_truth"]), fmt_ci(v["clicks_ci"]),
              versus(v["clicks_vs_nod"]), pair(v["ll_user"], v["ll_truth"]),
              fmt_ci(v["ll_ci"]), versus(v["ll_vs_nod"])] for v in values]
    return ["", "U's error on the agent's own lists (model_value.json, `irecgan-evaluate "
            "--model_value`): the run's final agent's sampled lists answered by U and by the "
            "true simulator (the online evaluation's number of sessions in each, at the "
            "adversarial phase's length cap): clicks per session after the start click, and "
            "U's next-click log-likelihood per step given a click on the simulator's sessions "
            "of those lists beside the truth's (irecgan.evaluation.user_fit); means over "
            "seeds, U - truth with its %s CI over seeds, and its change against "
            "irecgan_nod's (trained with the same agent objective: irecgan_nod@X for a "
            "method@X or method@X+no_q_d), paired by seed (a D head that corrects U moves "
            "U - truth toward 0)." % pct, ""] + md_table(
        ("log", "method", "seeds", "clicks: U / truth", "U - truth [%s CI]" % pct,
         "change vs irecgan_nod [%s CI]" % pct, "LL / step given a click: U / truth",
         "U - truth [%s CI]" % pct, "change vs irecgan_nod [%s CI]" % pct), cells)


def gain_lines(gains, confidence=CONFIDENCE):
    """gaps.md's section on what the adversarial phase adds (`decomposition.gain_rows`)."""
    pct = "%g %%" % (100 * confidence)
    cells = [[g["dataset"], g["method"], str(g["n"]), "%.3f" % g["start"], "%.3f" % g["end"],
              versus(g["gain"]), versus(g["vs_true"])]
             for g in gains]
    return ["", "What the adversarial phase adds: each run's online reward at the phase's end "
            "(its last evaluation, the reported one) minus at its start (the last evaluation of "
            "the agent's pretraining), paired by seed, with its %s CI; and that gain minus the "
            "gain of irecgan_true (the true simulator answering the agent's lists; trained with "
            "the same agent objective: irecgan_true@X for a method@X or method@X+no_q_d), "
            "paired by seed." % pct,
            ""] + md_table(("log", "method", "seeds", "start", "end",
                            "end - start [%s CI]" % pct,
                            "- irecgan_true's gain [%s CI]" % pct), cells)


def gaps_markdown(gaps, findings, title, confidence=CONFIDENCE, values=(), gains=()):
    """The text of gaps.md: the gap rows (`decomposition.gap_table`), the largest gap per log
    (`findings`: `decomposition.largest_by_log`), U's error on the agent's own lists when runs
    have it (`values`: `decomposition.value_rows`), what the adversarial phase adds (`gains`:
    `decomposition.gain_rows`) and the notes."""
    header = list(GAP_COLUMNS)
    pct = "%g %%" % (100 * confidence)
    header[5] = "mean [%s CI]" % pct
    header[6] = "% of headroom [" + pct + " CI]"
    cells = []
    for g in gaps:
        flag = {True: "yes", False: "no", None: "-"}[g["excludes_zero"]]
        cells.append([g["dataset"], "(%s)" % g["gap"], g["label"], g["meaning"], _gap_n(g),
                      fmt_ci(g["ci"]) if g["missing"] is None else "- (%s)" % g["missing"],
                      fmt_ci(g["headroom"], 1) if g["headroom"] else "-", flag])
    lines = ["# %s: the gaps" % title, ""] + md_table(header, cells) + ["", "Largest gap per log "
             "((a), (b), (c); by |mean|):", ""]
    for finding in findings:
        lines.append(largest_text(finding, confidence))
    if values:
        lines += value_lines(values, confidence)
    if gains:
        lines += gain_lines(gains, confidence)
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


def table_markdown(rows, title, headroom):
    """The text of the decomposition's table.md: `rows` (`table_cells`), the notes, and
    `headroom` (`rows.add_headroom`'s (done, skipped))."""
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
                     "`%s` (%s)." % (dataset, low, high, low, name, ceiling,
                                     ceiling_note(rows, dataset, ceiling)))
    lines += knows_notes(rows)
    for dataset, reason in skipped.items():
        lines.append("* %s: no headroom: %s." % (dataset, reason))
    for r in rows:
        for note in r["notes"]:
            lines.append("* %s / %s: %s." % (r["dataset"], r["method"], note))
    return "\n".join(lines) + "\n"


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
# seeds.csv: one record per finished run, so that a later report (or a scratch computation)
# can pair by seed with these runs after their folders are gone (log, method and seed name a
# run); SEED_RESULTS: (column, results.json key path), SEED_VALUE: (column, model_value.json
# key path), from VALUE_FIGURES
SEED_CSV = ["log", "method", "seed", "online_reward", "adversarial_start_reward", "test_P@1",
            "user_ll_click", "truth_ll_click", "d_heldout_auc_last", "value_clicks_user",
            "value_clicks_truth", "value_ll_user", "value_ll_truth", "wall_time_s",
            "cpu_fingerprint", "stack"]
SEED_RESULTS = (("online_reward", ("online", "reward_mean")),
                ("test_P@1", ("offline", "test", "P@1")))
# model_value.json's figures: (name, U's key path, the truth's key path)
VALUE_FIGURES = (("clicks", ("user", "clicks"), ("truth", "clicks")),
                 ("ll", ("fit", "ll_click"), ("fit", "truth", "ll_click")))
SEED_VALUE = tuple(pair for name, user, truth in VALUE_FIGURES
                   for pair in (("value_%s_user" % name, user), ("value_%s_truth" % name, truth)))
GAP_CSV = ["log", "gap", "difference", "kind", "n", "df", "mean", "ci_low", "ci_high",
           "headroom_pct_mean", "headroom_pct_ci_low", "headroom_pct_ci_high", "ci_excludes_0",
           "confidence", "seeds", "missing"]


def table_records(rows, confidence=CONFIDENCE):
    """The records of the decomposition's table.csv (TABLE_CSV), with each row's `confidence`
    t interval of the online reward over seeds."""
    out = []
    for r in rows:
        ci = mean_ci(r["reward_values"], confidence)
        rec = {"log": r["dataset"], "method": r["method"],
               "source": "run" if r["kind"] == "run" else "simulator policy",
               "n_seeds": r["n"], "seeds": " ".join(str(s) for s in r["seeds"]),
               "online_reward_ci_low": csv_float(ci["low"]),
               "online_reward_ci_high": csv_float(ci["high"]),
               "wall_time_s_mean": csv_float(r["wall_time"][0]), "note": "; ".join(r["notes"])}
        for col, key in ROW_KEYS:
            m, s, n = r.get(key, (float("nan"), float("nan"), 0))
            rec.update({col + "_mean": csv_float(m), col + "_std": csv_float(s),
                        col + "_n": n})
        out.append(rec)
    return out


def gap_records(gaps, confidence=CONFIDENCE):
    """The records of gaps.csv (GAP_CSV), one per gap row."""
    out = []
    for g in gaps:
        ci, pct = g["ci"], g["headroom"] or {}
        out.append({"log": g["dataset"], "gap": g["gap"], "difference": g["label"],
                    "kind": g["kind"], "n": ci["n"], "df": csv_float(ci["df"]),
                    "mean": csv_float(ci["mean"]), "ci_low": csv_float(ci["low"]),
                    "ci_high": csv_float(ci["high"]),
                    "headroom_pct_mean": csv_float(pct.get("mean")),
                    "headroom_pct_ci_low": csv_float(pct.get("low")),
                    "headroom_pct_ci_high": csv_float(pct.get("high")),
                    "ci_excludes_0": {True: "yes", False: "no", None: ""}[g["excludes_zero"]],
                    "confidence": confidence,
                    "seeds": " ".join(str(s) for s in ci.get("seeds", [])),
                    "missing": g["missing"] or ""})
    return out


def seed_records(runs, datasets):
    """The records of seeds.csv (SEED_CSV): each finished run of `datasets`, ordered by log,
    method (as in the tables) and seed; "" where a run has no such figure (no U, no D, no
    model_value.json, made before results.json recorded the machine)."""
    order = dict((d, i) for i, d in enumerate(datasets))
    chosen = [r for r in runs if r.finished and r.dataset in order]
    chosen.sort(key=lambda r: (order[r.dataset], method_rank(r.method), str(r.seed).zfill(9),
                               r.path))
    out = []
    for run in chosen:
        fit = run.user_fit if isinstance(run.user_fit, dict) else {}
        value = run.model_value if isinstance(run.model_value, dict) else {}
        machine = run.machine or ("", "")
        start = seed_curve(run).get(0) if str(run.config.get("method")) != "pg" else None
        rec = {"log": run.dataset, "method": run.method, "seed": run.seed,
               "adversarial_start_reward": csv_float(start),
               "user_ll_click": csv_float(get_nested(fit, "ll_click")),
               "truth_ll_click": csv_float(get_nested(fit, "truth", "ll_click")),
               "d_heldout_auc_last": csv_float(heldout_d(run, "d_heldout_auc", False)),
               "wall_time_s": csv_float(run.wall_time), "cpu_fingerprint": machine[1],
               "stack": machine[0]}   # no folder: a committed file holds no machine's paths
        for column, keys in SEED_RESULTS:
            rec[column] = csv_float(get_nested(run.results, *keys))
        for column, keys in SEED_VALUE:
            rec[column] = csv_float(get_nested(value, *keys))
        out.append(rec)
    return out
