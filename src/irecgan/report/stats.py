"""Statistics of the report: mean +- sample std over seeds, coverage curves, learning curves
along the epoch axis, and the headroom a method captures. Pure functions, numpy only."""
import math

import numpy as np

COVERAGE_K = 10
DDOF = 1  # sample standard deviation over seeds


def _number(value):
    """float, or NaN for None / non-numbers / booleans."""
    if value is None or isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def mean_std(values, ddof=DDOF):
    """`(mean, std, n)` over the finite values (NaN and None skipped); mean NaN when n = 0,
    std NaN when n <= ddof."""
    vals = np.array([_number(v) for v in values], dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    n = int(vals.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(vals.mean())
    std = float(vals.std(ddof=ddof)) if n > ddof else float("nan")
    return mean, std, n


def _get(mapping, *keys):
    for key in keys:
        if not isinstance(mapping, dict) or key not in mapping:
            return None
        mapping = mapping[key]
    return mapping


def coverage_curve(online):
    """[coverage@1 .. coverage@10] from an online-results dict (keys `coverage@k` or
    `online_coverage@k`), or None when it has none."""
    if not isinstance(online, dict):
        return None
    curve = []
    for k in range(1, COVERAGE_K + 1):
        value = online.get("coverage@%d" % k, online.get("online_coverage@%d" % k))
        curve.append(_number(value))
    return curve if any(math.isfinite(c) for c in curve) else None


def epoch_axis(record, agent_epochs):
    """The x position of a metrics record: agent epoch e -> e, adversarial epoch e ->
    agent_epochs + e; None for other phases (user, d_pretrain)."""
    phase = record.get("phase")
    epoch = record.get("epoch")
    if epoch is None:
        return None
    if phase == "agent":
        return int(epoch)
    if phase == "adversarial":
        return int(agent_epochs) + int(epoch)
    return None


def agent_epochs_of(run):
    n = run.config.get("agent_epochs")
    if n is None:
        n = max([int(r["epoch"]) for r in run.metrics
                 if r.get("phase") == "agent" and "epoch" in r] or [0])
    return int(n)


def run_curve(run, key):
    """`{x: value}` of metrics `key` along the epoch axis (finite values only)."""
    agent_epochs = agent_epochs_of(run)
    curve = {}
    for record in run.metrics:
        x = epoch_axis(record, agent_epochs)
        if x is None or key not in record:
            continue
        value = _number(record[key])
        if math.isfinite(value):
            curve[x] = value
    return curve


def mean_curve(curves, ddof=DDOF):
    """`(xs, means, stds, counts)` over the union of the x of several `{x: value}` curves."""
    xs = sorted(set(x for c in curves for x in c))
    means, stds, counts = [], [], []
    for x in xs:
        m, s, n = mean_std([c[x] for c in curves if x in c], ddof)
        means.append(m)
        stds.append(s)
        counts.append(n)
    return (np.array(xs, dtype=np.float64), np.array(means), np.array(stds),
            np.array(counts, dtype=np.int64))
