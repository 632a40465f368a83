"""The rows of the report's table: one per (dataset, method) over finished runs, one per
simulator policy (from policy-row dicts, see `report.policies`), one per published figure.

A row is a dict with kind ("run" | "policy" | "published"), dataset, method, seeds, n, sizes,
P@1/P@3/P@5/P@10, reward, headroom, authors (clicks per session with a click under sampled
lists, the reference implementation's online figure), verbatim (the share of test sessions seen
verbatim in training, %), coverage@10, wall_time (each a `(mean, std, n)` triple),
reward_values (per seed), coverage_curves and notes.

What the policy rows know (`label_rows`, SPEC 6): a dataset's policy rows are matched to the
registered simulator whose labelled reference policies they name (`sim.registry.for_policies`),
and each row of its references gets `knows` ("history-based" | "state-aware") and `role`
("ceiling": the simulator's history-based ceiling; "state ceiling": its state-aware fallback;
"bound": one of its `bounds`, shown beside the ceiling; None). Rows of no simulator found keep
`knows` None, and a row named as some simulator's ceiling (`sim.registry.ceilings`) is then the
ceiling, as before the labels.

Headroom captured (`add_headroom`): per dataset, with L the online reward of the policy that
wrote the log and C that of the history-based ceiling (MDP: `belief`; neural oracle: `oracle`;
RecSim: `posterior`), a reward m counts as `100 * (m - L) / (C - L)` %: 0 % = the logging
policy, 100 % = the ceiling, computed per seed and then averaged. Without a row of the
history-based ceiling it is measured against the state-aware fallback (RecSim: `oracle`), and
the notes say so (`ceiling_text`).
No TensorFlow, no absl.
"""
import collections

from irecgan.errors import UserError
from irecgan.report.runs import read_json
from irecgan.report.stats import (COVERAGE_K, as_number, coverage_curve, get_nested,
                                   mean_curve, mean_std, run_curve)
from irecgan.sim import registry

METHOD_ORDER = ("lstm", "pg", "irecgan_nod", "irecgan", "irecgan_seq", "irecgan_true",
                "irecgan_true_r01")
POLICY_ORDER = ("random", "max", "mix", "belief", "imitation", "logging", "quality", "oracle",
                "oracle_train", "posterior", "bayes")
CEILING, STATE_CEILING, BOUND = "ceiling", "state ceiling", "bound"   # a policy row's `role`
ROLE_NOTES = {CEILING: " (the ceiling)", BOUND: " (a bound)"}   # in `knows_notes`
NONE = (float("nan"), float("nan"), 0)

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


def method_rank(method):
    """Sort key of a method or policy name: the policies of POLICY_ORDER first (a name such as
    "belief (10 sessions)" counts as its first word), then METHOD_ORDER, then any other name."""
    name = str(method).split()[0].split("(")[0].strip().lower() if str(method).strip() else ""
    if name in POLICY_ORDER:
        return (0, POLICY_ORDER.index(name), str(method))
    if method in METHOD_ORDER:
        return (2, METHOD_ORDER.index(method), str(method))
    return (3, 0, str(method))


def row_sort_key(row):
    """Datasets alphabetically; within one: policy rows (random, max, mix, logging), other policy
    rows, then lstm, pg, irecgan_nod, irecgan, irecgan_seq, irecgan_true, then any other method
    by name."""
    rank = method_rank(row["method"])
    if row["kind"] == "policy" and rank[0] != 0:
        rank = (1, 0, str(row["method"]))
    return (str(row["dataset"]), rank)


def run_rows(runs):
    """One row per (dataset, method) over the finished runs (see `aggregate_rows`)."""
    groups = collections.OrderedDict()
    for run in runs:
        if run.finished:
            groups.setdefault((run.dataset, run.method), []).append(run)
    rows = []
    for (dataset, method), group in groups.items():
        group = sorted(group, key=lambda r: (as_number(r.seed), r.path))
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
            row["P@%d" % k] = mean_std([get_nested(r.results, "offline", "test", "P@%d" % k)
                                        for r in group])
        row["reward_values"] = [get_nested(r.results, "online", "reward_mean") for r in group]
        row["reward"] = mean_std(row["reward_values"])
        row["authors"] = mean_std([get_nested(r.results, "online_sampled", "clicks_mean_clicked")
                                   for r in group])
        row["verbatim"] = mean_std([get_nested(r.results, "data", "test_verbatim_share_pct")
                                    for r in group])
        row["headroom"] = NONE
        curves = [coverage_curve(get_nested(r.results, "online")) for r in group]
        curves = [c for c in curves if c is not None]
        row["coverage_curves"] = curves
        row["coverage@10"] = mean_std([c[COVERAGE_K - 1] for c in curves])
        row["wall_time"] = mean_std([r.wall_time for r in group])
        add_user_fit(row, group)
        for key, value in (("d_heldout_pretrain", "d_heldout_accuracy"),
                           ("d_heldout_last", "d_heldout_accuracy"),
                           ("d_auc_pretrain", "d_heldout_auc"), ("d_auc_last", "d_heldout_auc")):
            row[key] = mean_std([heldout_d(r, value, key.endswith("pretrain")) for r in group])
        rows.append(row)
    return rows


USER_FIT_KEYS = ("P@1", "ll", "P@1_click", "ll_click")


def add_user_fit(row, group):
    """U's fit on the test split over the runs of `group` (Run.user_fit, see irecgan.evaluation.user_fit):
    row["user_<key>"] and row["true_<key>"] for key in USER_FIT_KEYS (`(mean, std, n)`; the
    truth's figures depend on the seed's test split, so they are averaged too) and
    row["truth_kind"] ("bayes", "oracle", "empirical", several joined by "/", or None)."""
    fits = [r.user_fit for r in group]
    truths = [f.get("truth") if isinstance(f, dict) else None for f in fits]
    for key in USER_FIT_KEYS:
        row["user_" + key] = mean_std([get_nested(f, key) for f in fits])
        row["true_" + key] = mean_std([get_nested(t, key) for t in truths])
    kinds = sorted(set(str(t.get("kind")) for t in truths if isinstance(t, dict)))
    row["truth_kind"] = "/".join(kinds) if kinds else None


def heldout_d(run, key, pretrain):
    """D's held-out `key` (d_heldout_accuracy / d_heldout_auc) after D pretraining
    (`pretrain`) or at the last adversarial epoch; None for runs without D."""
    phase = "d_pretrain" if pretrain else "adversarial"
    values = [m.get(key) for m in run.metrics if m.get("phase") == phase and key in m]
    return values[-1] if values else None


def policy_row(entry, source="policy rows"):
    """A table row from one policy-row dict {"dataset", "method", "reward": [per env seed],
    "coverage@10": [...], "coverage": [[c1..c10] per env seed], optional "seeds",
    "n_sessions", "clicks_clicked": [per env seed], "P@1" / "P@3" / "P@5" / "P@10": [per
    seed] (offline rows), "source" (the CSV's source column; default: a simulator policy),
    "notes" and "paths" (listed under the table)}."""
    if not isinstance(entry, dict) or "dataset" not in entry or "method" not in entry:
        raise UserError("%s: each policy row needs 'dataset' and 'method'" % source)
    rewards = entry.get("reward") or []
    curves = [[as_number(v) for v in c] for c in (entry.get("coverage") or []) if c]
    if any(len(c) != COVERAGE_K for c in curves):
        raise UserError("%s: %s / %s: each 'coverage' entry must hold %d values (coverage@1..%d)"
                        % (source, entry["dataset"], entry["method"], COVERAGE_K, COVERAGE_K))
    cov10 = entry.get("coverage@10")
    if cov10 is None:
        cov10 = [c[COVERAGE_K - 1] for c in curves if len(c) >= COVERAGE_K]
    precision = dict((k, entry.get("P@%d" % k) or []) for k in (1, 3, 5, 10))
    n = max([len(rewards)] + [len(v) for v in precision.values()])
    seeds = entry.get("seeds") or list(range(1, n + 1))
    row = {"kind": "policy", "dataset": str(entry["dataset"]), "method": str(entry["method"]),
           "seeds": list(seeds), "n": n, "paths": [str(p) for p in entry.get("paths") or []],
           "notes": [str(t) for t in entry.get("notes") or []], "source": entry.get("source"),
           "sizes": "", "reward": mean_std(rewards), "reward_values": list(rewards),
           "coverage@10": mean_std(cov10), "coverage_curves": curves, "wall_time": NONE,
           "n_sessions": entry.get("n_sessions"),
           "authors": mean_std(entry.get("clicks_clicked") or []), "verbatim": NONE,
           "headroom": NONE}
    for k in (1, 3, 5, 10):
        row["P@%d" % k] = mean_std(precision[k])
    return row


def simulators_of(entries):
    """dataset -> the registered simulator of its policy rows (`registry.for_policies` on
    their names; `entries`: policy-row dicts or rows), for the datasets where one is found."""
    names = collections.OrderedDict()
    for e in entries:
        if isinstance(e, dict) and e.get("kind", "policy") == "policy" and "dataset" in e:
            names.setdefault(e["dataset"], set()).add(e.get("method"))
    found = ((d, registry.for_policies(n)) for d, n in names.items())
    return dict((d, s) for d, s in found if s is not None)


def policy_label(simulators, dataset, method):
    """`(knows, role)` of the policy row `method` of `dataset` (module docstring)."""
    simulator = simulators.get(dataset)
    if simulator is None:
        return None, CEILING if method in registry.ceilings() else None
    role = (CEILING if method == simulator.ceiling else
            STATE_CEILING if method == simulator.state_ceiling else
            BOUND if method in simulator.bounds else None)
    return simulator.knows.get(method), role


def label_rows(rows, simulators=None):
    """Set `knows` and `role` of every policy row of `rows` that has none yet; `simulators`:
    dataset -> simulator (default `simulators_of(rows)`). Returns `rows`."""
    if simulators is None:
        simulators = simulators_of(rows)
    for row in rows:
        if row["kind"] == "policy" and "role" not in row:
            row["knows"], row["role"] = policy_label(simulators, row["dataset"], row["method"])
    return rows


def ceiling_row(rows, dataset):
    """The row of `dataset`'s ceiling among `rows` (policy rows with an online reward, labelled
    by `label_rows`): its history-based ceiling, else its state-aware fallback, else None."""
    label_rows(rows)
    policies = [r for r in rows if r["kind"] == "policy" and r["dataset"] == dataset
                and r["reward"][2]]
    for role in (CEILING, STATE_CEILING):
        mine = [r for r in policies if r.get("role") == role]
        order = list(registry.ceilings())
        mine.sort(key=lambda r: order.index(r["method"]) if r["method"] in order else len(order))
        if mine:
            return mine[0]
    return None


def ceiling_text(row):
    """What a ceiling row is, for the notes: "the history-based ceiling", or plainly that the
    headroom is measured against a state-aware reference."""
    if row.get("knows") == "history-based":
        return "the history-based ceiling"
    if row.get("knows") == "state-aware":
        return ("a STATE-AWARE reference (it reads the user's hidden state; the table has no "
                "history-based ceiling row), which no history-based policy can be expected to "
                "reach")
    return "the ceiling (what it knows is not declared)"


def ceiling_note(rows, dataset, name):
    """`ceiling_text` of the policy row `name` of `dataset` among `rows`."""
    found = [r for r in rows if r["kind"] == "policy" and r["dataset"] == dataset
             and r["method"] == name]
    return ceiling_text(found[0]) if found else ceiling_text({})


def knows_notes(rows):
    """The notes saying what each dataset's labelled policy rows know (SPEC 6), one line per
    dataset with labels."""
    lines = []
    for dataset in datasets_in_order(rows):
        labels = collections.OrderedDict()
        for r in rows:
            if r["kind"] == "policy" and r["dataset"] == dataset and r.get("knows"):
                labels.setdefault(r["knows"], []).append(
                    "`%s`%s" % (r["method"], ROLE_NOTES.get(r.get("role"), "")))
        if labels:
            lines.append("* %s, what the reference rows know: %s." % (dataset, "; ".join(
                "%s: %s" % (k, ", ".join(v)) for k, v in labels.items())))
    return lines


def bound_rows(rows, dataset):
    """The rows of `dataset`'s bounds among `rows` (policy rows with an online reward and the
    role BOUND, `label_rows`), in the table's order."""
    label_rows(rows)
    return [r for r in rows if r["kind"] == "policy" and r["dataset"] == dataset
            and r["reward"][2] and r.get("role") == BOUND]


def reference_lines(rows, dataset, logging_name=None):
    """`[(role, row)]` of the reference lines a plot of `dataset` draws, in order: its ceiling
    ("ceiling", `ceiling_row`), its bounds ("bound", `bound_rows`) and the logging policy
    `logging_name` ("logging policy"), each when among `rows`."""
    ceiling, logged = reference_rows(rows, dataset, logging_name)
    lines = [("ceiling", ceiling)] + [("bound", r) for r in bound_rows(rows, dataset)]
    return [(role, row) for role, row in lines + [("logging policy", logged)] if row is not None]


def reference_rows(rows, dataset, logging_name=None):
    """`(ceiling row, logging-policy row)` of `dataset` among `rows` (policy rows with an online
    reward): `ceiling_row`, and the row named `logging_name`; either is None when absent."""
    policies = dict((r["method"], r) for r in rows
                    if r["kind"] == "policy" and r["dataset"] == dataset and r["reward"][2])
    return (ceiling_row(rows, dataset),
            policies.get(logging_name) if logging_name else None)


def add_headroom(rows, logging):
    """Set each row's `headroom` (see the module docstring) where its dataset has a policy row
    of its logging policy (`logging`: dataset -> policy name) and of a ceiling with a higher
    reward. Returns {dataset: (logging name, L, ceiling name, C)} for the datasets where it did,
    and {dataset: reason} for those where it could not."""
    done, skipped = collections.OrderedDict(), collections.OrderedDict()
    datasets = sorted(set(r["dataset"] for r in rows if r["kind"] != "published"))
    for dataset in datasets:
        policies = dict((r["method"], r) for r in rows
                        if r["kind"] == "policy" and r["dataset"] == dataset and r["reward"][2])
        name = (logging or {}).get(dataset)
        top = ceiling_row(rows, dataset)
        ceiling = [top["method"]] if top is not None else []
        if not name or name not in policies or not ceiling:
            if name or ceiling:
                skipped[dataset] = ("no row of its logging policy" if not name
                                    or name not in policies else "no ceiling row")
            continue
        low, high = policies[name]["reward"][0], policies[ceiling[0]]["reward"][0]
        if not high > low:
            skipped[dataset] = ("its logging policy %s (%.3f) is not below the ceiling %s "
                                "(%.3f)" % (name, low, ceiling[0], high))
            continue
        for r in rows:
            if r["dataset"] == dataset and r["kind"] != "published" and r["reward"][2]:
                r["headroom"] = mean_std([100.0 * (as_number(v) - low) / (high - low)
                                          for v in r["reward_values"]])
        done[dataset] = (name, low, ceiling[0], high)
    return done, skipped


def read_policy_rows(path):
    """The policy rows of a JSON file (a list of dicts as `policy_rows` returns)."""
    entries = read_json(path)
    if not isinstance(entries, list):
        raise UserError("%s: expected a JSON list of policy rows" % path)
    return entries


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
                   "reward": NONE, "reward_values": [], "authors": NONE, "verbatim": NONE,
                   "headroom": NONE,
                   "coverage@10": (float("nan"), float("nan"), 0), "coverage_curves": [],
                   "wall_time": (float("nan"), float("nan"), 0), "published_note": entry["note"],
                   "P@10 text": entry.get("P@10 text")}
            for k in (1, 3, 5, 10):
                value = entry.get("P@%d" % k)
                row["P@%d" % k] = ((float(value), float("nan"), 1) if value is not None
                                   else (float("nan"), float("nan"), 0))
            rows.append(row)
    return rows


def aggregate_rows(runs, policy_entries=(), source="policy rows", simulators=None):
    """Run rows (finished runs only) and policy rows, in table order. Each row is a dict with
    kind ("run" | "policy"), dataset, method, seeds, n, sizes, P@1/P@3/P@5/P@10, reward,
    coverage@10, wall_time (each a `(mean, std, n)` triple), coverage_curves, notes; policy
    rows also knows and role (`label_rows`, with `simulators` when given)."""
    rows = run_rows(runs) + label_rows([policy_row(e, source) for e in policy_entries],
                                       simulators)
    counts = collections.Counter((r["dataset"], r["method"]) for r in rows)
    twice = sorted("%s / %s" % key for key, n in counts.items() if n > 1)
    if twice:
        raise UserError("%s: a table holds one row per dataset and method, but these come more "
                        "than once: %s" % (source, ", ".join(twice)))
    return sorted(rows, key=row_sort_key)


def datasets_in_order(items):
    """The distinct "dataset" values of the dicts `items`, in order of first appearance."""
    out = []
    for item in items:
        if item["dataset"] not in out:
            out.append(item["dataset"])
    return out


def method_curves(runs, key):
    """OrderedDict method -> (xs, means, stds, counts) over the finished runs, in method order;
    methods without any value are left out."""
    by_method = collections.OrderedDict()
    for run in sorted(runs, key=lambda r: method_rank(r.method)):
        if not run.finished:
            continue
        curve = run_curve(run, key)
        if curve:
            by_method.setdefault(run.method, []).append(curve)
    return collections.OrderedDict((m, mean_curve(c)) for m, c in by_method.items())
