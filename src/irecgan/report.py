"""Aggregate run directories into result tables and learning-curve plots (SPEC 7, 9).

A run directory (made by `irecgan-train`) holds `config.json`, `metrics.jsonl` and, once the run
has finished, `results.json`. This module reads any set of them, groups the finished runs by
(dataset, method), where the dataset is the base name of `config["data"]` without its extension,
and writes:

* `table.md` / `table.csv`: per group the seeds, the model sizes, test P@1/P@5/P@10, the online
  reward and coverage@10 (simulators), the mean wall time per run; every figure is the mean and
  the *sample* standard deviation (n - 1 denominator) over seeds. Unfinished runs (no
  `results.json`) are listed in a note and never averaged.
* per dataset `<dataset>_online_reward.png`, `<dataset>_precision.png` (learning curves over the
  epoch axis: agent-pretraining epochs 1..A, then adversarial epochs at A + 1, A + 2, ...) and
  `<dataset>_coverage.png` (coverage@k against k, MDP only).

Rows of simulator policies (random, max, mix, the neural oracle's logging policy) come from
`policy_rows`, which evaluates them online with `irecgan.sim.online.evaluate`, or from a JSON
file of such rows. Published figures can be added as clearly marked comparison rows.

Pure functions except for `write_report` and the plotting helpers (files). No TensorFlow, no absl.
"""
import collections
import csv
import glob
import io
import json
import math
import os

import numpy as np

from irecgan.errors import UserError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
RESULTS = "results.json"

METHOD_ORDER = ("lstm", "pg", "irecgan_nod", "irecgan")
POLICY_ORDER = ("random", "max", "mix", "logging")
COVERAGE_K = 10
DDOF = 1  # sample standard deviation over seeds
STD_NOTE = ("mean +- sample standard deviation over seeds (n - 1 denominator); a cell with a "
            "single value shows it alone")

PUBLISHED = collections.OrderedDict([
    ("sim", [
        {"dataset": "neural oracle (source document)", "method": "irecgan",
         "P@1": 8.06, "P@10": 64.06, "note": ""},
        {"dataset": "MDP simulator (source document)", "method": "irecgan",
         "P@1": 5.3, "P@10": 36.5,
         "note": "our MDP logs show exactly 10 items per list, so our P@10 there is 100 % by "
                 "construction (SPEC 7): compare P@1 and the online metrics"},
    ]),
    ("cikm", [
        {"dataset": "CIKM Cup 2016 (source document)", "method": "lstm",
         "P@1": 8.20, "P@10": 32.89, "note": ""},
        {"dataset": "CIKM Cup 2016 (third-party run)", "method": "the authors' code",
         "P@1": None, "P@10": None, "P@10 text": "31.5 to 35.0",
         "note": "a third-party run of the authors' code logged test P@10 between 31.5 and 35.0"},
    ]),
])


# --------------------------------------------------------------------------- reading runs
class Run(object):
    """One run directory: its configuration, metrics records and results (None if unfinished)."""

    def __init__(self, path, config, metrics, results):
        self.path = path
        self.config = config
        self.metrics = metrics
        self.results = results

    @property
    def finished(self):
        return self.results is not None

    @property
    def method(self):
        return str(self.config.get("method", "?"))

    @property
    def seed(self):
        seed = self.config.get("seed")
        if self.results is not None and "seed" in self.results:
            seed = self.results["seed"]
        return seed

    @property
    def dataset(self):
        return dataset_name(self.config.get("data", ""))

    @property
    def sizes(self):
        return sizes_text(self.config)


def dataset_name(path):
    """Base name of a data path without its extension: `/x/mdp_random.log` -> `mdp_random`."""
    base = os.path.basename(str(path).rstrip("/\\"))
    stem = os.path.splitext(base)[0]
    return stem or base or "?"


def sizes_text(config):
    """`"2x512, emb 50"` (layers x hidden, embedding size) from a run configuration."""
    try:
        return "%dx%d, emb %d" % (int(config["layers"]), int(config["hidden"]),
                                  int(config["embed_dim"]))
    except (KeyError, TypeError, ValueError):
        return "?"


def _json_error(path, err):
    return UserError("%s:%d: invalid JSON: %s" % (path, err.lineno, err.msg))


def read_json(path):
    """The JSON value in `path`; `UserError` naming the file (and line) when it is unreadable."""
    try:
        with io.open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (IOError, OSError, UnicodeDecodeError) as err:
        raise UserError("cannot read %s: %s" % (path, " ".join(str(err).split())))
    try:
        return json.loads(text)
    except ValueError as err:
        if hasattr(err, "lineno"):
            raise _json_error(path, err)
        raise UserError("%s: invalid JSON: %s" % (path, err))


def read_json_object(path):
    """A JSON object from `path` (see `read_json`)."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise UserError("%s:1: expected a JSON object, got %s" % (path, type(obj).__name__))
    return obj


def read_metrics(path, tolerate_partial_last=False):
    """The records of a metrics.jsonl (a missing file: []). A malformed line is a `UserError`
    naming the file and line, except, with `tolerate_partial_last`, a malformed last line (a run
    still writing), which is dropped."""
    if not os.path.exists(path):
        return []
    try:
        with io.open(path, "r", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (IOError, OSError, UnicodeDecodeError) as err:
        raise UserError("cannot read %s: %s" % (path, " ".join(str(err).split())))
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    records = []
    for pos, (lineno, line) in enumerate(numbered):
        try:
            record = json.loads(line)
        except ValueError as err:
            if tolerate_partial_last and pos == len(numbered) - 1:
                break
            raise UserError("%s:%d: invalid JSON: %s" % (path, lineno,
                                                        getattr(err, "msg", str(err))))
        if not isinstance(record, dict):
            raise UserError("%s:%d: expected a JSON object, got %s"
                            % (path, lineno, type(record).__name__))
        records.append(record)
    return records


def load_run(path):
    """Read the run directory `path` (which holds a config.json)."""
    config = read_json_object(os.path.join(path, CONFIG))
    for key in ("method", "data"):
        if key not in config:
            raise UserError("%s: no '%s' key (not an irecgan run configuration)"
                            % (os.path.join(path, CONFIG), key))
    results_path = os.path.join(path, RESULTS)
    results = read_json_object(results_path) if os.path.exists(results_path) else None
    metrics = read_metrics(os.path.join(path, METRICS),
                           tolerate_partial_last=results is None)
    return Run(path, config, metrics, results)


def find_run_dirs(args):
    """Every folder holding a config.json at or below the paths / glob patterns in `args`
    (sorted, without duplicates). A path that neither exists nor matches is a `UserError`."""
    found = []
    for arg in args:
        matches = [arg] if os.path.exists(arg) else sorted(glob.glob(arg))
        if not matches:
            raise UserError("%s: no such file or directory" % arg)
        for match in matches:
            if os.path.isfile(match):
                if os.path.basename(match) == CONFIG:
                    found.append(os.path.dirname(os.path.abspath(match)))
                continue
            for root, dirs, files in os.walk(match):
                dirs.sort()
                if CONFIG in files:
                    found.append(os.path.abspath(root))
    out, seen = [], set()
    for path in found:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return sorted(out)


def load_runs(args):
    """`Run`s of every run directory under `args`; `UserError` when there is none."""
    dirs = find_run_dirs(args)
    if not dirs:
        raise UserError("no run directory (a folder with %s) under %s"
                        % (CONFIG, ", ".join(args) if args else "the given paths (none)"))
    return [load_run(d) for d in dirs]


# --------------------------------------------------------------------------- statistics
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


# --------------------------------------------------------------------------- rows
def _method_rank(method):
    name = str(method).split()[0].split("(")[0].strip().lower() if str(method).strip() else ""
    if name in POLICY_ORDER:
        return (0, POLICY_ORDER.index(name), str(method))
    if method in METHOD_ORDER:
        return (2, METHOD_ORDER.index(method), str(method))
    return (3, 0, str(method))


def row_sort_key(row):
    """Datasets alphabetically; within one: policy rows (random, max, mix, logging), other policy
    rows, then lstm, pg, irecgan_nod, irecgan, then any other method by name."""
    rank = _method_rank(row["method"])
    if row["kind"] == "policy" and rank[0] != 0:
        rank = (1, 0, str(row["method"]))
    return (str(row["dataset"]), rank)


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


def run_rows(runs):
    """One row per (dataset, method) over the finished runs (see `aggregate_rows`)."""
    groups = collections.OrderedDict()
    for run in runs:
        if run.finished:
            groups.setdefault((run.dataset, run.method), []).append(run)
    rows = []
    for (dataset, method), group in groups.items():
        group = sorted(group, key=lambda r: (_number(r.seed), r.path))
        seeds = [r.seed for r in group]
        row = {"kind": "run", "dataset": dataset, "method": method, "seeds": seeds,
               "n": len(group), "paths": [r.path for r in group], "notes": []}
        sizes = []
        for r in group:
            if r.sizes not in sizes:
                sizes.append(r.sizes)
        row["sizes"] = " / ".join(sizes)
        if len(sizes) > 1:
            row["notes"].append("runs of different sizes averaged together")
        if len(set(map(str, seeds))) < len(seeds):
            row["notes"].append("a seed appears more than once")
        if len(set(str(r.config.get("data")) for r in group)) > 1:
            row["notes"].append("runs on different data files with this base name")
        for k in (1, 3, 5, 10):
            row["P@%d" % k] = mean_std([_get(r.results, "offline", "test", "P@%d" % k)
                                        for r in group])
        row["reward"] = mean_std([_get(r.results, "online", "reward_mean") for r in group])
        curves = [coverage_curve(_get(r.results, "online")) for r in group]
        curves = [c for c in curves if c is not None]
        row["coverage_curves"] = curves
        row["coverage@10"] = mean_std([c[COVERAGE_K - 1] for c in curves])
        row["wall_time"] = mean_std([_get(r.results, "wall_time_s") for r in group])
        for key, value in (("d_heldout_pretrain", "d_heldout_accuracy"),
                           ("d_heldout_last", "d_heldout_accuracy"),
                           ("d_auc_pretrain", "d_heldout_auc"), ("d_auc_last", "d_heldout_auc")):
            row[key] = mean_std([heldout_d(r, value, key.endswith("pretrain")) for r in group])
        rows.append(row)
    return rows


def heldout_d(run, key, pretrain):
    """D's held-out `key` (d_heldout_accuracy / d_heldout_auc) after D pretraining
    (`pretrain`) or at the last adversarial epoch; None for runs without D."""
    phase = "d_pretrain" if pretrain else "adversarial"
    values = [m.get(key) for m in run.metrics if m.get("phase") == phase and key in m]
    return values[-1] if values else None


def policy_row(entry, source="policy rows"):
    """A table row from one policy-row dict {"dataset", "method", "reward": [per env seed],
    "coverage@10": [...], "coverage": [[c1..c10] per env seed], optional "seeds",
    "n_sessions"}."""
    if not isinstance(entry, dict) or "dataset" not in entry or "method" not in entry:
        raise UserError("%s: each policy row needs 'dataset' and 'method'" % source)
    rewards = entry.get("reward") or []
    curves = [[_number(v) for v in c] for c in (entry.get("coverage") or []) if c]
    if any(len(c) != COVERAGE_K for c in curves):
        raise UserError("%s: %s / %s: each 'coverage' entry must hold %d values (coverage@1..%d)"
                        % (source, entry["dataset"], entry["method"], COVERAGE_K, COVERAGE_K))
    cov10 = entry.get("coverage@10")
    if cov10 is None:
        cov10 = [c[COVERAGE_K - 1] for c in curves if len(c) >= COVERAGE_K]
    seeds = entry.get("seeds") or list(range(1, len(rewards) + 1))
    row = {"kind": "policy", "dataset": str(entry["dataset"]), "method": str(entry["method"]),
           "seeds": list(seeds), "n": len(rewards), "paths": [], "notes": [],
           "sizes": "", "reward": mean_std(rewards), "coverage@10": mean_std(cov10),
           "coverage_curves": curves, "wall_time": (float("nan"), float("nan"), 0),
           "n_sessions": entry.get("n_sessions")}
    for k in (1, 3, 5, 10):
        row["P@%d" % k] = (float("nan"), float("nan"), 0)
    return row


def read_policy_rows(path):
    """The policy rows of a JSON file (a list of dicts as `policy_rows` returns)."""
    entries = read_json(path)
    if not isinstance(entries, list):
        raise UserError("%s: expected a JSON list of policy rows" % path)
    return entries


def policy_rows(env, policies, seeds, n_sessions, dataset="", batch_size=500):
    """Evaluate simulator policies online: for each (name, policy) of `policies` (a dict, in its
    order) and each env seed, `irecgan.sim.online.evaluate(env, policy, n_sessions, seed)`.

    Returns a list of dicts {"dataset", "method": name, "seeds", "n_sessions", "reward": [reward
    mean per seed], and on an MDP "coverage@10": [...], "coverage": [[c1..c10] per seed]}, the
    format `--policy_rows` reads. A policy's own randomness is its own business (its rng
    carries on across the seeds)."""
    from irecgan.sim import online  # numpy only
    rows = []
    for name, policy in policies.items():
        rewards, curves = [], []
        for seed in seeds:
            res = online.evaluate(env, policy, n_sessions=n_sessions, seed=seed,
                                  batch_size=batch_size)
            rewards.append(float(res["reward_mean"]))
            curve = coverage_curve(res)
            if curve is not None:
                curves.append(curve)
        row = collections.OrderedDict([
            ("dataset", dataset), ("method", name), ("seeds", [_jsonable_seed(s) for s in seeds]),
            ("n_sessions", int(n_sessions)), ("reward", rewards)])
        if curves:
            row["coverage@10"] = [c[COVERAGE_K - 1] for c in curves]
            row["coverage"] = curves
        rows.append(row)
    return rows


def _jsonable_seed(seed):
    if isinstance(seed, (list, tuple, np.ndarray)):
        return [int(s) for s in seed]
    return int(seed)


def environment_policies(path, rng):
    """`(env, OrderedDict name -> policy)` for a simulator parameter file: an MDP
    (random, max, mix) or a neural oracle (random lists, its logging policy)."""
    from irecgan.sim import mdp as mdp_sim
    from irecgan.sim import neural as neural_sim
    from irecgan.sim import online
    from irecgan.sim.paramfile import read_kind
    kind = read_kind(path)
    policies = collections.OrderedDict()
    if kind == mdp_sim.KIND:
        env = mdp_sim.MDP.load(path)
        for name in ("random", "max", "mix"):
            policies[name] = mdp_sim.logging_policy(env, name, rng)
    elif kind == neural_sim.KIND:
        user_params, policy_params = neural_sim.load_params(path)
        env = neural_sim.NeuralUser(user_params)
        policies["random"] = online.RandomLists(env.n_items, env.list_size, rng)
        policies["logging"] = neural_sim.LoggingPolicy(policy_params)
    else:
        raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))
    return env, policies


def published_rows(which):
    """Rows of the source document's published figures for `which` (a list of keys of
    `PUBLISHED`: "sim", "cikm")."""
    rows = []
    for key in which:
        if key not in PUBLISHED:
            raise UserError("unknown published set %r (one of %s, none)"
                            % (key, ", ".join(PUBLISHED)))
        for entry in PUBLISHED[key]:
            row = {"kind": "published", "dataset": entry["dataset"], "method": entry["method"],
                   "seeds": [], "n": 0, "paths": [], "sizes": "", "notes": [],
                   "reward": (float("nan"), float("nan"), 0),
                   "coverage@10": (float("nan"), float("nan"), 0), "coverage_curves": [],
                   "wall_time": (float("nan"), float("nan"), 0), "published_note": entry["note"],
                   "P@10 text": entry.get("P@10 text")}
            for k in (1, 3, 5, 10):
                value = entry.get("P@%d" % k)
                row["P@%d" % k] = ((float(value), float("nan"), 1) if value is not None
                                   else (float("nan"), float("nan"), 0))
            rows.append(row)
    return rows


def aggregate_rows(runs, policy_entries=(), source="policy rows"):
    """Run rows (finished runs only) and policy rows, in table order. Each row is a dict with
    kind ("run" | "policy"), dataset, method, seeds, n, sizes, P@1/P@3/P@5/P@10, reward,
    coverage@10, wall_time (each a `(mean, std, n)` triple), coverage_curves, notes."""
    rows = run_rows(runs) + [policy_row(e, source) for e in policy_entries]
    counts = collections.Counter((r["dataset"], r["method"]) for r in rows)
    twice = sorted("%s / %s" % key for key, n in counts.items() if n > 1)
    if twice:
        raise UserError("%s: a table holds one row per dataset and method, but these come more "
                        "than once: %s" % (source, ", ".join(twice)))
    return sorted(rows, key=row_sort_key)


def unfinished_runs(runs):
    return [r for r in runs if not r.finished]


# --------------------------------------------------------------------------- formatting
def fmt_stat(stat, digits=2, total=None):
    """`"m +- s"` (`"m"` when a single value, `"n/a"` when none), with `" [n/N]"` when only n of
    the N seeds had a value."""
    mean, std, n = stat
    if n == 0 or not math.isfinite(mean):
        return "n/a"
    text = "%.*f" % (digits, mean)
    if n > 1 and math.isfinite(std):
        text += " +- %.*f" % (digits, std)
    if total is not None and n < total:
        text += " [%d/%d]" % (n, total)
    return text


def fmt_seconds(stat):
    mean, _, n = stat
    if n == 0 or not math.isfinite(mean):
        return ""
    if mean < 120:
        return "%.1f s" % mean
    if mean < 7200:
        return "%.1f min" % (mean / 60.0)
    return "%.2f h" % (mean / 3600.0)


def fmt_seeds(row):
    if not row["seeds"]:
        return ""
    word = " (env seeds: %s)" if row["kind"] == "policy" else " (%s)"
    return "%d" % row["n"] + word % ", ".join(str(s) for s in row["seeds"])


MD_COLUMNS = ("dataset", "method", "seeds", "sizes", "test P@1 (%)", "test P@5 (%)",
              "test P@10 (%)", "online reward", "coverage@10",
              "D held-out acc: pretrain / last", "wall time / run")


def md_cells(row):
    total = row["n"] if row["kind"] == "run" else None
    if row["kind"] == "policy":
        p = ["-", "-", "-"]
    else:
        p = [fmt_stat(row["P@%d" % k], 2, total) for k in (1, 5, 10)]
    reward = fmt_stat(row["reward"], 3, total)
    cov = fmt_stat(row["coverage@10"], 3, total)
    d_cell = "-"
    if row.get("d_heldout_pretrain", (0, 0, 0))[2] or row.get("d_heldout_last", (0, 0, 0))[2]:
        d_cell = "%s / %s" % (fmt_stat(row["d_heldout_pretrain"], 3, total),
                              fmt_stat(row["d_heldout_last"], 3, total))
    return [row["dataset"], row["method"], fmt_seeds(row), row["sizes"] or "-"] + p + [
        reward if reward != "n/a" else "-", cov if cov != "n/a" else "-", d_cell,
        fmt_seconds(row["wall_time"]) or "-"]


def _md_escape(text):
    return str(text).replace("|", "\\|")


def md_table(header, rows):
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    for cells in rows:
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
    return lines


def markdown(rows, runs, title="irecgan results"):
    """The text of table.md: the table, its notes, unfinished runs, published figures."""
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
                 "against the true simulator (MDP: clicks; neural oracle: purchases), then "
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
    sim_p10 = sorted(set(r["dataset"] for r in main if r["kind"] == "run"
                         and r["coverage@10"][2] > 0 and r["P@10"][2] > 0
                         and abs(r["P@10"][0] - 100.0) < 1e-9))
    if sim_p10:
        lines.append("* %s: the logged lists hold exactly 10 items, so P@10 is 100 %% by "
                     "construction (SPEC 7); compare P@1 and the online metrics."
                     % ", ".join(sim_p10))
    for r in main:
        for note in r["notes"]:
            lines.append("* %s / %s: %s (%s)." % (r["dataset"], r["method"], note,
                                                   ", ".join(r["paths"])))
    unfinished = unfinished_runs(runs)
    if unfinished:
        lines.append("* Unfinished runs (no %s; listed, not averaged): %d." % (RESULTS,
                                                                               len(unfinished)))
        for r in unfinished:
            lines.append("  * %s / %s seed %s: %s (%s)" % (r.dataset, r.method, r.seed,
                                                            r.path, progress_text(r)))
    pub = [r for r in rows if r["kind"] == "published"]
    if pub:
        lines += ["", "## Published figures (from the source documents, NOT our runs)", ""]
        lines += md_table(("setting", "method", "test P@1 (%)", "test P@10 (%)", "note"),
                          [[r["dataset"], r["method"] + " (published)",
                            fmt_stat(r["P@1"]), r.get("P@10 text") or fmt_stat(r["P@10"]),
                            r["published_note"] or ""] for r in pub])
    return "\n".join(lines) + "\n"


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
                "coverage@10_mean", "coverage@10_std", "coverage@10_n", "wall_time_s_mean"]
for _k in ("d_heldout_pretrain", "d_heldout_last", "d_auc_pretrain", "d_auc_last"):
    CSV_COLUMNS += [_k + "_mean", _k + "_std"]
CSV_COLUMNS += ["note"]


def _csv_float(value):
    return "" if value is None or not math.isfinite(value) else repr(float(value))


def csv_records(rows):
    """Dicts keyed by `CSV_COLUMNS`; missing numbers are empty strings; std is the sample std."""
    out = []
    for r in rows:
        rec = {"dataset": r["dataset"], "method": r["method"],
               "source": {"run": "ours", "policy": "ours (simulator policy)",
                          "published": "published"}[r["kind"]],
               "n_seeds": r["n"], "seeds": " ".join(str(s) for s in r["seeds"]),
               "sizes": r["sizes"]}
        for k in (1, 5, 10):
            m, s, n = r["P@%d" % k]
            rec.update({"test_P@%d_mean" % k: _csv_float(m), "test_P@%d_std" % k: _csv_float(s),
                        "test_P@%d_n" % k: n})
        for key, col in (("reward", "online_reward"), ("coverage@10", "coverage@10")):
            m, s, n = r[key]
            rec.update({col + "_mean": _csv_float(m), col + "_std": _csv_float(s),
                        col + "_n": n})
        rec["wall_time_s_mean"] = _csv_float(r["wall_time"][0])
        for key in ("d_heldout_pretrain", "d_heldout_last", "d_auc_pretrain", "d_auc_last"):
            m, s, _ = r.get(key, (float("nan"), float("nan"), 0))
            rec.update({key + "_mean": _csv_float(m), key + "_std": _csv_float(s)})
        notes = list(r["notes"])
        if r.get("published_note"):
            notes.append(r["published_note"])
        rec["note"] = "; ".join(notes)
        out.append(rec)
    return out


def write_csv(path, rows):
    with io.open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for rec in csv_records(rows):
            writer.writerow(rec)


# --------------------------------------------------------------------------- curves
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


def method_curves(runs, key):
    """OrderedDict method -> (xs, means, stds, counts) over the finished runs, in method order;
    methods without any value are left out."""
    by_method = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: _method_rank(r.method)):
        if not run.finished:
            continue
        curve = run_curve(run, key)
        if curve:
            by_method.setdefault(run.method, []).append(curve)
    return collections.OrderedDict((m, mean_curve(c)) for m, c in by_method.items())


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _seed_count_text(runs):
    finished = [r for r in runs if r.finished]
    seeds = sorted(set(r.seed for r in finished), key=lambda s: (_number(s), str(s)))
    return "%d seed%s (%s), %d finished run%s" % (
        len(seeds), "" if len(seeds) == 1 else "s", ", ".join(str(s) for s in seeds) or "-",
        len(finished), "" if len(finished) == 1 else "s")


def _adversarial_start(runs):
    starts = sorted(set(agent_epochs_of(r) for r in runs if r.finished
                        and any(m.get("phase") == "adversarial" for m in r.metrics)))
    return starts


METHOD_COLORS = {"lstm": "tab:blue", "pg": "tab:orange", "irecgan_nod": "tab:green",
                 "irecgan": "tab:red"}
POLICY_COLORS = {"random": "dimgray", "max": "black", "mix": "tab:brown",
                 "logging": "tab:purple"}
OTHER_COLORS = ("tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def method_color(method, kind="run"):
    """A fixed colour per method, the same in every plot."""
    if kind == "run" and method in METHOD_COLORS:
        return METHOD_COLORS[method]
    rank = _method_rank(method)
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


def plot_online_reward(path, dataset, runs, policy=()):
    """Online reward vs epoch (mean line, +- std band over seeds) per method; policy rows as
    horizontal dashed lines. Returns False (no file) when no run logged online metrics."""
    curves = method_curves(runs, "online_reward_mean")
    if not curves:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    try:
        _plot_curves(ax, curves)
        for row in policy:
            if row["reward"][2]:
                ax.axhline(row["reward"][0], linestyle="--", linewidth=1,
                           color=method_color(row["method"], "policy"), alpha=0.6)
                ax.annotate(row["method"], (ax.get_xlim()[0], row["reward"][0]),
                            fontsize=7, va="bottom")
        _decorate_epoch_axes(ax, runs, "online reward per session (mean over seeds)",
                             "%s: online reward (%s)" % (dataset, _seed_count_text(runs)))
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return True


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
    plt = _pyplot()
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
    plt = _pyplot()
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


def _safe_name(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "_"


def write_report(out_dir, runs, policy_entries=(), title="irecgan results", published=(),
                 policy_source="policy rows"):
    """Write table.md, table.csv and the plots into `out_dir`; returns (markdown text, list of
    written paths)."""
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
    except OSError as err:
        raise UserError("cannot create %s: %s" % (out_dir, " ".join(str(err).split())))
    rows = aggregate_rows(runs, policy_entries, policy_source)
    rows += published_rows(published)
    text = markdown(rows, runs, title=title)
    written = []
    md_path = os.path.join(out_dir, "table.md")
    csv_path = os.path.join(out_dir, "table.csv")
    try:
        with io.open(md_path, "w", encoding="utf-8") as handle:
            handle.write(text)
        write_csv(csv_path, rows)
    except (IOError, OSError) as err:
        raise UserError("cannot write into %s: %s" % (out_dir, " ".join(str(err).split())))
    written += [md_path, csv_path]
    datasets = sorted(set(r.dataset for r in runs) | set(r["dataset"] for r in rows
                                                         if r["kind"] == "policy"))
    for dataset in datasets:
        ds_runs = [r for r in runs if r.dataset == dataset]
        ds_rows = [r for r in rows if r["dataset"] == dataset and r["kind"] != "published"]
        base = os.path.join(out_dir, _safe_name(dataset))
        if plot_online_reward(base + "_online_reward.png", dataset, ds_runs,
                              [r for r in ds_rows if r["kind"] == "policy"]):
            written.append(base + "_online_reward.png")
        if plot_precision(base + "_precision.png", dataset, ds_runs):
            written.append(base + "_precision.png")
        if plot_coverage(base + "_coverage.png", dataset, ds_rows):
            written.append(base + "_coverage.png")
    return text, written
