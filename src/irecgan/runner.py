"""The Runner owns the one `tf.Session` of a run and everything a run directory holds.

Run directory layout (SPEC 9):
  config.json     the resolved configuration; a run directory is bound to it
  metrics.jsonl   one JSON object per epoch / phase
  events.*        TensorBoard summaries (scalars of every metrics record)
  checkpoints/    complete-or-absent checkpoints (see checkpoint.py)
  results.json    the final metrics, written when the run finishes

Restarting with the same directory and configuration resumes from the newest complete
checkpoint; `metrics.jsonl` is cut back to the records that checkpoint had seen, so a resumed run
writes exactly what an uninterrupted one would. A directory made with another configuration is
refused (a fresh directory never picks up a stale checkpoint silently). A resumed run also
writes a TensorBoard `SessionLog.START` at the first step it will log, so that TensorBoard drops
the points of records that metrics.jsonl lost.

`read_only=True` (irecgan-evaluate) opens an existing run directory without changing anything
in it: no config, metrics, events or checkpoint files are written, truncated or deleted, so a
run can be evaluated while it trains.
"""
import io
import itertools
import json
import os
import sys
import time

import numpy as np

from irecgan.checkpoint import Checkpointer
from irecgan.errors import UserError
from irecgan.tfcompat import tf

CONFIG = "config.json"
_WRITERS = itertools.count()
METRICS = "metrics.jsonl"
RESULTS = "results.json"


def _jsonable(value):
    if isinstance(value, dict):
        return dict((str(k), _jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def write_json(path, obj):
    """Write JSON atomically (temp file + rename)."""
    tmp = path + ".tmp"
    with io.open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(_jsonable(obj), indent=2, sort_keys=True))
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, path)


def read_json(path):
    with io.open(path, encoding="utf-8") as handle:
        return json.load(handle)


def config_diff(old, new):
    """Human-readable differences between two configuration dicts."""
    keys = sorted(set(old) | set(new))
    return ["%s: %r -> %r" % (k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


class Runner(object):
    """One session over `models.graph`, bound to `run_dir` and `config` (a JSON-able dict).

    `threads`: intra/inter-op thread counts (0 = TensorFlow's default). `read_only`: see above;
    the directory must hold the same configuration, and `save` / `log_metrics` are refused.
    """

    def __init__(self, run_dir, models, config, keep_checkpoints=2, threads=0, log=None,
                 read_only=False):
        self.run_dir = run_dir
        self.models = models
        self.config = _jsonable(config)
        self.read_only = bool(read_only)
        self.log = log or (lambda msg: sys.stderr.write(msg + "\n"))
        config_path = os.path.join(run_dir, CONFIG)
        if read_only and not os.path.exists(config_path):
            raise UserError("%s: no %s (not a run directory)" % (run_dir, CONFIG))
        if not os.path.isdir(run_dir):
            os.makedirs(run_dir)
        if os.path.exists(config_path):
            old = read_json(config_path)
            diff = config_diff(old, self.config)
            if diff:
                raise UserError(
                    "%s was made with another configuration (%s); use a new --run_dir"
                    % (run_dir, "; ".join(diff[:5])))
        else:
            if os.path.isdir(os.path.join(run_dir, "checkpoints")):
                raise UserError("%s holds checkpoints but no %s; refusing to guess what they are"
                                % (run_dir, CONFIG))
            write_json(config_path, self.config)

        session_config = tf.ConfigProto(intra_op_parallelism_threads=threads,
                                        inter_op_parallelism_threads=threads)
        self.session = tf.Session(graph=models.graph, config=session_config)
        with models.graph.as_default():
            variables = tf.global_variables()
            self.saver = tf.train.Saver(variables, max_to_keep=None)
        self.checkpointer = Checkpointer(os.path.join(run_dir, "checkpoints"), self.saver,
                                         keep=keep_checkpoints, read_only=read_only)
        # events files are named by the second they are opened in and the host: a suffix keeps
        # a resumed run from overwriting its predecessor's file when both open in one second
        self.writer = None if read_only else tf.summary.FileWriter(
            run_dir, filename_suffix=".%d.%d" % (os.getpid(), next(_WRITERS)))
        self.state = self._restore_or_init()
        self._start = time.time()
        self._elapsed_before = float(self.state.get("elapsed_s", 0.0))

    # -- state and checkpoints ------------------------------------------------------------
    def _restore_or_init(self):
        state = self.checkpointer.restore(self.session)
        if state is None:
            self.session.run(self.models.init_op)
            if not self.read_only:
                self._truncate_metrics(0)
            return {"n_metrics": 0}
        if not self.read_only:
            self._truncate_metrics(state["n_metrics"])
            # TensorBoard purges the points at steps >= this one read from earlier event files
            self.writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START),
                                        state["n_metrics"] + 1)
            self.log("resuming %s from checkpoint (%s)" % (self.run_dir,
                                                           state.get("where", "?")))
        return state

    def _refuse_if_read_only(self, what):
        if self.read_only:
            raise UserError("%s is open read-only; cannot %s" % (self.run_dir, what))

    def save(self, where, **python_state):
        """Checkpoint the variables and `python_state` (picklable; e.g. RandomState states)."""
        self._refuse_if_read_only("save a checkpoint")
        self.state.update(python_state)
        self.state["where"] = where
        self.state["elapsed_s"] = self.elapsed()
        self.checkpointer.save(self.session, self.state)

    def elapsed(self):
        """Seconds of work in this run directory: earlier processes (up to their last checkpoint)
        plus this one."""
        return self._elapsed_before + time.time() - self._start

    @property
    def resumed(self):
        return "where" in self.state

    # -- metrics ---------------------------------------------------------------------------
    def _metrics_path(self):
        return os.path.join(self.run_dir, METRICS)

    def _truncate_metrics(self, n_records):
        path = self._metrics_path()
        if not os.path.exists(path):
            return
        with io.open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
        if len(lines) != n_records:
            with io.open(path, "w", encoding="utf-8") as handle:
                handle.writelines(lines[:n_records])

    def read_metrics(self):
        path = self._metrics_path()
        if not os.path.exists(path):
            return []
        with io.open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def log_metrics(self, record):
        """Append one record to metrics.jsonl and its numbers to TensorBoard."""
        self._refuse_if_read_only("log metrics")
        record = _jsonable(record)
        with io.open(self._metrics_path(), "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.state["n_metrics"] = self.state.get("n_metrics", 0) + 1
        step = self.state["n_metrics"]
        prefix = str(record.get("phase", "metrics"))
        summary = tf.Summary()
        for key, value in sorted(record.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                summary.value.add(tag="%s/%s" % (prefix, key), simple_value=float(value))
        self.writer.add_summary(summary, step)
        self.writer.flush()

    def write_results(self, results):
        self._refuse_if_read_only("write results")
        write_json(os.path.join(self.run_dir, RESULTS), results)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.session.close()
