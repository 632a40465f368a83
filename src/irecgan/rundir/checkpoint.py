"""Checkpoints that are complete or absent, and that verify themselves.

A checkpoint is a folder `ckpt-<N>` under the run's `checkpoints/` holding the TF variables
(`tf.train.Saver`: `model.index`, `model.data-*`), `state.json` and `state.npz` (the Python
state: phase, epoch, counters, numpy RandomState states; `statefile`, readable by numpy 1.x and
2.x alike, so a run moves between the TF 1.15 and TF 2.x stacks; checkpoints of earlier versions
hold `state.pkl` instead, still read) and the marker `COMPLETE`, a JSON object recording the size
and SHA-256 of every other file of the folder:

    {"format": 1, "files": {"model.index": {"size": 1234, "sha256": "..."}, ...}}

A checkpoint is written into `ckpt-<N>.partial` (every file fsynced, the marker last) and renamed
to `ckpt-<N>` when complete, so a `ckpt-<N>` folder is never half written; a `.partial` folder
(a crash mid-save) is deleted on the next save or restore (not by a read-only Checkpointer).

A restore verifies the newest checkpoint against its marker before using it. A damaged one (a
file missing, cut or changed after it was written) is reported in one line each and set aside as
`ckpt-<N>.damaged` (never deleted), and the next newest intact checkpoint is restored; when
checkpoints exist but none is intact, the restore is a `UserError`. Folders written before
markers held checksums (a marker `ok`) restore unverified; folders without any marker (a crash
mid-save before the temporary folder existed) are deleted, with a line saying so.

`restore(session, accept=...)` lets the caller pass over intact checkpoints by their state (the
runner: those that have seen more metrics records than metrics.jsonl still holds). The newest
accepted one is restored; the newer ones passed over are set aside as `ckpt-<N>.unused` (never
deleted), in one line; when intact checkpoints exist but none is accepted, nothing is moved and
the restore raises `NotAccepted`, which lists them with their states for the caller to explain.

A full disk while saving (`errors.writing`) deletes the `.partial` folder at once, so that it
does not hold on to the space, and raises `DiskFullError` naming the file; the previous
checkpoints stay as they were (older ones are only deleted once a newer one is complete).
"""
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import zipfile

import numpy as np

from irecgan.errors import UserError, writing
from irecgan.rundir import faults, statefile
from irecgan.tfcompat import tf

MARKER = "COMPLETE"
PREFIX = "ckpt-"
PARTIAL = ".partial"
DAMAGED = ".damaged"
UNUSED = ".unused"
STATE_JSON, STATE_ARRAYS = "state.json", "state.npz"
LEGACY_STATE = "state.pkl"  # before statefile: a pickle, numpy-version bound
FORMAT = 1


def fsync_write(path, data):
    with writing(path):
        with io.open(path, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def file_digest(path, sync=False):
    """(size, sha256 hex) of the file at `path`; `sync`: also fsync it."""
    digest = hashlib.sha256()
    size = 0
    with io.open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        if sync:
            os.fsync(handle.fileno())
    return size, digest.hexdigest()


def manifest(folder, sync=False):
    """The marker's record of every file in `folder` (except the marker)."""
    files = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name == MARKER or not os.path.isfile(path):
            continue
        size, sha = file_digest(path, sync=sync)
        files[name] = {"size": size, "sha256": sha}
    return {"format": FORMAT, "files": files}


def verify(folder):
    """None when `folder` matches its marker, else a short description of the first problem.
    A legacy marker (no checksums) verifies as long as it exists."""
    try:
        with io.open(os.path.join(folder, MARKER), "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as err:
        return "%s: %s" % (MARKER, err.strerror or err)
    if raw.strip() == b"ok":
        return None  # written before markers recorded checksums
    try:
        record = json.loads(raw.decode("utf-8"))
        files = record["files"]
        items = sorted(files.items())
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return "%s is unreadable" % MARKER
    if not items:
        return "%s lists no files" % MARKER
    for name, want in items:
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return "%s is missing" % name
        size = os.path.getsize(path)
        if size != want.get("size"):
            return "%s has %d bytes, expected %s" % (name, size, want.get("size"))
        if file_digest(path)[1] != want.get("sha256"):
            return "%s does not match its checksum" % name
    return None


def read_state(folder):
    """The Python state of checkpoint folder `folder`: `state.json` + `state.npz`, or the
    `state.pkl` of an earlier version. A pickle written under numpy 2 cannot be unpickled by
    numpy 1.x: that is a `UserError` saying so (the checkpoint is not damaged)."""
    json_path = os.path.join(folder, STATE_JSON)
    if not os.path.exists(json_path) and os.path.exists(os.path.join(folder, LEGACY_STATE)):
        with io.open(os.path.join(folder, LEGACY_STATE), "rb") as handle:
            try:
                return pickle.load(handle)
            except ImportError as err:
                raise UserError(
                    "%s: this checkpoint's %s was written by an earlier irecgan under another "
                    "numpy (%s; this is numpy %s); resume it on the stack that wrote it (its "
                    "next checkpoint is then readable everywhere)" % (
                        folder, LEGACY_STATE, _one_line(err), np.__version__))
    with io.open(json_path, "rb") as text, \
            io.open(os.path.join(folder, STATE_ARRAYS), "rb") as arrays:
        return statefile.loads(text.read(), arrays.read())


class NotAccepted(UserError):
    """Intact checkpoints exist, but `restore`'s `accept` passed over every one. `passed_over`:
    [(number, state, reason)], newest first; nothing was moved."""

    def __init__(self, directory, passed_over):
        self.directory = directory
        self.passed_over = passed_over
        super(NotAccepted, self).__init__("%s: no checkpoint can be used (%s)" % (
            directory, "; ".join("%s%d: %s" % (PREFIX, n, why) for n, _, why in passed_over)))


def _one_line(err):
    text = " ".join(str(err).split())
    return text[:200] + ("..." if len(text) > 200 else "")


class Checkpointer(object):
    """Saves and restores (variables, python state) pairs in `directory`.

    `saver` is a `tf.train.Saver` over the variables to keep; `keep` complete checkpoints are
    retained (older ones are deleted after a newer one is complete). `read_only`: only restore,
    and change nothing on disk (for evaluating a run that may still be training). `log(msg)`
    gets the lines about damaged or incomplete checkpoints.
    """

    def __init__(self, directory, saver, keep=2, read_only=False, log=None):
        self.directory = directory
        self.saver = saver
        self.keep = int(keep)
        self.read_only = bool(read_only)
        self.log = log or (lambda msg: sys.stderr.write(msg + "\n"))
        self.restored = None  # the number of the checkpoint the last restore used
        if self.keep < 1:
            raise ValueError("keep must be at least 1, got %r" % keep)
        if not read_only and not os.path.isdir(directory):
            os.makedirs(directory)

    def _entries(self):
        """(number, name, kind) of the folders here; kind: complete, partial, or incomplete
        (a ckpt-N folder without marker, from a crash of an older version mid-save)."""
        out = []
        if not os.path.isdir(self.directory):
            return out
        for name in os.listdir(self.directory):
            if not name.startswith(PREFIX):
                continue
            stem, kind = name[len(PREFIX):], None
            if stem.endswith(PARTIAL):
                stem, kind = stem[:-len(PARTIAL)], "partial"
            try:
                number = int(stem)
            except ValueError:
                continue
            if kind is None:
                done = os.path.exists(os.path.join(self.directory, name, MARKER))
                kind = "complete" if done else "incomplete"
            out.append((number, name, kind))
        return sorted(out)

    def _numbers(self):
        return [n for n, _, kind in self._entries() if kind == "complete"]

    def _path(self, number):
        return os.path.join(self.directory, "%s%d" % (PREFIX, number))

    def _clean_incomplete(self):
        for number, name, kind in self._entries():
            if kind == "partial":
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
            elif kind == "incomplete":
                self.log("removing %s: no %s marker (a save that was cut short)"
                         % (os.path.join(self.directory, name), MARKER))
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def latest_number(self):
        done = self._numbers()
        return done[-1] if done else None

    def save(self, session, state):
        """Write a new checkpoint; returns its number. `state`: a dict that `statefile` stores."""
        if self.read_only:
            raise RuntimeError("%s: this Checkpointer is read-only" % self.directory)
        self._clean_incomplete()
        latest = self.latest_number()
        number = 0 if latest is None else latest + 1
        path = self._path(number)
        partial = path + PARTIAL
        text, arrays = statefile.dumps(state)  # a state it cannot store fails before any write
        faults.point("checkpoint.start")
        # a full disk: the partial folder goes at once (it would hold the space), older
        # checkpoints stay (rotation below runs only after the new one is complete)
        with writing(partial, cleanup=lambda: shutil.rmtree(partial, ignore_errors=True)):
            os.makedirs(partial)
            self.saver.save(session, os.path.join(partial, "model"), write_meta_graph=False,
                            write_state=False)
            faults.point("checkpoint.variables")
            fsync_write(os.path.join(partial, STATE_ARRAYS), arrays)
            fsync_write(os.path.join(partial, STATE_JSON), text)
            faults.point("checkpoint.marker")
            record = manifest(partial, sync=True)
            fsync_write(os.path.join(partial, MARKER),
                         (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
            fsync_dir(partial)
            faults.point("checkpoint.rename")
            os.rename(partial, path)
        fsync_dir(self.directory)
        for old in self._numbers()[:-self.keep]:
            shutil.rmtree(self._path(old), ignore_errors=True)
        return number

    def _set_aside(self, number, suffix=DAMAGED):
        """Rename ckpt-N to ckpt-N<suffix> (-2, -3, ... appended if taken); returns the new path."""
        base = self._path(number) + suffix
        target, k = base, 1
        while os.path.exists(target):
            k += 1
            target = "%s-%d" % (base, k)
        os.rename(self._path(number), target)
        return target

    def _load(self, session, number, accept=None):
        """Restore checkpoint `number`; returns (state, None, None), (None, problem, None) for a
        damaged one, or (state, None, reason) when `accept(state)` passes it over (its variables
        are then not loaded)."""
        path = self._path(number)
        problem = verify(path)
        if problem is not None:
            return None, problem, None
        try:
            state = read_state(path)
            reason = accept(state) if accept is not None else None
            if reason is not None:
                return state, None, reason
            self.saver.restore(session, os.path.join(path, "model"))
            return state, None, None
        except (tf.errors.OpError, pickle.UnpicklingError, EOFError, IOError, OSError,
                ValueError, KeyError, zipfile.BadZipfile) as err:
            # only unverified (legacy) checkpoints get here
            return None, "%s: %s" % (type(err).__name__, _one_line(err)), None

    def restore(self, session, accept=None):
        """Restore the newest intact checkpoint into `session`; returns its state, or None when
        there is no checkpoint. Damaged ones are reported, set aside (not by a read-only
        Checkpointer) and skipped; none intact: `UserError`.

        `accept(state)`, when given, is asked about each intact checkpoint, newest first: None
        to restore it, or a reason (one line) to pass it over. The newer ones passed over are
        set aside as ckpt-N.unused and reported in one line; when every intact checkpoint is
        passed over, nothing is moved and `NotAccepted` is raised."""
        if not self.read_only:
            self._clean_incomplete()
        damaged, passed_over = [], []
        for number in reversed(self._numbers()):
            state, problem, reason = self._load(session, number, accept)
            if problem is not None:
                damaged.append((number, problem))
            elif reason is not None:
                passed_over.append((number, state, reason))
            else:
                self._report(number, damaged, passed_over)
                self.restored = number
                return state
        if passed_over:
            raise NotAccepted(self.directory, passed_over)
        if damaged:
            raise UserError("%s: no intact checkpoint (%s); move the damaged folders away to "
                            "start this run over" % (self.directory, "; ".join(
                                "%s%d: %s" % (PREFIX, n, why) for n, why in damaged)))
        return None

    def restore_number(self, session, number):
        """Restore checkpoint `number`, verified first, into `session`; returns its state. Not a
        complete checkpoint here, or damaged: `UserError` (one line); nothing is moved."""
        done = self._numbers()
        if number not in done:
            raise UserError("%s: no complete checkpoint %s%d (complete: %s)" % (
                self.directory, PREFIX, number,
                ", ".join("%s%d" % (PREFIX, n) for n in done) or "none"))
        state, problem, _ = self._load(session, number)
        if problem is not None:
            raise UserError("%s: checkpoint %s%d is damaged (%s)" % (self.directory, PREFIX,
                                                                    number, problem))
        self.restored = number
        return state

    def _report(self, number, damaged, passed_over):
        """Set aside (unless read-only) and report the checkpoints newer than `number` that
        `restore` did not use."""
        for bad, why in damaged:
            where = "left in place" if self.read_only else "kept as %s" % (
                os.path.basename(self._set_aside(bad)))
            self.log("checkpoint %s%d is damaged (%s); %s; using %s%d instead"
                     % (PREFIX, bad, why, where, PREFIX, number))
        if passed_over:
            names = ["%s%d" % (PREFIX, n) for n, _, _ in passed_over]
            where = "left in place" if self.read_only else "kept as %s" % ", ".join(
                os.path.basename(self._set_aside(n, UNUSED)) for n, _, _ in passed_over)
            self.log("checkpoint%s %s %s not used (%s); %s; using %s%d instead" % (
                "s" if len(names) > 1 else "", ", ".join(names),
                "are" if len(names) > 1 else "is", "; ".join(
                    why for _, _, why in passed_over), where, PREFIX, number))
