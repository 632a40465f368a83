"""Formatting the report's rows: the cells (`fmt_stat`, `fmt_ci`, `dash`, `csv_float`), markdown
tables (`md_table`), the results table with its notes (table.md) and its CSV (table.csv), and
writing CSV files (`write_records`). Pure functions except the writers. No TensorFlow, no absl."""
import csv
import io
import math
import os

from irecgan.report.rows import ceiling_note, knows_notes
from irecgan.report.runs import RESULTS, unfinished_runs
from irecgan.report.stats import as_number, excludes_zero

STD_NOTE = ("mean +- sample standard deviation over seeds (n - 1 denominator); a cell with a "
            "single value shows it alone")


def fmt_stat(stat, digits=2, total=None):
    """`"m +- s"` (`"m"` when a single value, `"n/a"` when none), with `" [n/N]"` when only n of
    the N seeds had a value."""
    mean, std, n = stat
    if n == 0 or not math.isfinite(mean):
        return "n/a"
    if abs(mean) < 0.5 * 10.0 ** -digits:
        mean = 0.0  # no "-0.00"
    text = "%.*f" % (digits, mean)
    if n > 1 and math.isfinite(std):
        text += " +- %.*f" % (digits, std)
    if total is not None and n < total:
        text += " [%d/%d]" % (n, total)
    return text


def evidence(ci):
    """A difference's interval in words: "above" / "below" (it excludes 0), "no evidence" (it
    holds 0), "" (unknown: no half-width)."""
    out = excludes_zero(ci)
    if out is None:
        return ""
    return ("above" if ci["low"] > 0.0 else "below") if out else "no evidence"


def fmt_ci(ci, digits=3):
    """An interval (`stats.mean_ci`) as `"m [low, high]"`, `"m [n/a]"` without a half-width,
    `"-"` without a mean."""
    if not math.isfinite(ci["mean"]):
        return "-"
    if not math.isfinite(ci["half"]):
        return "%.*f [n/a]" % (digits, ci["mean"])
    return "%.*f [%.*f, %.*f]" % (digits, ci["mean"], digits, ci["low"], digits, ci["high"])


def dash(text):
    """`fmt_stat`'s "n/a" as "-" (cells where no value is expected)."""
    return "-" if text == "n/a" else text


def fmt_seconds(stat):
    """A `(mean, std, n)` wall time as "12.3 s", "4.5 min" or "1.25 h"; "" without a value."""
    mean, _, n = stat
    if n == 0 or not math.isfinite(mean):
        return ""
    if mean < 120:
        return "%.1f s" % mean
    if mean < 7200:
        return "%.1f min" % (mean / 60.0)
    return "%.2f h" % (mean / 3600.0)


def fmt_seeds(row):
    """A row's seed count and seeds, e.g. "2 (1, 2)" (policy rows: env seeds or test splits)."""
    if not row["seeds"]:
        return ""
    if row["kind"] == "policy":
        word = (" (test splits of seeds %s)" if row["reward"][2] == 0 and row["P@1"][2]
                else " (env seeds: %s)")
    else:
        word = " (%s)"
    return "%d" % row["n"] + word % ", ".join(str(s) for s in row["seeds"])


MD_COLUMNS = ("dataset", "method", "seeds", "sizes", "test P@1 (%)", "test P@5 (%)",
              "test P@10 (%)", "online reward", "headroom captured (%)",
              "clicks / clicked session, sampled lists", "coverage@10",
              "D held-out acc: pretrain / last", "U test P@1, given a click (%)",
              "U test LL / step, given a click", "wall time / run")


def md_cells(row):
    total = row["n"] if row["kind"] == "run" else None
    p = [fmt_stat(row["P@%d" % k], 2, total) for k in (1, 5, 10)]
    if row["kind"] == "policy":
        p = [dash(c) for c in p]
    return [row["dataset"], row["method"], fmt_seeds(row), row["sizes"] or "-"] + p + [
        dash(fmt_stat(row["reward"], 3, total)), dash(fmt_stat(row["headroom"], 1, total)),
        dash(fmt_stat(row["authors"], 3, total)), dash(fmt_stat(row["coverage@10"], 3, total)),
        _d_cell(row, total), _user_cell(row, "P@1_click", 1, total),
        _user_cell(row, "ll_click", 3, total),
        fmt_seconds(row["wall_time"]) or "-"]


TRUTH_LABELS = {"bayes": "truth", "oracle": "truth", "empirical": "empirical"}


def _user_cell(row, key, digits, total):
    """U's test figure `key` with the truth's mean beside it, `"17.4 +- 0.5 (truth 21.4)"`
    (RecSim: `(empirical ...)`); "-" for rows without a user model."""
    user = row.get("user_" + key, (0, 0, 0))
    if not user[2]:
        return "-"
    text = fmt_stat(user, digits, total)
    truth = row.get("true_" + key, (0, 0, 0))
    if truth[2] and math.isfinite(truth[0]):
        text += " (%s %.*f)" % (TRUTH_LABELS.get(row.get("truth_kind"), "truth"), digits,
                                truth[0])
    return text


def _d_cell(row, total):
    """D's held-out accuracy after pretraining / at the last epoch; "-" for rows without D."""
    pre = row.get("d_heldout_pretrain", (0, 0, 0))
    last = row.get("d_heldout_last", (0, 0, 0))
    if not pre[2] and not last[2]:
        return "-"
    return "%s / %s" % (fmt_stat(pre, 3, total), fmt_stat(last, 3, total))


def _md_escape(text):
    return str(text).replace("|", "\\|")


def md_table(header, rows):
    """The lines of a markdown table of `header` and the cell lists `rows` ("|" escaped)."""
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    for cells in rows:
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return lines


def markdown(rows, runs, title="irecgan results", headroom=None):
    """The text of table.md: the table, its notes, unfinished runs, published figures.
    `headroom`: `rows.add_headroom`'s (done, skipped) pair, for the notes."""
    lines = ["# %s" % title, ""]
    main = [r for r in rows if r["kind"] != "published"]
    if main:
        lines += md_table(MD_COLUMNS, [md_cells(r) for r in main])
    else:
        lines.append("(no finished run)")
    lines += ["", "Notes:", ""]
    lines.append("* Every cell is the %s. `[n/N]`: only n of the N seeds had a value (NaN: "
                 "nothing evaluated); n/a: none had one." % STD_NOTE)
    lines.append("* test P@k in percent, micro-averaged over the evaluated test steps of each "
                 "run (SPEC 7). Online reward: each run's mean cumulative reward per session "
                 "against the true simulator (MDP, RecSim: clicks; neural oracle: purchases), then "
                 "mean +- std over seeds. coverage@10: MDP only. D held-out acc: the "
                 "discriminator's accuracy on validation vs freshly generated sessions (never "
                 "its training batches) after D pretraining / at the last adversarial epoch. "
                 "Wall time: mean per finished run. Averages and learning curves use finished "
                 "runs only.")
    if any(r["kind"] == "policy" for r in main):
        sessions = sorted(set(str(r.get("n_sessions")) for r in main
                              if r["kind"] == "policy" and r.get("n_sessions") is not None))
        lines.append("* Policy rows (simulator policies, no training): the spread is over "
                     "simulator seeds%s." % (" (%s sessions each)" % ", ".join(sessions)
                                              if sessions else ""))
        lines.append("* Ceilings and references (SPEC 6): history-based = sees only what a "
                     "recommender sees (clicks, shown lists, purchases) plus the simulator's "
                     "parameters; state-aware = reads the user's hidden state. `max` (MDP) knows "
                     "the state (top-k by true reward); `belief` (MDP) knows the parameters but "
                     "not the state (Bayes filter over the state from the clicks and shown lists, "
                     "greedy list of highest expected click probability); `imitation` (MDP) is "
                     "the click-imitation bound: the same filter, top-k by posterior click "
                     "weight, what a perfect click imitator shows greedily; `oracle` (neural) "
                     "knows the user's network, whose state is a function of the clicks, and "
                     "shows the items it would buy; `oracle_train` (neural) the same, greedy on "
                     "the agents' training reward 1 + 3 * purchase; `oracle` (RecSim) reads the "
                     "user's interest vector, drawn per session; `posterior` (RecSim) is the "
                     "oracle's slate at the posterior mean interests of a particle filter from "
                     "the start item, slates and clicks. All are greedy (one step ahead). "
                     "`bayes (offline)`: the test P@k of ranking each logged list by the "
                     "posterior click probability (the ceiling of offline P@k on an MDP log), on "
                     "the runs' own test splits.")
        lines.append("* clicks / clicked session, sampled lists: the reference implementation's "
                     "online figure, mean clicks over the sessions with at least one click, "
                     "with the agent's lists drawn from its softmax (Gumbel top-k); policy rows "
                     "use their own lists.")
    if any(r.get("user_P@1_click", (0, 0, 0))[2] for r in main):
        lines.append("* U test P@1 and LL / step, given a click (methods with a user model; '-' "
                     "without): the user model's next-click fit on the test steps (the positions "
                     "offline P@k evaluates), given that a click happened: candidates = the shown "
                     "list, _EOS left out and the probabilities renormalised (irecgan.user_fit). "
                     "P@1 = % of steps whose most probable item is the actual click, LL = mean "
                     "natural log of its probability, at the end of training. In brackets the "
                     "truth's mean on the same steps: `truth` = the MDP's Bayes posterior "
                     "predictive or the neural oracle's own click distribution (the ceiling of "
                     "both figures); `empirical` (RecSim) = a smoothed click-through-rate choice "
                     "model of the training split, NOT the true user. The CSV also has the "
                     "figures over the list + _EOS (user_P@1, user_ll): every test step is one "
                     "where a click happened, so there _EOS mass is never rewarded and the "
                     "truth is not a ceiling.")
    done, skipped = headroom if headroom else ({}, {})
    lines += knows_notes(main)
    for dataset, (name, low, ceiling, high) in done.items():
        lines.append("* %s: headroom captured = (reward - %.3f) / (%.3f - %.3f), in %%: 0 = "
                     "`%s`, the logging policy; 100 = `%s`, %s; per seed, then averaged."
                     % (dataset, low, high, low, name, ceiling,
                        ceiling_note(main, dataset, ceiling)))
    for dataset, reason in skipped.items():
        lines.append("* %s: no headroom column: %s." % (dataset, reason))
    for dataset in sorted(set(r["dataset"] for r in main)):
        share = [r["verbatim"] for r in main if r["dataset"] == dataset and r["verbatim"][2]]
        if share:
            values = [m for m, _, _ in share]
            lines.append("* %s: %.2f %% of the test sessions occur verbatim in the training "
                         "split (clicks, lists and purchases; %s over the runs)."
                         % (dataset, sum(values) / len(values),
                            "%.2f-%.2f %%" % (min(values), max(values))
                            if max(values) > min(values) else "the same for all"))
    sim_p10 = sorted(set(r["dataset"] for r in main if r["kind"] == "run"
                         and r["coverage@10"][2] > 0 and r["P@10"][2] > 0
                         and abs(r["P@10"][0] - 100.0) < 1e-9))
    if sim_p10:
        lines.append("* %s: the logged lists hold exactly 10 items, so P@10 is 100 %% by "
                     "construction (SPEC 7); compare P@1 and the online metrics."
                     % ", ".join(sim_p10))
    for r in main:
        for note in r["notes"]:
            lines.append("* %s / %s: %s%s." % (r["dataset"], r["method"], note,
                                                " (%s)" % ", ".join(map(shown_path, r["paths"]))
                                                if r["paths"]
                                                else ""))
    lines += machine_notes(runs)
    unfinished = unfinished_runs(runs)
    if unfinished:
        lines.append("* Unfinished runs (no %s; listed, not averaged): %d." % (RESULTS,
                                                                               len(unfinished)))
        for r in unfinished:
            lines.append("  * %s / %s seed %s: %s (%s)" % (r.dataset, r.method, r.seed,
                                                            shown_path(r.path),
                                                            progress_text(r)))
    pub = [r for r in rows if r["kind"] == "published"]
    if pub:
        lines += ["", "## Published figures (from the source documents, NOT our runs)", ""]
        lines += md_table(("setting", "method", "test P@1 (%)", "test P@10 (%)", "note"),
                          [[r["dataset"], r["method"] + " (published)",
                            fmt_stat(r["P@1"]), r.get("P@10 text") or fmt_stat(r["P@10"]),
                            r["published_note"] or ""] for r in pub])
    return "\n".join(lines) + "\n"


def shown_path(path):
    """`path` relative to the working directory when it lies below it (a committed table names
    no folder of the machine that made it), else as given."""
    rel = os.path.relpath(os.path.abspath(path))
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def progress_text(run):
    if not run.metrics:
        return "no metrics yet"
    last = run.metrics[-1]
    text = "last record: %s" % last.get("phase", "?")
    if "epoch" in last:
        text += " epoch %s" % last["epoch"]
    return text + ", %d records" % len(run.metrics)


CSV_COLUMNS = ["dataset", "method", "source", "n_seeds", "seeds", "sizes"]
for _k in (1, 5, 10):
    CSV_COLUMNS += ["test_P@%d_mean" % _k, "test_P@%d_std" % _k, "test_P@%d_n" % _k]
CSV_COLUMNS += ["online_reward_mean", "online_reward_std", "online_reward_n",
                "headroom_pct_mean", "headroom_pct_std", "headroom_pct_n",
                "clicks_per_clicked_session_sampled_mean", "clicks_per_clicked_session_sampled_std",
                "clicks_per_clicked_session_sampled_n", "test_verbatim_pct_mean",
                "test_verbatim_pct_std", "test_verbatim_pct_n",
                "coverage@10_mean", "coverage@10_std", "coverage@10_n", "wall_time_s_mean"]
for _k in ("d_heldout_pretrain", "d_heldout_last", "d_auc_pretrain", "d_auc_last"):
    CSV_COLUMNS += [_k + "_mean", _k + "_std"]
CSV_COLUMNS += ["note"]
USER_FIT_CSV = ("P@1", "ll", "P@1_click", "ll_click")
for _k in USER_FIT_CSV:
    CSV_COLUMNS += ["user_test_%s_mean" % _k, "user_test_%s_std" % _k, "user_test_%s_n" % _k]
CSV_COLUMNS += ["true_test_%s_mean" % _k for _k in USER_FIT_CSV] + ["truth_kind", "knows"]


def machine_notes(runs):
    """The note lines saying where the finished runs were made (results.json's "machine"):
    stack and CPU fingerprint with the number of runs of each; none when no run recorded it."""
    counts = {}
    for run in runs:
        if run.finished and run.machine is not None:
            counts[run.machine] = counts.get(run.machine, 0) + 1
    if not counts:
        return []
    made = "; ".join("%s, CPU fingerprint %s (%d runs)" % (stack, fingerprint, n)
                     for (stack, fingerprint), n in sorted(counts.items()))
    return ["* Made on: %s. `python scripts/cpu_fingerprint.py` prints a machine's fingerprint; "
            "on another one the same seeds may round otherwise: `python "
            "scripts/compare_tables.py --stat THIS.csv OTHER.csv` tests whether two tables "
            "agree within the seeds' spread." % made]


def csv_float(value):
    """A CSV number: repr of the float, or "" for None, NaN, infinities and non-numbers."""
    return "" if value is None or not math.isfinite(as_number(value)) else repr(float(value))


def csv_records(rows):
    """Dicts keyed by `CSV_COLUMNS`; missing numbers are empty strings; std is the sample std."""
    out = []
    for r in rows:
        rec = {"dataset": r["dataset"], "method": r["method"],
               "source": r.get("source") or {"run": "ours", "policy": "ours (simulator policy)",
                                             "published": "published"}[r["kind"]],
               "n_seeds": r["n"], "seeds": " ".join(str(s) for s in r["seeds"]),
               "sizes": r["sizes"]}
        for k in (1, 5, 10):
            m, s, n = r["P@%d" % k]
            rec.update({"test_P@%d_mean" % k: csv_float(m), "test_P@%d_std" % k: csv_float(s),
                        "test_P@%d_n" % k: n})
        for key, col in (("reward", "online_reward"), ("headroom", "headroom_pct"),
                         ("authors", "clicks_per_clicked_session_sampled"),
                         ("verbatim", "test_verbatim_pct"), ("coverage@10", "coverage@10")):
            m, s, n = r[key]
            rec.update({col + "_mean": csv_float(m), col + "_std": csv_float(s),
                        col + "_n": n})
        rec["wall_time_s_mean"] = csv_float(r["wall_time"][0])
        for key in ("d_heldout_pretrain", "d_heldout_last", "d_auc_pretrain", "d_auc_last"):
            m, s, _ = r.get(key, (float("nan"), float("nan"), 0))
            rec.update({key + "_mean": csv_float(m), key + "_std": csv_float(s)})
        notes = list(r["notes"])
        if r.get("published_note"):
            notes.append(r["published_note"])
        rec["note"] = "; ".join(notes)
        for key in USER_FIT_CSV:
            m, s, n = r.get("user_" + key, (float("nan"), float("nan"), 0))
            rec.update({"user_test_%s_mean" % key: csv_float(m),
                        "user_test_%s_std" % key: csv_float(s), "user_test_%s_n" % key: n})
            rec["true_test_%s_mean" % key] = csv_float(
                r.get("true_" + key, (float("nan"), 0, 0))[0])
        rec["truth_kind"] = r.get("truth_kind") or ""
        rec["knows"] = r.get("knows") or ""
        out.append(rec)
    return out


def write_records(path, columns, records):
    """Write the dicts `records` as a CSV file with the header `columns` (UTF-8, "\r\n" line
    ends, csv's default dialect)."""
    with io.open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for rec in records:
            writer.writerow(rec)


def write_csv(path, rows):
    """table.csv of the report's rows (`CSV_COLUMNS`, `csv_records`)."""
    write_records(path, CSV_COLUMNS, csv_records(rows))
