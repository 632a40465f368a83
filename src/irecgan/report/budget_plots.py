"""The budget curves' PNG (issue 32, irecgan.report.budget): for one log, one panel per variant
with a mean line and a confidence band per method over the adversarial epochs, the budget the
rule picked as a vertical line, and the reference rewards (ceiling, logging policy, pg's final
reward) as labelled horizontal lines. matplotlib (Agg) is imported when a plot is drawn."""
import math

import numpy as np

from irecgan.report.plots import method_color, pyplot, save_figure

REFERENCE_STYLES = ("-.", ":", "--")


def budget_figure(log, curves, lines=(), rules=()):
    """The figure: `curves` (variant, method) -> [(epoch, interval)] (`budget.epoch_ci`);
    `lines` [(label, reward)]; `rules` the log's `budget.budget_rows` (the picked budget per
    variant and control)."""
    plt = pyplot()
    variants = []
    for variant, _ in curves:
        if variant not in variants:
            variants.append(variant)
    fig, axes = plt.subplots(1, len(variants), figsize=(5.0 * len(variants), 4.2),
                             sharey=True, squeeze=False)
    picked = [(r["variant"], r.get("method", ""), r["budget"]) for r in rules]
    for ax, variant in zip(axes[0], variants):
        for (v, method), points in curves.items():
            if v != variant:
                continue
            xs = np.array([p[0] for p in points], dtype=np.float64)
            means = np.array([p[1]["mean"] for p in points])
            low = np.array([p[1]["low"] for p in points])
            high = np.array([p[1]["high"] for p in points])
            color = method_color(method)
            ax.plot(xs, means, label=method, color=color, linewidth=1.5)
            band = np.isfinite(low) & np.isfinite(high)
            if band.any():
                ax.fill_between(xs, np.where(band, low, np.nan), np.where(band, high, np.nan),
                                color=color, alpha=0.2, linewidth=0)
        for i, (label, reward) in enumerate(lines):
            if math.isfinite(reward):
                ax.axhline(reward, linestyle=REFERENCE_STYLES[i % len(REFERENCE_STYLES)],
                           linewidth=1.2, color="black" if i == 0 else "dimgray",
                           label="%s (%.3f)" % (label, reward))
        for v, method, budget in picked:
            if v != variant or budget is None:
                continue
            if "@" not in method:   # the paper objective's irecgan_true
                ax.axvline(budget, color="grey", linestyle=":", linewidth=1,
                           label="budget by the rule: %d" % budget)
            else:  # an agent objective's own control (issue 34), in its curve's colour
                ax.axvline(budget, color=method_color(method), linestyle=":", linewidth=1,
                           label="budget by the rule, %s: %d" % (method, budget))
        ax.set_title("%s, %s" % (log, variant))
        ax.set_xlabel("adversarial epoch (0: after pretraining)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    axes[0][0].set_ylabel("online reward (mean, CI over seeds)")
    fig.tight_layout()
    return fig


def plot_budget(path, log, curves, lines=(), rules=()):
    """`budget_figure` saved to `path` (plots.save_figure)."""
    save_figure(budget_figure(log, curves, lines, rules), path)
