"""Table and plots of scripts/adversarial_ablation.sh: per dataset and variant, D's held-out
accuracy / AUC, the online reward and test P@1, and irecgan - irecgan_nod paired by seed.

    python scripts/ablation_table.py --out=results/ablation runs/ablation/runs

Run directories are found anywhere under RUNS (read with irecgan.report, the library of
irecgan-report); a run's variant comes from its config.json (method, --d_data, --offline_ratio,
--agent_epochs; see variant_from_config), so run_sim.sh's runs count too, and runs of one cell
must agree on every other setting. Writes OUT/table.md, OUT/table.csv, OUT/<dataset>_ablation.png.
"""
import argparse
import csv
import io
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from irecgan import report  # noqa: E402
from irecgan.report.stats import get_nested  # noqa: E402
from irecgan.report.tables import md_table  # noqa: E402

# the order of the variants adversarial_ablation.sh runs; others (e.g. SMOKE=1's authors_r2)
# follow, sorted
ORDER = ("authors_r10", "m_r10", "nod_r10", "authors_r0.1", "m_r0.1", "nod_r0.1", "pg_10ep",
         "pg_14ep")


# settings that may differ between the runs of one table cell (evaluation, bookkeeping; and
# irecgan.config.UNBOUND_KEYS, which change no number: run_sim.sh's runs share pretraining
# through a cache, adversarial_ablation.sh's do not)
FREE_KEYS = ("seed", "run_dir", "online_every", "threads", "progress", "pretrain_cache")


def variant_from_config(config):
    """The ablation variant a run's config.json describes, e.g. authors_r10, nod_r0.1, pg_14ep
    (None for other methods), so run_sim.sh's irecgan / irecgan_nod / pg runs count as
    authors_r10 / nod_r10 / pg_10ep when their settings are those; irecgan with a D head other
    than the authors' (run_sim.sh's irecgan_seq) is none of them."""
    method = config.get("method")
    ratio = "%g" % float(config.get("offline_ratio", 10))
    if method == "irecgan" and config.get("d_head", "authors") != "authors":
        return None  # another D head (run_sim.sh's irecgan_seq): not a variant of this table
    if method == "irecgan":
        return "%s_r%s" % ("m" if config.get("d_data") == "m" else "authors", ratio)
    if method == "irecgan_nod":
        return "nod_r%s" % ratio
    if method == "pg":
        return "pg_%dep" % int(config.get("agent_epochs"))
    return None


def config_conflict(runs):
    """The first setting (outside FREE_KEYS) on which the runs of one cell disagree, as
    'key: a (path) vs b (path)', or None when they agree."""
    first = runs[0]
    for other in runs[1:]:
        for key in sorted(set(first.config) | set(other.config)):
            if key in FREE_KEYS:
                continue
            a, b = first.config.get(key), other.config.get(key)
            if a != b:
                return "%s: %r (%s) vs %r (%s)" % (key, a, first.path, b, other.path)
    return None


def variant_of(run):
    return variant_from_config(run.config)


def ordered(variants):
    """`variants` in ORDER, then the others sorted."""
    variants = set(variants)
    return [v for v in ORDER if v in variants] + sorted(variants - set(ORDER))


def pairs(variants):
    """(irecgan variant, irecgan_nod variant) at the same offline ratio, for every ratio."""
    out = []
    for v in ordered(variants):
        kind, _, ratio = v.partition("_r")
        if kind in ("authors", "m") and "nod_r" + ratio in variants:
            out.append((v, "nod_r" + ratio))
    return out


def dataset_of(run):
    return run.dataset


def metric(run, name):
    """Per-run scalar `name` (None when absent)."""
    r = run.results or {}
    if name == "reward":
        return get_nested(r, "online", "reward_mean")
    if name == "P@1":
        return get_nested(r, "offline", "test", "P@1")
    if name == "wall":
        return run.wall_time
    pre = [m for m in run.metrics if m.get("phase") == "d_pretrain"]
    adv = [m for m in run.metrics if m.get("phase") == "adversarial"]
    if name == "d_acc_pre":
        return pre[-1].get("d_heldout_accuracy") if pre else None
    if name == "d_auc_pre":
        return pre[-1].get("d_heldout_auc") if pre else None
    if name == "d_updates_pre":
        return pre[-1].get("d_updates") if pre else None
    if name == "d_acc_last":
        return adv[-1].get("d_heldout_accuracy") if adv else None
    if name == "d_auc_last":
        return adv[-1].get("d_heldout_auc") if adv else None
    if name == "gen_q_d":
        return adv[-1].get("gen_q_d") if adv else None
    if name == "share":
        vals = [m["gen_weight_share"] for m in adv if "gen_weight_share" in m]
        return float(np.mean(vals)) if vals else None
    if name == "gen_purchase":
        vals = [m["gen_purchase_rate"] for m in adv if "gen_purchase_rate" in m]
        return float(np.mean(vals)) if vals else None
    if name == "log_purchase":
        return adv[-1].get("log_purchase_rate") if adv else None
    raise KeyError(name)


def fmt(stat, digits=3):
    mean, std, n = stat
    if n == 0 or not math.isfinite(mean):
        return "-"
    if n < 2 or not math.isfinite(std):
        return ("%." + str(digits) + "f") % mean
    return ("%." + str(digits) + "f +- %." + str(digits) + "f") % (mean, std)


def paired(runs_a, runs_b, name):
    """mean +- std over seeds of a - b, paired by seed."""
    by_seed = dict((r.seed, metric(r, name)) for r in runs_b)
    diffs = [metric(r, name) - by_seed[r.seed] for r in runs_a
             if r.seed in by_seed and metric(r, name) is not None
             and by_seed[r.seed] is not None]
    return report.mean_std(diffs), sorted(r.seed for r in runs_a if r.seed in by_seed)


COLUMNS = [("reward", "online reward", 3), ("P@1", "test P@1 (%)", 2),
           ("d_acc_pre", "D held-out acc, pretrain", 3), ("d_auc_pre", "D AUC, pretrain", 3),
           ("d_acc_last", "D held-out acc, last epoch", 3),
           ("d_auc_last", "D AUC, last epoch", 3), ("gen_q_d", "mean q_D, last epoch", 3),
           ("share", "gen_weight_share", 3), ("gen_purchase", "gen purchase rate", 3),
           ("log_purchase", "logged purchase rate", 3), ("wall", "wall time / run (s)", 0)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args(argv)
    every = report.load_runs(args.runs)
    runs = [r for r in every if r.finished]
    unfinished = [r for r in every if not r.finished and variant_of(r) is not None]
    groups = {}
    for r in runs:
        if variant_of(r) is not None:
            groups.setdefault((dataset_of(r), variant_of(r)), []).append(r)
    for (dataset, variant), group in sorted(groups.items()):
        seeds = [r.seed for r in group]
        if len(set(seeds)) != len(seeds):
            sys.exit("ablation_table.py: %s / %s has a seed twice: %s"
                     % (dataset, variant, ", ".join(r.path for r in group)))
        conflict = config_conflict(group)
        if conflict:
            sys.exit("ablation_table.py: the runs of %s / %s differ in %s"
                     % (dataset, variant, conflict))
    presets = sorted(set("d_epochs=%s" % r.config.get("d_epochs") for r in runs))
    datasets = sorted(set(d for d, _ in groups))
    os.makedirs(args.out, exist_ok=True)
    lines = ["# Adversarial training ablation (issue 10)", "",
             "Runs: %s (%s), 10,000 logged sessions per log. Every cell: "
             "mean +- sample std over seeds; differences are paired by seed. D's held-out "
             "accuracy / AUC: validation sessions vs as many freshly generated ones, never D's "
             "training batches. Wall time: seconds of one run (2 runs at a time on 2 cores), "
             "a rough guide." % (", ".join(args.runs), ", ".join(presets)), ""]
    csv_rows = []
    for dataset in datasets:
        lines += ["## %s" % dataset, ""]
        header = ["variant", "seeds"] + [c[1] for c in COLUMNS]
        rows = []
        for variant in ordered(v for d, v in groups if d == dataset):
            group = groups.get((dataset, variant))
            if not group:
                continue
            seeds = sorted(r.seed for r in group)
            cells = [variant, " ".join(str(s) for s in seeds)]
            rec = {"dataset": dataset, "variant": variant, "kind": "absolute",
                   "seeds": " ".join(str(s) for s in seeds)}
            for key, _, digits in COLUMNS:
                stat = report.mean_std([metric(r, key) for r in group])
                cells.append(fmt(stat, digits))
                rec[key + "_mean"], rec[key + "_std"], rec[key + "_n"] = stat
            rows.append(cells)
            csv_rows.append(rec)
        lines += md_table(header, rows)
        lines += ["", "irecgan - irecgan_nod (paired by seed):", ""]
        diff_rows = []
        for a, b in pairs(set(v for d, v in groups if d == dataset)):
            if (dataset, a) not in groups or (dataset, b) not in groups:
                continue
            cells = ["%s - %s" % (a, b)]
            rec = {"dataset": dataset, "variant": "%s - %s" % (a, b), "kind": "paired_diff"}
            seeds = []
            for key, digits in (("reward", 3), ("P@1", 2)):
                stat, seeds = paired(groups[(dataset, a)], groups[(dataset, b)], key)
                cells.append(fmt(stat, digits))
                rec[key + "_mean"], rec[key + "_std"], rec[key + "_n"] = stat
            cells.insert(1, " ".join(str(s) for s in seeds))
            rec["seeds"] = " ".join(str(s) for s in seeds)
            diff_rows.append(cells)
            csv_rows.append(rec)
        lines += md_table(["difference", "seeds", "online reward", "test P@1 (pts)"],
                                 diff_rows)
        lines.append("")
        plot(os.path.join(args.out, "%s_ablation.png" % dataset), dataset, groups)
    if unfinished:
        lines += ["## Unfinished runs (not in the table above)", "",
                  "D's held-out figures logged so far, per run (a run's epoch records are "
                  "written as it goes):", ""]
        rows = []
        for r in sorted(unfinished, key=lambda r: (dataset_of(r), variant_of(r), r.seed)):
            adv = [m for m in r.metrics if m.get("phase") == "adversarial"]
            rows.append([dataset_of(r), variant_of(r), str(r.seed), str(len(adv))] + [
                fmt((metric(r, key), float("nan"), 1) if metric(r, key) is not None
                    else (float("nan"), float("nan"), 0))
                for key in ("d_acc_pre", "d_auc_pre", "d_acc_last", "d_auc_last")])
        lines += md_table(["dataset", "variant", "seed", "adversarial epochs done",
                                  "D held-out acc, pretrain", "D AUC, pretrain",
                                  "D held-out acc, last logged epoch",
                                  "D AUC, last logged epoch"], rows)
        lines.append("")
    with io.open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    keys = ["dataset", "variant", "kind", "seeds"]
    for key, _, _ in COLUMNS:
        keys += [key + "_mean", key + "_std", key + "_n"]
    with io.open(os.path.join(args.out, "table.csv"), "w", encoding="utf-8", newline="") as h:
        writer = csv.DictWriter(h, fieldnames=keys, restval="")
        writer.writeheader()
        for rec in csv_rows:
            writer.writerow(rec)
    print("\n".join(lines))


def plot(path, dataset, groups):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    names = ordered(v for d, v in groups if d == dataset)
    means, stds = [], []
    for v in names:
        m, s, _ = report.mean_std([metric(r, "reward") for r in groups[(dataset, v)]])
        means.append(m)
        stds.append(s if math.isfinite(s) else 0.0)
    axes[0].bar(range(len(names)), means, yerr=stds, color="tab:gray")
    axes[0].set_xticks(range(len(names)))
    axes[0].set_xticklabels(["%s (n=%d)" % (v, len(groups[(dataset, v)])) for v in names],
                            rotation=45, ha="right")
    lo = min(m - s for m, s in zip(means, stds)) if means else 0
    hi = max(m + s for m, s in zip(means, stds)) if means else 1
    axes[0].set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.1 * (hi - lo + 1e-9))
    axes[0].set_title("%s: online reward (mean +- std over seeds)" % dataset)
    for v, color in (("authors_r10", "tab:red"), ("m_r10", "tab:blue"),
                     ("authors_r0.1", "tab:orange"), ("m_r0.1", "tab:cyan")):
        for r in groups.get((dataset, v), []):
            pre = [m.get("d_heldout_accuracy") for m in r.metrics if m.get("phase") ==
                   "d_pretrain"]
            adv = [m.get("d_heldout_accuracy") for m in r.metrics if m.get("phase") ==
                   "adversarial"]
            ys = pre + adv
            axes[1].plot(range(len(ys)), ys, color=color, alpha=0.6,
                         label=v if r is groups[(dataset, v)][0] else None)
    axes[1].axhline(0.5, color="black", lw=0.5)
    axes[1].set_xlabel("0 = after D pretraining, then adversarial epoch")
    axes[1].set_ylabel("D held-out accuracy")
    axes[1].set_title("%s: D on validation vs fresh generated sessions" % dataset)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
