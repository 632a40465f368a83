"""Reading run directories (made by `irecgan-train`): `config.json`, `metrics.jsonl` and, once
the run has finished, `results.json` and `timing.json` (its wall time; runs made before
timing.json kept it in results.json), and `user_fit.json` (U's fit, written by
`irecgan-evaluate --user_fit` for runs whose results.json predates its "user_fit"),
`model_value.json` (U's and the simulator's answers to the agent's own lists, written by
`irecgan-evaluate --model_value`); and the
`benchmark.json` files of `irecgan-benchmark` (a policy's row). No TensorFlow, no absl."""
import glob
import io
import json
import os

from irecgan.errors import UserError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
RESULTS = "results.json"
TIMING = "timing.json"
USER_FIT = "user_fit.json"
MODEL_VALUE = "model_value.json"
BENCHMARK = "benchmark.json"
BENCHMARK_FORMAT = "irecgan-benchmark"   # the "format" key of a benchmark.json


class Run(object):
    """One run directory: its configuration, metrics records, results (None if unfinished),
    timing (timing.json; None if absent), user_fit.json and model_value.json (None if
    absent)."""

    def __init__(self, path, config, metrics, results, timing=None, user_fit_file=None,
                 model_value=None):
        self.path = path
        self.config = config
        self.metrics = metrics
        self.results = results
        self.timing = timing
        self.user_fit_file = user_fit_file
        self.model_value = model_value

    @property
    def user_fit(self):
        """U's fit (irecgan.evaluation.user_fit): results.json["user_fit"], else user_fit.json; None when
        neither holds one (runs without a user model)."""
        if isinstance(self.results, dict) and isinstance(self.results.get("user_fit"), dict):
            return self.results["user_fit"]
        return self.user_fit_file

    @property
    def wall_time(self):
        """Seconds the run took (timing.json; results.json in runs made before it existed)."""
        for source in (self.timing, self.results):
            if isinstance(source, dict) and "wall_time_s" in source:
                return source["wall_time_s"]
        return None

    @property
    def machine(self):
        """(stack, CPU fingerprint) from results.json's "machine" (irecgan.rundir.machine), e.g.
        ("Python 3.11.7, numpy 2.4.1, TF 2.21.0", "c6f2d090725a"); None for runs made before
        results.json recorded it."""
        described = self.results.get("machine") if isinstance(self.results, dict) else None
        if not isinstance(described, dict):
            return None
        return ("Python %s, numpy %s, TF %s" % (described.get("python"), described.get("numpy"),
                                               described.get("tensorflow")),
                str(described.get("cpu_fingerprint")))

    @property
    def finished(self):
        return self.results is not None

    @property
    def method(self):
        """The method's name in tables (`method_label`, with the run's folder: run_sim.sh's
        RUNS/runs/<log>/<method>/seed<N>)."""
        return method_label(self.config, os.path.basename(os.path.dirname(
            os.path.normpath(self.path))))

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


def method_label(config, folder=None):
    """The name of a run's method in tables and run folders: its config's `method`, except
    irecgan with D's sequence head (`d_head=sequence`, SPEC 3.3), `irecgan_seq`, and with any
    other non-default head, `irecgan (d_head=NAME)`; and irecgan_true trained mostly on its
    true-world sessions (`offline_ratio=0.1`, 10 generated per offline session), `irecgan_true_r01`
    (run_sim.sh's alias; any other ratio keeps the plain name, as for the other methods) unless
    the run's `folder` (run_sim.sh names it after the method it was asked for) is
    `irecgan_true`: at a preset whose every method runs at 0.1 (`--preset=converged`) it is
    the plain control. An agent objective other than the paper's (issue 34) is appended,
    `irecgan_true@advantage`, so that runs of different objectives never share a row, with
    `+paper_logged` when its logged sessions carry the paper's term (`logged_term=paper`),
    `+paper_own` when its own sessions keep the paper's click term (`own_clicks=paper`), and a
    generation temperature other than 1 as `T<t>`: `irecgan_true@slate+paper_logged+T0.5`,
    `irecgan_true@T0.5` (the paper's objective at T = 0.5). Fused LSTMs (`fused_lstm`, other
    last bits) add `fused`: `irecgan@fused`; length-bucketed D batches (`d_bucket_window=N`)
    `bucketN`: `irecgan@fused+bucket20`; the agent's returns without q_D (`agent_q_d=false`)
    `no_q_d`: `irecgan_seq@no_q_d`."""
    method = str(config.get("method", "?"))
    head = config.get("d_head")
    if method == "irecgan" and head not in (None, "authors"):
        label = "irecgan_seq" if head == "sequence" else "irecgan (d_head=%s)" % head
    elif (method == "irecgan_true" and config.get("offline_ratio") == 0.1
          and folder != "irecgan_true"):
        label = "irecgan_true_r01"
    else:
        label = method
    parts = []
    objective = config.get("agent_objective")
    if objective not in (None, "paper"):
        parts.append(str(objective))
        if config.get("logged_term", "objective") != "objective":
            parts.append("%s_logged" % config["logged_term"])
        if config.get("own_clicks", "none") != "none":
            parts.append("%s_own" % config["own_clicks"])
    temperature = config.get("gen_temperature", 1.0)
    if temperature not in (None, 1.0):
        parts.append("T%g" % float(temperature))
    if config.get("fused_lstm"):
        parts.append("fused")
    if config.get("d_bucket_window"):
        parts.append("bucket%d" % int(config["d_bucket_window"]))
    if config.get("agent_q_d") is False:   # the ablation: D shapes U only
        parts.append("no_q_d")
    return label + ("@" + "+".join(parts) if parts else "")


def split_label(label):
    """`(method, variant)` of a `method_label`: `("irecgan_nod", "slate+paper_logged")` for
    `irecgan_nod@slate+paper_logged`, `("irecgan", "")` for `irecgan`."""
    method, _, variant = label.partition("@")
    return method, variant


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
    timing_path = os.path.join(path, TIMING)
    timing = read_json_object(timing_path) if os.path.exists(timing_path) else None
    fit_path = os.path.join(path, USER_FIT)
    fit = read_json_object(fit_path) if os.path.exists(fit_path) else None
    value_path = os.path.join(path, MODEL_VALUE)
    value = read_json_object(value_path) if os.path.exists(value_path) else None
    return Run(path, config, metrics, results, timing, fit, value)


def find_inputs(args):
    """`(run dirs, benchmark files)`: every folder holding a config.json and every benchmark.json
    at or below the paths / glob patterns in `args` (each list sorted, without duplicates), also
    through symbolic links to folders (an experiment that reuses another's runs links them into
    its own tree); a link back to a folder already being walked is not followed again. A path that
    neither exists nor matches is a `UserError`."""
    found, marks = [], []
    for arg in args:
        matches = [arg] if os.path.exists(arg) else sorted(glob.glob(arg))
        if not matches:
            raise UserError("%s: no such file or directory" % arg)
        for match in matches:
            if os.path.isfile(match):
                if os.path.basename(match) == CONFIG:
                    found.append(os.path.dirname(os.path.abspath(match)))
                elif os.path.basename(match) == BENCHMARK:
                    marks.append(os.path.abspath(match))
                continue
            seen = set()
            for root, dirs, files in os.walk(match, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:   # a link cycle
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs.sort()
                if CONFIG in files:
                    found.append(os.path.abspath(root))
                if BENCHMARK in files:
                    marks.append(os.path.abspath(os.path.join(root, BENCHMARK)))
    return _unique(found), _unique(marks)


def _unique(paths):
    out, seen = [], set()
    for path in paths:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return sorted(out)


def find_run_dirs(args):
    """Every folder holding a config.json at or below the paths / glob patterns in `args`
    (sorted, without duplicates). A path that neither exists nor matches is a `UserError`."""
    return find_inputs(args)[0]


def load_runs(args):
    """`Run`s of every run directory under `args`; `UserError` when there is none."""
    dirs = find_run_dirs(args)
    if not dirs:
        raise UserError("no run directory (a folder with %s) under %s"
                        % (CONFIG, ", ".join(args) if args else "the given paths (none)"))
    return [load_run(d) for d in dirs]


def read_benchmark(path):
    """The result an `irecgan-benchmark` wrote to `path`; `UserError` when it is none."""
    result = read_json(path)
    if not isinstance(result, dict) or result.get("format") != BENCHMARK_FORMAT or \
            not isinstance(result.get("row"), dict):
        raise UserError("%s is not a %s of irecgan-benchmark" % (path, BENCHMARK))
    return result


def benchmark_row(path):
    """The policy-row dict (`rows.policy_row`'s input) of the benchmark.json `path`."""
    entry = dict(read_benchmark(path)["row"])
    entry["paths"] = [path]
    return entry


def load_inputs(args):
    """`(runs, benchmark rows)` of the run directories and benchmark.json files under `args`
    (see `find_inputs`); `UserError` when there is neither."""
    dirs, marks = find_inputs(args)
    if not dirs and not marks:
        raise UserError("no run directory (a folder with %s) or %s under %s"
                        % (CONFIG, BENCHMARK, ", ".join(args) if args
                           else "the given paths (none)"))
    return [load_run(d) for d in dirs], [benchmark_row(p) for p in marks]


def unfinished_runs(runs):
    return [r for r in runs if not r.finished]
