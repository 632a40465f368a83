"""Checkpoints that are complete or absent.

A checkpoint is a folder `ckpt-<N>` under the run's `checkpoints/` holding the TF variables
(`tf.train.Saver`), `state.pkl` (the Python state: phase, epoch, counters, numpy RandomState
states) and, written last, the marker `COMPLETE`. Only folders with the marker are ever restored;
a folder without it (a crash mid-save) is deleted on the next save or restore (not by a
read-only Checkpointer: for a reader such a folder may be a checkpoint being written right now).
"""
import io
import os
import pickle
import shutil

MARKER = "COMPLETE"
PREFIX = "ckpt-"


def _fsync_write(path, data):
    with io.open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class Checkpointer(object):
    """Saves and restores (variables, python state) pairs in `directory`.

    `saver` is a `tf.train.Saver` over the variables to keep; `keep` complete checkpoints are
    retained (older ones are deleted after a newer one is complete). `read_only`: only restore,
    and change nothing on disk (for evaluating a run that may still be training).
    """

    def __init__(self, directory, saver, keep=2, read_only=False):
        self.directory = directory
        self.saver = saver
        self.keep = int(keep)
        self.read_only = bool(read_only)
        if self.keep < 1:
            raise ValueError("keep must be at least 1, got %r" % keep)
        if not read_only and not os.path.isdir(directory):
            os.makedirs(directory)

    def _numbers(self, complete_only):
        out = []
        if not os.path.isdir(self.directory):
            return out
        for name in os.listdir(self.directory):
            if not name.startswith(PREFIX):
                continue
            try:
                number = int(name[len(PREFIX):])
            except ValueError:
                continue
            done = os.path.exists(os.path.join(self.directory, name, MARKER))
            if done or not complete_only:
                out.append((number, done))
        return sorted(out)

    def _path(self, number):
        return os.path.join(self.directory, "%s%d" % (PREFIX, number))

    def _clean_incomplete(self):
        for number, done in self._numbers(complete_only=False):
            if not done:
                shutil.rmtree(self._path(number), ignore_errors=True)

    def latest_number(self):
        done = self._numbers(complete_only=True)
        return done[-1][0] if done else None

    def save(self, session, state):
        """Write a new checkpoint; returns its number. `state` is any picklable dict."""
        if self.read_only:
            raise RuntimeError("%s: this Checkpointer is read-only" % self.directory)
        self._clean_incomplete()
        latest = self.latest_number()
        number = 0 if latest is None else latest + 1
        path = self._path(number)
        os.makedirs(path)
        self.saver.save(session, os.path.join(path, "model"), write_meta_graph=False,
                        write_state=False)
        _fsync_write(os.path.join(path, "state.pkl"), pickle.dumps(state, protocol=2))
        _fsync_write(os.path.join(path, MARKER), b"ok\n")
        for old, _ in self._numbers(complete_only=True)[:-self.keep]:
            shutil.rmtree(self._path(old), ignore_errors=True)
        return number

    def restore(self, session):
        """Restore the newest complete checkpoint into `session`; returns its state or None."""
        if not self.read_only:
            self._clean_incomplete()
        number = self.latest_number()
        if number is None:
            return None
        path = self._path(number)
        self.saver.restore(session, os.path.join(path, "model"))
        with io.open(os.path.join(path, "state.pkl"), "rb") as handle:
            return pickle.load(handle)
