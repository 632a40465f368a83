"""The Runner owns the one `tf.Session` of a run and everything a run directory holds.

Run directory layout (SPEC 9):
  config.json     the resolved configuration; a run directory is bound to it
  metrics.jsonl   one JSON object per epoch / phase
  events.*        TensorBoard summaries (scalars of every metrics record)
  checkpoints/    complete-or-absent, self-verifying checkpoints (see checkpoint.py)
  results.json    the final metrics, written when the run finishes
  timing.json     wall-clock figures (written with results.json; the only file that depends on
                  how long the run took, so config, metrics and results are deterministic)
  run.lock        the lock of the process writing the run (see runlock.py)

One process writes a run directory at a time: a second one is refused (`UserError`: "RUN_DIR is
in use by process N"). Restarting with the same directory and configuration resumes from the
newest intact checkpoint that agrees with `metrics.jsonl`: one that has seen no more records
than the file holds intact (when the file lost records, e.g. its last one, a newer checkpoint is
set aside as `ckpt-N.unused` in one line and an older one is used; none agrees: a `UserError`
saying what to do). The file is then repaired to the records that checkpoint had seen (a
partial last line, as a kill mid-write leaves it, and records written after the checkpoint are
cut off), so a resumed run writes exactly what an uninterrupted one would. A full disk while
writing config, metrics, events, a checkpoint or the results is a one-line `DiskFullError`
naming the file; what the failed write took is given back, and the same command resumes once
there is space. A directory made with another configuration is refused (a fresh directory never
picks up a stale checkpoint silently). A resumed run also writes a TensorBoard `SessionLog.START`
at the first step it will log, so that TensorBoard drops the points of records that
metrics.jsonl lost.

`read_only=True` (irecgan-evaluate) opens an existing run directory without changing anything
in it: no config, metrics, events, lock or checkpoint files are written, truncated or deleted,
so a run can be evaluated while it trains.
"""
import io
import itertools
import json
import os
import sys
import time

import numpy as np

from irecgan.errors import UserError, writing
from irecgan.rundir import faults, stopping
from irecgan.rundir.checkpoint import Checkpointer, NotAccepted
from irecgan.rundir.runlock import RunLock
from irecgan.tfcompat import tf

CONFIG = "config.json"
_WRITERS = itertools.count()
METRICS = "metrics.jsonl"
RESULTS = "results.json"
TIMING = "timing.json"


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


def write_json(path, obj, fault=None):
    """Write JSON atomically (temp file + rename). `fault`: a faults event between the two."""
    tmp = path + ".tmp"
    with writing(path, cleanup=lambda: _remove(tmp)):
        with io.open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(_jsonable(obj), indent=2, sort_keys=True))
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
    if fault:
        faults.point(fault)
    os.rename(tmp, path)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def read_json(path):
    with io.open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _records(n):
    return "%d record%s" % (n, "" if n == 1 else "s")


def _scan_records(path):
    """(data, ends, bad_line) of a metrics.jsonl: its bytes (None when it is missing), the end
    offsets of its leading intact records (complete lines holding valid JSON), and the line
    number of the invalid line that ends them (None when they end at the end of the file or at
    a partial last line)."""
    if not os.path.exists(path):
        return None, [], None
    with io.open(path, "rb") as handle:
        data = handle.read()
    ends, end = [], 0
    while True:
        newline = data.find(b"\n", end)
        if newline < 0:
            return data, ends, None
        try:
            json.loads(data[end:newline].decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            return data, ends, len(ends) + 1
        end = newline + 1
        ends.append(end)


def config_diff(old, new, defaults=None, unbound=()):
    """Human-readable differences between two configuration dicts. A key of `defaults` that
    `old` lacks (a configuration key added after that run was made) counts as its default there,
    which by design reproduces the behaviour before the key existed. Keys of `unbound` (ones
    that change no number the run writes, e.g. a cache directory) may differ."""
    defaults = defaults or {}
    old = dict(old)
    for key, value in defaults.items():
        old.setdefault(key, value)
    keys = sorted((set(old) | set(new)) - set(unbound))
    return ["%s: %r -> %r" % (k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


class Runner(object):
    """One session over `models.graph`, bound to `run_dir` and `config` (a JSON-able dict).

    `threads`: intra/inter-op thread counts (0 = TensorFlow's default). `read_only`: see above;
    the directory must hold the same configuration, and `save` / `log_metrics` are refused.
    """

    def __init__(self, run_dir, models, config, keep_checkpoints=2, threads=0, log=None,
                 read_only=False, defaults=None, unbound=()):
        self.run_dir = run_dir
        self.models = models
        self.config = _jsonable(config)
        self.defaults = _jsonable(defaults or {})  # see config_diff
        self.unbound = tuple(unbound)
        self.read_only = bool(read_only)
        self.log = log or (lambda msg: sys.stderr.write(msg + "\n"))
        self.lock = None
        self.session = None
        self.writer = None
        config_path = os.path.join(run_dir, CONFIG)
        if read_only and not os.path.exists(config_path):
            raise UserError("%s: no %s (not a run directory)" % (run_dir, CONFIG))
        if not read_only:
            if not os.path.isdir(run_dir):
                os.makedirs(run_dir, exist_ok=True)  # two launches may race to create it
            self.lock = RunLock(run_dir, log=self.log).acquire()
        try:
            self._open(config_path, keep_checkpoints, threads)
        except BaseException:
            self.close()
            raise

    def _open(self, config_path, keep_checkpoints, threads):
        run_dir, models, read_only = self.run_dir, self.models, self.read_only
        if os.path.exists(config_path):
            old = read_json(config_path)
            diff = config_diff(old, self.config, self.defaults, self.unbound)
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
                                         keep=keep_checkpoints, read_only=read_only,
                                         log=self.log)
        self.state = self._restore_or_init()
        self._start = time.time()
        self._elapsed_before = float(self.state.get("elapsed_s", 0.0))

    # -- state and checkpoints ------------------------------------------------------------
    def _restore_or_init(self):
        if self.read_only:
            state = self.checkpointer.restore(self.session)
        else:
            state = self._restore_agreeing()
            # events files are named by the second they are opened in and the host: a suffix
            # keeps a resumed run from overwriting its predecessor's file when both open in
            # one second
            with writing(self.run_dir):
                self.writer = tf.summary.FileWriter(
                    self.run_dir, filename_suffix=".%d.%d" % (os.getpid(), next(_WRITERS)))
        if state is None:
            self.session.run(self.models.init_op)
            return {"n_metrics": 0}
        if not self.read_only:
            # TensorBoard purges the points at steps >= this one read from earlier event files
            self.writer.add_session_log(tf.SessionLog(status=tf.SessionLog.START),
                                        state["n_metrics"] + 1)
            self.log("resuming %s from checkpoint (%s)" % (self.run_dir,
                                                           state.get("where", "?")))
        return state

    def _restore_agreeing(self):
        """Restore the newest intact checkpoint that has seen no more records than metrics.jsonl
        holds intact (newer ones are set aside by the Checkpointer, in one line), then cut the
        file back to that checkpoint's records; returns its state (None: a fresh start)."""
        path = self._metrics_path()
        data, ends, bad_line = _scan_records(path)

        def accept(state):
            seen = state.get("n_metrics", 0)
            if seen <= len(ends):
                return None
            return "%s: has seen %s, %s holds %d" % (state.get("where", "?"), _records(seen),
                                                     path, len(ends))

        try:
            state = self.checkpointer.restore(self.session, accept=accept)
        except NotAccepted as err:
            number, oldest, _ = err.passed_over[-1]
            what = "ckpt-%d (%s) has seen %d" % (number, oldest.get("where", "?"),
                                                 oldest.get("n_metrics", 0))
            if data is None:
                raise UserError("%s is missing, but every checkpoint has seen records (the "
                                "oldest, %s); cannot resume exactly: put the file back, or "
                                "start over with a new --run_dir" % (path, what))
            if bad_line is not None:
                raise UserError("%s:%d: invalid JSON; the %s before it are fewer than every "
                                "checkpoint has seen (the oldest, %s); cannot resume exactly: "
                                "repair the line, or start over with a new --run_dir"
                                % (path, bad_line, _records(len(ends)), what))
            raise UserError("%s holds %s, but every checkpoint has seen more (the oldest, %s); "
                            "cannot resume exactly: put the lost records back, or start over "
                            "with a new --run_dir" % (path, _records(len(ends)), what))
        self._cut_metrics(data, ends, 0 if state is None else state["n_metrics"])
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
        stopping.after_checkpoint(where)  # a safe point: stops here after SIGTERM / SIGINT

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

    def _cut_metrics(self, data, ends, n_records):
        """Cut metrics.jsonl (its bytes `data`, its intact records ending at `ends`) back to its
        first `n_records` records (the ones the checkpoint being restored had seen; 0 for a
        fresh start): a partial last line and the records written after that checkpoint go."""
        if data is None:
            return
        path = self._metrics_path()
        end = ends[n_records - 1] if n_records else 0
        if end < len(data):
            records = data[end:].count(b"\n")
            dropped = ["%s written after it" % _records(records)] if records else []
            if not data.endswith(b"\n"):
                dropped.append("a partial line")
            with io.open(path, "r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
            self.log("%s: kept the %s of the checkpoint; dropped %s"
                     % (path, _records(n_records), " and ".join(dropped)))

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
        data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
        path = self._metrics_path()
        size = os.path.getsize(path) if os.path.exists(path) else 0

        def cut_back():  # a full disk: the part of the record that was written goes
            try:
                with io.open(path, "r+b") as handle:
                    handle.truncate(size)
            except (IOError, OSError):
                pass  # not even created; the next start cuts a partial line in any case

        with writing(path, cleanup=cut_back), io.open(path, "ab") as handle:
            def half_line():  # what a kill in the middle of this write leaves
                handle.write(data[:len(data) // 2])
                handle.flush()
                os.fsync(handle.fileno())
            faults.point("metrics.line", partial=half_line)
            handle.write(data)  # one write, then flush + fsync: the record is whole or cut
            handle.flush()
            os.fsync(handle.fileno())
        self.state["n_metrics"] = self.state.get("n_metrics", 0) + 1
        step = self.state["n_metrics"]
        prefix = str(record.get("phase", "metrics"))
        summary = tf.Summary()
        for key, value in sorted(record.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                summary.value.add(tag="%s/%s" % (prefix, key), simple_value=float(value))
        with writing(self.run_dir):  # TF 2.x raises the events file's ENOSPC here (TF 1.15
            self.writer.add_summary(summary, step)  # drops the events silently)
            self.writer.flush()

    def write_results(self, results):
        """Write timing.json (the wall time so far), then results.json (which marks the run
        finished). `results` must not depend on time: it is compared byte for byte with what an
        uninterrupted run writes."""
        self._refuse_if_read_only("write results")
        write_json(os.path.join(self.run_dir, TIMING), {"wall_time_s": self.elapsed()})
        write_json(os.path.join(self.run_dir, RESULTS), results, fault="results")

    def close(self):
        """Close the events file and the session and release the run directory's lock."""
        try:
            try:
                if self.writer is not None:
                    writer, self.writer = self.writer, None
                    with writing(self.run_dir):
                        writer.close()
            finally:
                if self.session is not None:
                    self.session.close()
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None
