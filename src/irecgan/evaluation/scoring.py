"""Scoring any recommendation policy on our simulator benchmarks (`irecgan-benchmark`).

A policy is evaluated online exactly as a run's final evaluation evaluates its agent
(`experiment.Evaluator.online`: `sim.online.evaluate(env, policy, n_sessions=online_sessions,
seed=online_seed)`, lock-step batches of 500 sessions, at most 40 steps), and set beside the
simulator's reference policies (its logging policy and the history-based ceiling, evaluated as
`irecgan-report --env_params` evaluates them: `report.policy_rows`) with the headroom captured
computed by `report.add_headroom`, the report's own function.

The policy protocol
-------------------
A policy is a plain callable (no factory), called once per step for a batch of B live sessions:

    items = policy(clicks, purchases, k, rng)

* `clicks`: a list of B int64 numpy arrays, each session's clicked simulator item ids so far,
  oldest first; the session's start item (given by the simulator, no list shown) comes first,
  so every array holds at least one id.
* `purchases`: a list of B bool numpy arrays of the same lengths, whether each click was a
  purchase (the start item: False; always False on the MDP).
* `k`: the number of items to recommend (an int).
* `rng`: a `numpy.random.RandomState(online_seed)`, the same object for every call of one
  evaluation, so a policy that draws only from it repeats its figures exactly. It is a separate
  object from the simulator's own `RandomState(online_seed)`, as the runs' sampled-list
  evaluation seeds its noise.

It returns an integer array-like of shape [B, k]: per row, k distinct item ids in
0..n_items-1 (any order; the simulator reads the list as shown). The arrays passed in are
copies: the policy may keep or modify them. The output is checked at every call; a violation
stops the evaluation with one line naming the policy, the step (the number of clicks so far,
start item included) and the row of the batch: wrong shape, a non-integer id, an id out of
range, an id twice in a row. Before anything else (the simulator's reference policies, the
evaluation) the policy is called once on a probe batch of PROBE_SESSIONS sessions whose start items
are 0, 1, 2, ... (with an rng of its own, so a policy that draws only from its rng repeats its
figures): a policy that does not follow the protocol fails in seconds. An exception raised by the
policy (a wrong signature, an error inside it) is one line naming the policy, the step and the
protocol (`debug=True`, the CLI's --debug: the exception itself, with its traceback).

`savedmodel:DIR` adapts an exported agent (the SavedModel of `irecgan.export.export_agent`,
tag "serve", signature "recommend": history tf.string [B, T] right-padded with "", length
tf.int32 [B], k tf.int32 -> items tf.string [B, k]) to this protocol through plain TensorFlow,
without any irecgan file: the ids are passed as their decimal strings.
"""
import collections
import importlib
import io
import json
import os
import sys

import numpy as np

from irecgan import report
from irecgan.errors import UserError
from irecgan.report.rows import add_headroom, policy_row, row_sort_key
from irecgan.report.runs import BENCHMARK, BENCHMARK_FORMAT, read_benchmark
from irecgan.report.stats import coverage_curve
from irecgan.report.tables import markdown
from irecgan.sim import online, registry

SAVEDMODEL = "savedmodel:"
FORMAT = BENCHMARK_FORMAT   # the "format" key of benchmark.json
FILENAME = BENCHMARK
POLICY_SEEDS = (1, 2, 3, 4, 5)  # irecgan-report's default --policy_seeds
POLICY_SESSIONS = 1000          # irecgan-report's default --policy_sessions
PROBE_SESSIONS = 4              # sessions of the probe call before the evaluation
PROTOCOL = "policy(clicks, purchases, k, rng) -> [B, k] item ids"


def load_policy(spec):
    """The callable named by `spec`: `MODULE:CALLABLE` (a dotted attribute path inside the
    module; the current directory is importable) or `savedmodel:DIR` (a `SavedModelPolicy`).
    A bad spec is a `UserError`."""
    if spec.startswith(SAVEDMODEL):
        return SavedModelPolicy(spec[len(SAVEDMODEL):])
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UserError("--policy expects MODULE:CALLABLE or savedmodel:DIR, got %r" % spec)
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj = importlib.import_module(module_name)
    except Exception as err:  # the module's own import errors are the user's to see, in one line
        raise UserError("--policy %s: cannot import %s: %s: %s" % (
            spec, module_name, type(err).__name__, " ".join(str(err).split())))
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError("--policy %s: %s has no attribute %r" % (
                spec, getattr(obj, "__name__", module_name), part))
        obj = getattr(obj, part)
    if not callable(obj):
        raise UserError("--policy %s: %s is not callable (a %s)" % (spec, attr,
                                                                    type(obj).__name__))
    return obj


class ProtocolPolicy(object):
    """A protocol policy (see the module docstring) as a `sim.online` policy: it receives the
    rollout's histories and purchase flags (`with_purchases`), calls `policy(clicks, purchases,
    k, rng)` and checks its answer (`UserError` naming `name`, the step and the row)."""

    with_purchases = True

    def __init__(self, policy, name, n_items, k, rng, debug=False):
        if not 1 <= int(k) <= int(n_items):
            raise UserError("--k must be in 1..%d (the simulator's items), got %d"
                            % (n_items, k))
        self.policy = policy
        self.name = name
        self.n_items = int(n_items)
        self.k = int(k)
        self.rng = rng
        self.debug = bool(debug)

    def __call__(self, histories, states, purchases, where=""):
        clicks = [np.array(h, dtype=np.int64) for h in histories]
        bought = [np.array(p, dtype=bool) for p in purchases]
        step = len(histories[0])   # lock step: every live session has as many clicks
        here = "policy %s, step %d%s" % (self.name, step, where)
        try:
            out = self.policy(clicks, bought, self.k, self.rng)
        except Exception as err:  # the user's code: one line unless --debug
            if self.debug:
                raise
            raise UserError("%s: raised %s: %s (the protocol: %s; --debug shows the traceback)"
                            % (here, type(err).__name__, " ".join(str(err).split())[:300],
                               PROTOCOL))
        try:
            return check_lists(out, len(histories), self.k, self.n_items, here)
        except UserError as err:
            raise UserError("%s (the protocol: %s)" % (err, PROTOCOL))

    def probe(self, n=PROBE_SESSIONS):
        """Call the policy once on `n` one-click sessions (start items 0, 1, ...) with an rng of
        its own; a policy that breaks the protocol raises the `UserError` of `__call__`."""
        policy = ProtocolPolicy(self.policy, self.name, self.n_items, self.k,
                                np.random.RandomState(0), debug=self.debug)
        starts = [[i % self.n_items] for i in range(n)]
        policy(starts, None, [[False]] * n, where=" (a probe batch of %d sessions before the "
               "evaluation)" % n)


def check_lists(out, n, k, n_items, where):
    """`out` as an int64 array [n, k] of distinct ids in 0..n_items-1 per row, or a `UserError`
    "`where`, row R: ..." (`where`: ... for a wrong overall shape)."""
    rows = _rows(out, where)
    if len(rows) != n:
        raise UserError("%s: returned %d rows for a batch of %d sessions (expected an [%d, %d] "
                        "array of item ids)" % (where, len(rows), n, n, k))
    lists = np.zeros((n, k), np.int64)
    for r, row in enumerate(rows):
        here = "%s, row %d" % (where, r)
        try:
            values = np.asarray(row)
        except ValueError:  # numpy >= 1.24: a ragged row
            values = np.asarray(row, dtype=object)
        if values.ndim != 1 or values.shape[0] != k:
            raise UserError("%s: expected %d item ids, got %s" % (
                here, k, "shape %s" % (values.shape,) if values.ndim != 1
                else "%d" % values.shape[0]))
        ids = []
        for value in values.tolist():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                    isinstance(value, float) and not (np.isfinite(value) and value == int(value))):
                raise UserError("%s: item id %r is not an integer" % (here, value))
            ids.append(int(value))
        bad = [i for i in ids if not 0 <= i < n_items]
        if bad:
            raise UserError("%s: item id %d is outside 0..%d" % (here, bad[0], n_items - 1))
        twice = [i for i, c in collections.Counter(ids).items() if c > 1]
        if twice:
            raise UserError("%s: item id %d appears %d times (a list holds k distinct items)"
                            % (here, twice[0], ids.count(twice[0])))
        lists[r] = ids
    return lists


def _rows(out, where):
    if isinstance(out, np.ndarray):
        if out.ndim != 2:
            raise UserError("%s: returned an array of shape %s, expected [batch, k]"
                            % (where, out.shape))
        return list(out)
    try:
        return list(out)
    except TypeError:
        raise UserError("%s: returned %s, expected an [batch, k] array of item ids"
                        % (where, type(out).__name__))


class SavedModelPolicy(object):
    """An exported agent (a TF SavedModel with the "recommend" signature, see the module
    docstring) as a protocol policy, loaded with `tf.saved_model.loader.load` into its own graph
    and session (the TF 1.x loader, in `tensorflow.compat.v1` on TF 2.x: this package runs TF in
    graph mode on both stacks). `close()` ends the session."""

    def __init__(self, path, tag="serve", signature="recommend"):
        if not os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise UserError("--policy savedmodel:%s: no saved_model.pb in %s" % (path, path))
        from irecgan.tfcompat import tf
        self.path = path
        self.graph = tf.Graph()
        self.session = tf.Session(graph=self.graph)
        try:
            meta = tf.saved_model.loader.load(self.session, [tag], path)
        except Exception as err:
            self.session.close()
            raise UserError("--policy savedmodel:%s: cannot load the SavedModel: %s" % (
                path, " ".join(str(err).split())[:300]))
        if signature not in meta.signature_def:
            self.session.close()
            raise UserError("--policy savedmodel:%s: no %r signature (it has %s)" % (
                path, signature, ", ".join(sorted(meta.signature_def)) or "none"))
        sig = meta.signature_def[signature]
        missing = sorted(set(("history", "length", "k")) - set(sig.inputs)) + sorted(
            set(("items",)) - set(sig.outputs))
        if missing:
            self.session.close()
            raise UserError("--policy savedmodel:%s: the %r signature lacks %s" % (
                path, signature, ", ".join(missing)))
        self.inputs = dict((key, sig.inputs[key].name) for key in ("history", "length", "k"))
        self.items = sig.outputs["items"].name

    def __call__(self, clicks, purchases, k, rng):
        longest = max(len(c) for c in clicks)
        history = np.full((len(clicks), longest), "", dtype=object)
        for row, c in enumerate(clicks):
            history[row, :len(c)] = [str(int(x)) for x in c]
        feed = {self.inputs["history"]: history,
                self.inputs["length"]: np.array([len(c) for c in clicks], np.int32),
                self.inputs["k"]: np.int32(k)}
        items = self.session.run(self.items, feed)
        return [[_item_id(x) for x in row] for row in items]

    def close(self):
        self.session.close()


def _item_id(raw):
    """A raw item id string of the SavedModel (bytes) as an int, or the string itself when it is
    none (`check_lists` then names it as a non-integer)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        return int(text)
    except ValueError:
        return text


def policy_name(spec):
    """The default row name of a `--policy` spec: its callable, or `savedmodel:<folder name>`."""
    if spec.startswith(SAVEDMODEL):
        return SAVEDMODEL + os.path.basename(os.path.normpath(spec[len(SAVEDMODEL):]))
    return spec.partition(":")[2] or spec


def benchmark(policy, env_params, k=10, online_sessions=1000, online_seed=0, name="policy",
              dataset=None, logging_policy=None, policy_seeds=POLICY_SEEDS,
              policy_sessions=POLICY_SESSIONS, spec=None, debug=False):
    """Evaluate the protocol callable `policy` online on the simulator of `env_params` and beside
    its reference policies; returns the content of benchmark.json (an OrderedDict):

    * `online`: `sim.online.evaluate`'s figures (reward mean / std, clicks, coverage@k on the
      MDP, ...) with `online_sessions` sessions and `online_seed`, as a run's final evaluation;
    * `row`: the policy's row in the format of `report.policy_rows` (dataset `dataset`, default
      the parameter file's name up to its first dot; method `name`; env seed `online_seed`),
      which `irecgan-report` shows in its table;
    * `reference_rows`: the simulator's reference policies (`report.environment_policies`,
      evaluated by `report.policy_rows` on `policy_seeds` x `policy_sessions`, exactly as
      `irecgan-report --env_params` does);
    * `headroom`: the share of the way from `logging_policy` (default: irecgan-simulate's
      default logging policy of the simulator) to the ceiling that the policy's reward covers,
      in %, by `report.add_headroom`, with what the ceiling knows (`ceiling_knows`:
      "history-based", or "state-aware" when the simulator has no history-based one), or the
      reason there is none.

    The policy is first called on a probe batch (`ProtocolPolicy.probe`), before anything is
    computed; `debug`: its exceptions propagate as they are instead of a one-line UserError.
    """
    simulator = registry.for_file(env_params)
    ProtocolPolicy(policy, name, simulator.item_count(env_params), k, None, debug=debug).probe()
    kind = simulator.kind
    if dataset is None:
        dataset = report.env_spec(env_params)[0]
    logging_policy = logging_policy or simulator.default_logging
    # the reference policies' simulator and draws as irecgan-report makes them; the policy gets
    # a simulator of its own, untouched by them, as a run's evaluation does
    ref_env, references = report.environment_policies(
        env_params, np.random.RandomState(report.POLICY_RNG_SEED))
    if name in references:
        raise UserError("--name %s is the name of one of the simulator's reference policies (%s)"
                        % (name, ", ".join(references)))
    if logging_policy not in references:
        raise UserError("--logging_policy must name one of the simulator's policies (%s), got %r"
                        % (", ".join(references), logging_policy))
    env, _ = report.environment_policies(env_params, np.random.RandomState(report.POLICY_RNG_SEED))
    checked = ProtocolPolicy(policy, name, env.n_items, k, np.random.RandomState(online_seed),
                             debug=debug)
    figures = online.evaluate(env, checked, n_sessions=online_sessions, seed=online_seed)
    entry = own_row(figures, dataset, name, online_seed, online_sessions, spec)
    ref_entries = report.policy_rows(ref_env, references, list(policy_seeds), policy_sessions,
                                     dataset=dataset)
    rows = [policy_row(e) for e in [entry] + ref_entries]
    done, skipped = add_headroom(rows, {dataset: logging_policy})
    result = collections.OrderedDict([
        ("format", FORMAT), ("policy", spec), ("method", name), ("dataset", dataset),
        ("env_params", env_params), ("env_kind", kind), ("k", int(k)),
        ("online_sessions", int(online_sessions)), ("online_seed", int(online_seed)),
        ("policy_seeds", [int(s) for s in policy_seeds]),
        ("policy_sessions", int(policy_sessions)), ("logging_policy", logging_policy),
        ("online", figures), ("row", entry), ("reference_rows", ref_entries)])
    if dataset in done:
        low_name, low, ceiling, high = done[dataset]
        result["headroom"] = collections.OrderedDict([
            ("pct", rows[0]["headroom"][0]), ("logging", low_name), ("logging_reward", low),
            ("ceiling", ceiling), ("ceiling_reward", high),
            ("ceiling_knows", simulator.knows.get(ceiling))])
    else:
        result["headroom"] = collections.OrderedDict([
            ("pct", None), ("reason", skipped.get(dataset, "no ceiling row"))])
    return result


def own_row(figures, dataset, name, seed, n_sessions, spec=None):
    """The policy-row dict (`report.policy_rows`' format) of one online evaluation."""
    row = collections.OrderedDict([
        ("dataset", dataset), ("method", name), ("seeds", [int(seed)]),
        ("n_sessions", int(n_sessions)), ("reward", [figures["reward_mean"]]),
        ("clicks_clicked", [figures["clicks_mean_clicked"]])])
    curve = coverage_curve(figures)
    if curve is not None:
        row["coverage@10"] = [curve[-1]]
        row["coverage"] = [curve]
    row["source"] = "benchmark (irecgan-benchmark)"
    row["notes"] = ["a policy scored by irecgan-benchmark%s, online seed %d, %d sessions"
                    % (" --policy=%s" % spec if spec else "", int(seed), int(n_sessions))]
    return row


def table_text(result, title=None):
    """The markdown table (`report.tables.markdown`) of a benchmark result: the reference rows
    and the policy's row, with the headroom column and its note."""
    rows = [policy_row(e) for e in [result["row"]] + result["reference_rows"]]
    headroom = add_headroom(rows, {result["dataset"]: result["logging_policy"]})
    return markdown(sorted(rows, key=row_sort_key), [],
                    title=title or "irecgan-benchmark: %s on %s" % (result["method"],
                                                                     result["dataset"]),
                    headroom=headroom)


def write_result(out_dir, result):
    """Write `result` to out_dir/benchmark.json (the folder is created); returns the path."""
    path = os.path.join(out_dir, FILENAME)
    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        with io.open(path, "w", encoding="utf-8") as handle:
            handle.write(u"%s\n" % json.dumps(result, indent=2))
    except (IOError, OSError) as err:
        raise UserError("cannot write %s: %s" % (path, " ".join(str(err).split())))
    return path


def read_result(path):
    """The benchmark result in `path` (a benchmark.json); `UserError` when it is not one."""
    return read_benchmark(path)
