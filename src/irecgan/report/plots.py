"""The report's PNG plots: learning curves over the epoch axis (online reward, valid P@k),
coverage@k against k, and the decomposition's bars of the online reward per method with
confidence intervals. matplotlib (Agg) is imported when a plot is drawn."""
import math

import numpy as np

from irecgan.report.rows import POLICY_ORDER, method_curves, method_rank, reference_lines
from irecgan.report.runs import split_label
from irecgan.report.stats import (CONFIDENCE, COVERAGE_K, agent_epochs_of, mean_ci, mean_std,
                                   seed_key)


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def safe_file_name(name):
    """`name` with every character but letters, digits, "-", "_" and "." replaced by "_" (the
    stem of a plot's file name)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "_"


def save_figure(fig, path):
    """Save `fig` to `path` (PNG, 100 dpi) and close it, also when saving fails."""
    try:
        fig.savefig(path, dpi=100)
    finally:
        pyplot().close(fig)


def _seed_count_text(runs):
    finished = [r for r in runs if r.finished]
    seeds = sorted(set(r.seed for r in finished), key=seed_key)
    return "%d seed%s (%s), %d finished run%s" % (
        len(seeds), "" if len(seeds) == 1 else "s", ", ".join(str(s) for s in seeds) or "-",
        len(finished), "" if len(finished) == 1 else "s")


def _adversarial_start(runs):
    starts = sorted(set(agent_epochs_of(r) for r in runs if r.finished
                        and any(m.get("phase") == "adversarial" for m in r.metrics)))
    return starts


METHOD_COLORS = {"lstm": "tab:blue", "pg": "tab:orange", "irecgan_nod": "tab:green",
                 "irecgan": "tab:red", "irecgan_seq": "magenta", "irecgan_true": "tab:cyan",
                 "irecgan_true_r01": "tab:olive"}
POLICY_COLORS = {"random": "dimgray", "max": "black", "mix": "tab:brown",
                 "belief": "darkgoldenrod", "imitation": "olive", "logging": "tab:purple",
                 "quality": "tab:purple", "oracle": "darkgoldenrod", "oracle_train": "olive",
                 "posterior": "olive", "bayes": "darkgoldenrod"}
OTHER_COLORS = ("tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def method_color(method, kind="run"):
    """A fixed colour per method, the same in every plot."""
    if kind == "run" and method in METHOD_COLORS:
        return METHOD_COLORS[method]
    rank = method_rank(method)
    if rank[0] == 0:
        return POLICY_COLORS[POLICY_ORDER[rank[1]]]
    return OTHER_COLORS[sum(bytearray(str(method).encode("utf-8"))) % len(OTHER_COLORS)]


def _integer_epochs(ax):
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _plot_curves(ax, curves):
    for method, (xs, means, stds, counts) in curves.items():
        line = ax.plot(xs, means, marker="o", markersize=3, label=method,
                       color=method_color(method))[0]
        band = np.isfinite(stds)
        if band.any():
            low = np.where(band, means - stds, np.nan)
            high = np.where(band, means + stds, np.nan)
            ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.2, linewidth=0)


def _mark_adversarial(ax, runs):
    for i, start in enumerate(_adversarial_start(runs)):
        ax.axvline(start + 0.5, color="grey", linestyle=":", linewidth=1,
                   label="adversarial training starts" if i == 0 else None)


def reference_label(role, row):
    """The legend label of a reference line: `"ceiling: belief, history-based (3.863)"` (what
    the row knows, `rows.label_rows`, when it says)."""
    knows = ", %s" % row["knows"] if row.get("knows") else ""
    return "%s: %s%s (%.3f)" % (role, row["method"], knows, row["reward"][0])


def draw_reference_lines(ax, policy, dataset, logging=None):
    """The dataset's ceiling, its bounds and, when `logging` names it, its logging policy
    (`rows.reference_lines`), from the policy rows `policy`, as labelled horizontal lines
    (legend entries `reference_label`); returns the rows drawn."""
    styles = {"ceiling": "-.", "bound": (0, (5, 2, 1, 2, 1, 2)), "logging policy": ":"}
    drawn = []
    for role, row in reference_lines(policy, dataset, logging):
        ax.axhline(row["reward"][0], linestyle=styles[role], linewidth=1.5,
                   color=method_color(row["method"], "policy"), label=reference_label(role, row))
        drawn.append(row)
    return drawn


def plot_online_reward(path, dataset, runs, policy=(), logging=None):
    """Online reward vs epoch (`online_reward_figure`) saved to `path`. Returns False (no file)
    when no run logged online metrics."""
    fig = online_reward_figure(dataset, runs, policy, logging)
    if fig is None:
        return False
    save_figure(fig, path)
    return True


def online_reward_figure(dataset, runs, policy=(), logging=None):
    """The figure of online reward vs epoch (mean line, +- std band over seeds) per method; the
    dataset's ceiling and logging policy (`logging`: its policy row's name) as labelled
    horizontal lines (`draw_reference_lines`), other policy rows as unlabelled dashed lines.
    None when no run logged online metrics; the caller closes it."""
    curves = method_curves(runs, "online_reward_mean")
    if not curves:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        _plot_curves(ax, curves)
        references = draw_reference_lines(ax, policy, dataset, logging)
        for row in policy:
            if row["reward"][2] and not any(row is r for r in references):
                ax.axhline(row["reward"][0], linestyle="--", linewidth=1,
                           color=method_color(row["method"], "policy"), alpha=0.6)
                ax.annotate(row["method"] + (" (%s)" % row["knows"] if row.get("knows") else ""),
                            (ax.get_xlim()[0], row["reward"][0]),
                            fontsize=7, va="bottom")
        _decorate_epoch_axes(ax, runs, "online reward per session (mean over seeds)",
                             "%s: online reward (%s)" % (dataset, _seed_count_text(runs)))
        fig.tight_layout()
    except Exception:
        plt.close(fig)
        raise
    return fig


def _decorate_epoch_axes(ax, runs, ylabel, title):
    """Labels, grid, legend and the start-of-adversarial-training mark of a per-epoch plot."""
    _mark_adversarial(ax, runs)
    _integer_epochs(ax)
    ax.set_xlabel("epoch (agent pretraining, then adversarial)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def plot_precision(path, dataset, runs):
    """valid P@1 and (when any value is not NaN) valid P@10 vs epoch. False when no values."""
    panels = [(k, method_curves(runs, "valid_P@%d" % k)) for k in (1, 10)]
    panels = [(k, c) for k, c in panels if c]
    if not panels:
        return False
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    try:
        for ax, (k, curves) in zip(axes[0], panels):
            _plot_curves(ax, curves)
            _decorate_epoch_axes(ax, runs, "valid P@%d (%%)" % k, "%s: valid P@%d (%s)" % (
                dataset, k, _seed_count_text(runs)))
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return True


def plot_coverage(path, dataset, rows):
    """coverage@k vs k (mean, error bars = std over seeds) per row with coverage curves.
    False when no row has any (not an MDP)."""
    rows = [r for r in rows if r["coverage_curves"]]
    if not rows:
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        ks = np.arange(1, COVERAGE_K + 1)
        for i, row in enumerate(rows):
            curves = np.array(row["coverage_curves"], dtype=np.float64)
            stats = [mean_std(curves[:, j]) for j in range(COVERAGE_K)]
            means = np.array([s[0] for s in stats])
            stds = np.array([s[1] if math.isfinite(s[1]) else 0.0 for s in stats])
            offset = (i - (len(rows) - 1) / 2.0) * 0.06  # keep error bars apart
            style = "--" if row["kind"] == "policy" else "-"
            ax.errorbar(ks + offset, means, yerr=stds, linestyle=style, marker="o",
                        markersize=3, capsize=2, color=method_color(row["method"], row["kind"]),
                        label="%s (n=%d)" % (row["method"], len(row["coverage_curves"])))
        ax.set_xticks(ks)
        ax.set_xlabel("k")
        ax.set_ylabel("coverage@k (fraction of the k best items in the list)")
        n_runs = sum(len(r["coverage_curves"]) for r in rows if r["kind"] == "run")
        ax.set_title("%s: coverage@k (%d finished run%s; policies over env seeds)"
                     % (dataset, n_runs, "" if n_runs == 1 else "s"))
        ax.set_ylim(-0.02, 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return True


def label_order(method):
    """Sort key of run labels (`runs.method_label`): the labels without a variant first, then
    each variant's (by name), methods in `method_rank` order within each."""
    base, variant = split_label(str(method))
    return (variant, method_rank(base))


def plot_reward_bars(path, dataset, rows, logging=None, confidence=CONFIDENCE):
    """The bars of `reward_bars_figure` saved to `path`. False (no file) when no run row of
    `dataset` has a reward."""
    fig = reward_bars_figure(dataset, rows, logging, confidence)
    if fig is None:
        return False
    save_figure(fig, path)
    return True


def reward_bars_figure(dataset, rows, logging=None, confidence=CONFIDENCE):
    """Bars of the online reward per method (run rows of `dataset`, in `label_order`: a variant's
    bars, e.g. `pg@advantage`, in the colour of their method, hatched) with `confidence` t
    intervals over seeds (`stats.mean_ci`) as error bars; the ceiling and the logging policy as
    labelled horizontal lines (`draw_reference_lines`). None when no run row has a reward; the
    caller closes it."""
    runs = sorted([r for r in rows if r["dataset"] == dataset and r["kind"] == "run"
                   and r["reward"][2]], key=lambda r: label_order(r["method"]))
    if not runs:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(7.0, 1.0 + 1.0 * len(runs)), 4.5))  # wide tick labels
    try:
        cis = [mean_ci(r["reward_values"], confidence) for r in runs]
        errors = [c["half"] if math.isfinite(c["half"]) else 0.0 for c in cis]
        xs = np.arange(len(runs))
        bars = ax.bar(xs, [c["mean"] for c in cis], yerr=errors, capsize=4,
                      color=[method_color(split_label(r["method"])[0]) for r in runs],
                      alpha=0.8)
        for bar, r in zip(bars, runs):
            if split_label(r["method"])[1]:
                bar.set_hatch("//")
        ax.set_xticks(xs)
        ax.set_xticklabels(["%s\n(n=%d)" % (r["method"].replace("@", "\n@", 1), c["n"])
                            for r, c in zip(runs, cis)], fontsize=8)
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
