"""The budget curves' PNG (issue 32, irecgan.report.budget): for one log, one panel per variant
with a mean line and a confidence band per method over the adversarial epochs, the budget the
rule picked as a vertical line, and the reference rewards (ceiling, logging policy, pg's final
reward) as labelled horizontal lines. matplotlib (Agg) is imported when a plot is drawn."""
import math

import numpy as np

from irecgan.report.plots import method_color, pyplot, save_figure

REFERENCE_STYLES = ("-.", ":", "--")
# agent objectives' curves (labels with "@", issue 34): distinct colours, given in label order
# within a figure (the plain methods keep plots.method_color's fixed colours)
VARIANT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
                  "tab:pink", "tab:olive", "tab:gray", "black", "gold", "navy")
MANY_CURVES = 4    # beyond this many curves in a panel the legend goes beside it


def curve_colors(methods):
    """method -> colour: `method_color` for plain methods, and for labels with "@" in sorted
    order the VARIANT_COLORS that no plain method of `methods` has (cycling when there are
    more), so no two curves of a figure share a colour while the palette lasts."""
    plain = set(method_color(m) for m in methods if "@" not in m)
    palette = [c for c in VARIANT_COLORS if c not in plain]
    variants = sorted(set(m for m in methods if "@" in m))
    colors = dict((m, palette[i % len(palette)]) for i, m in enumerate(variants))
    return dict((m, colors.get(m) or method_color(m)) for m in methods)


def rule_lines(rules, variant):
    """`[(budget, [control, ...])]` of one panel: each distinct budget the rule picked, with the
    controls (budget.budget_rows' method) it picked it for, in order."""
    out = []
    for r in rules:
        if r["variant"] != variant or r["budget"] is None:
            continue
        for budget, methods in out:
            if budget == r["budget"]:
                methods.append(r.get("method", "irecgan_true"))
                break
        else:
            out.append((r["budget"], [r.get("method", "irecgan_true")]))
    return out


def budget_figure(log, curves, lines=(), rules=()):
    """The figure: `curves` (variant, method) -> [(epoch, interval)] (`budget.epoch_ci`);
    `lines` [(label, reward)]; `rules` the log's `budget.budget_rows` (the picked budget per
    variant and control)."""
    plt = pyplot()
    variants = []
    for variant, _ in curves:
        if variant not in variants:
            variants.append(variant)
    wide = any(sum(1 for v, _ in curves if v == variant) > MANY_CURVES for variant in variants)
    width = 9.5 if wide else 5.0   # a legend beside a crowded panel takes room
    fig, axes = plt.subplots(1, len(variants), figsize=(width * len(variants), 4.2),
                             sharey=True, squeeze=False)
    colors = curve_colors([m for _, m in curves])
    for ax, variant in zip(axes[0], variants):
        for (v, method), points in curves.items():
            if v != variant or not points:
                continue
            xs = np.array([p[0] for p in points], dtype=np.float64)
            means = np.array([p[1]["mean"] for p in points])
            low = np.array([p[1]["low"] for p in points])
            high = np.array([p[1]["high"] for p in points])
            color = colors[method]
            if len(points) == 1:   # lstm: its final reward at epoch 0 (no adversarial phase)
                ax.errorbar(xs, means, yerr=[means - low, high - means], fmt="o", color=color,
                            label="%s (no adversarial phase)" % method, capsize=3)
                continue
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
        for budget, methods in rule_lines(rules, variant):
            if methods == ["irecgan_true"]:
                label = "budget by the rule: %d" % budget
            else:   # agent objectives' own controls too (issue 34): "@OBJ" for irecgan_true@OBJ
                names = [m[m.index("@"):] if "@" in m else m for m in methods]
                label = "budget by the rule: %d (%s)" % (budget, ",\n  ".join(
                    ", ".join(names[i:i + 2]) for i in range(0, len(names), 2)))
            ax.axvline(budget, color="grey", linestyle=":", linewidth=1, label=label)
        ax.set_title("%s, %s" % (log, variant))
        ax.set_xlabel("adversarial epoch (0: after pretraining)")
        ax.grid(True, alpha=0.3)
        if sum(1 for v, _ in curves if v == variant) > MANY_CURVES:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
        else:
            ax.legend(fontsize=7, loc="best")
    axes[0][0].set_ylabel("online reward (mean, CI over seeds)")
    fig.tight_layout()
    return fig


def plot_budget(path, log, curves, lines=(), rules=()):
    """`budget_figure` saved to `path` (plots.save_figure)."""
    save_figure(budget_figure(log, curves, lines, rules), path)
