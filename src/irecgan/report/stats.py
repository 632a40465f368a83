"""Statistics of the report: mean +- sample std over seeds, Student t confidence intervals (one
sample, paired by seed, Welch), coverage curves and learning curves along the epoch axis. Pure
functions, numpy (and scipy.stats for the t quantile) only."""
import math

import numpy as np

COVERAGE_K = 10
DDOF = 1  # sample standard deviation over seeds
CONFIDENCE = 0.95  # the default confidence level of the intervals


def as_number(value):
    """float, or NaN for None / non-numbers / booleans."""
    if value is None or isinstance(value, bool):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def finite_values(values):
    """The finite values among `values` (see `as_number`) as a float64 array, in order."""
    vals = np.array([as_number(v) for v in values], dtype=np.float64)
    return vals[np.isfinite(vals)]


def seed_key(seed):
    """Sort key of a seed: numeric seeds by value (1, 2, 10), then by their text."""
    return as_number(seed), str(seed)


def mean_std(values, ddof=DDOF):
    """`(mean, std, n)` over the finite values (NaN and None skipped); mean NaN when n = 0,
    std NaN when n <= ddof."""
    vals = finite_values(values)
    n = int(vals.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(vals.mean())
    std = float(vals.std(ddof=ddof)) if n > ddof else float("nan")
    return mean, std, n


def get_nested(mapping, *keys):
    """`mapping[k1][k2]...` for `keys`, or None when a level is missing or not a dict (the
    sections of results.json are optional)."""
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
        curve.append(as_number(value))
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
        value = as_number(record[key])
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


# -- confidence intervals ---------------------------------------------------------------------
# An interval is a dict: mean, low, high, half (the half-width), n (values used), df (degrees of
# freedom) and sd (the sample sd of a one-sample interval, else NaN); NaN where unknown.

def t_quantile(df, confidence=CONFIDENCE):
    """The two-sided Student t quantile t_{1 - alpha/2, df} (scipy.stats.t)."""
    from scipy import stats
    return float(stats.t.ppf(0.5 + confidence / 2.0, df))


def interval(mean, half, n, df, sd=float("nan")):
    """The interval dict mean +- half (see above)."""
    return {"mean": mean, "low": mean - half, "high": mean + half, "half": half, "n": n,
            "df": df, "sd": sd}


NO_CI = interval(float("nan"), float("nan"), 0, float("nan"))  # no value at all


def mean_ci(values, confidence=CONFIDENCE):
    """One-sample t interval of the finite `values`: mean +- t_{n-1} * sd / sqrt(n) (sd with
    n - 1); half-width NaN when n < 2."""
    vals = finite_values(values)
    n = int(vals.size)
    if n == 0:
        return dict(NO_CI)
    mean = float(vals.mean())
    if n < 2:
        return interval(mean, float("nan"), n, float("nan"))
    sd = float(vals.std(ddof=1))
    return interval(mean, t_quantile(n - 1, confidence) * sd / math.sqrt(n), n, n - 1, sd)


def paired_ci(a, b, confidence=CONFIDENCE):
    """a - b paired by seed: `a`, `b` map seed -> value; the seeds with a finite value in both
    give d_s = a_s - b_s and `mean_ci(d)`, with "seeds" (sorted by `seed_key`) added."""
    seeds = sorted((s for s in a if s in b and math.isfinite(as_number(a[s]))
                    and math.isfinite(as_number(b[s]))), key=seed_key)
    out = mean_ci([as_number(a[s]) - as_number(b[s]) for s in seeds], confidence)
    out["seeds"] = seeds
    return out


def welch_ci(a, b, confidence=CONFIDENCE):
    """mean(a) - mean(b) of two independent samples with Welch's interval: se = sqrt(va / na +
    vb / nb), df = se^4 / ((va / na)^2 / (na - 1) + (vb / nb)^2 / (nb - 1)) (sample variances);
    half-width NaN when either sample has fewer than 2 values, 0 when both have no spread."""
    va_, vb_ = finite_values(a), finite_values(b)
    na, nb = int(va_.size), int(vb_.size)
    if na == 0 or nb == 0:
        return dict(NO_CI)
    mean = float(va_.mean() - vb_.mean())
    if na < 2 or nb < 2:
        return interval(mean, float("nan"), min(na, nb), float("nan"))
    qa, qb = float(va_.var(ddof=1)) / na, float(vb_.var(ddof=1)) / nb
    se = math.sqrt(qa + qb)
    if se == 0.0:
        return interval(mean, 0.0, min(na, nb), float(na + nb - 2))
    df = (qa + qb) ** 2 / (qa ** 2 / (na - 1) + qb ** 2 / (nb - 1))
    return interval(mean, t_quantile(df, confidence) * se, min(na, nb), df)


def excludes_zero(ci):
    """True when the interval lies wholly above or below 0; None when it is not known."""
    if not (math.isfinite(ci["low"]) and math.isfinite(ci["high"])):
        return None
    return ci["low"] > 0.0 or ci["high"] < 0.0


def magnitude(ci):
    """`(low, high)`: the interval of |x| for x in [low, high] (|mean| twice when the interval
    is not known)."""
    low, high = ci["low"], ci["high"]
    if not (math.isfinite(low) and math.isfinite(high)):
        return abs(ci["mean"]), abs(ci["mean"])
    if low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


def percent_of(ci, span):
    """A copy of `ci` with mean, low, high and half in % of `span` (100 * v / span; n, df, sd
    and any other key kept)."""
    return dict((k, (100.0 * v / span if k in ("mean", "low", "high", "half") else v))
                for k, v in ci.items())
