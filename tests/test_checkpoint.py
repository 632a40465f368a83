"""Complete-or-absent checkpoints (irecgan.checkpoint.Checkpointer) on a one-variable graph."""
import os

import numpy as np
import pytest

from irecgan import checkpoint
from irecgan.checkpoint import MARKER, Checkpointer
from irecgan.tfcompat import tf


class Tiny(object):
    """A graph with one variable `v` and an op to set it; a session over it."""

    def __init__(self):
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.v = tf.get_variable("v", [3], dtype=tf.float32,
                                     initializer=tf.zeros_initializer())
            self.value = tf.placeholder(tf.float32, [3])
            self.assign = tf.assign(self.v, self.value)
            self.saver = tf.train.Saver([self.v], max_to_keep=None)
            self.init = tf.global_variables_initializer()
        self.session = tf.Session(graph=self.graph)
        self.session.run(self.init)

    def set(self, x):
        self.session.run(self.assign, {self.value: np.full(3, x, np.float32)})

    def get(self):
        return float(self.session.run(self.v)[0])

    def close(self):
        self.session.close()


@pytest.fixture
def tiny():
    model = Tiny()
    yield model
    model.close()


def folders(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("ckpt-"))


def test_restore_of_an_empty_directory_returns_none_and_leaves_the_session(tmp_path, tiny):
    directory = str(tmp_path / "checkpoints")
    ckpt = Checkpointer(directory, tiny.saver)
    assert os.path.isdir(directory) and folders(directory) == []
    tiny.set(7.0)
    assert ckpt.restore(tiny.session) is None
    assert ckpt.latest_number() is None
    assert tiny.get() == 7.0


def test_round_trip_of_variables_and_python_state(tmp_path, tiny):
    ckpt = Checkpointer(str(tmp_path), tiny.saver)
    rng = np.random.RandomState(4)
    rng.rand(5)
    tiny.set(1.5)
    assert ckpt.save(tiny.session, {"epoch": 3, "rng": rng.get_state()}) == 0
    expected = rng.rand(4)
    tiny.set(-2.0)
    state = ckpt.restore(tiny.session)
    assert tiny.get() == 1.5 and state["epoch"] == 3
    again = np.random.RandomState(0)
    again.set_state(state["rng"])
    np.testing.assert_array_equal(again.rand(4), expected)


def test_folder_without_marker_is_never_restored_and_is_cleaned_up(tmp_path, tiny):
    directory = str(tmp_path)
    ckpt = Checkpointer(directory, tiny.saver)
    tiny.set(1.0)
    ckpt.save(tiny.session, {"n": 1})
    tiny.set(2.0)
    ckpt.save(tiny.session, {"n": 2})
    os.remove(os.path.join(directory, "ckpt-1", MARKER))  # as if killed before the marker
    assert folders(directory) == ["ckpt-0", "ckpt-1"]
    tiny.set(9.0)
    state = ckpt.restore(tiny.session)
    assert state == {"n": 1} and tiny.get() == 1.0
    assert folders(directory) == ["ckpt-0"]
    # a half-written folder also goes away on the next save, which takes its number
    os.makedirs(os.path.join(directory, "ckpt-1"))
    open(os.path.join(directory, "ckpt-1", "state.pkl"), "wb").close()
    tiny.set(3.0)
    assert ckpt.save(tiny.session, {"n": 3}) == 1
    assert os.path.exists(os.path.join(directory, "ckpt-1", MARKER))
    tiny.set(0.0)
    assert ckpt.restore(tiny.session) == {"n": 3} and tiny.get() == 3.0


def test_crash_while_saving_leaves_the_previous_checkpoint_current(tmp_path, tiny, monkeypatch):
    directory = str(tmp_path)
    ckpt = Checkpointer(directory, tiny.saver, keep=1)
    tiny.set(1.0)
    ckpt.save(tiny.session, {"n": 1})
    real_write = checkpoint._fsync_write

    def dying_write(path, data):
        if os.path.basename(path) == MARKER:
            raise KeyboardInterrupt("killed before the marker")
        real_write(path, data)

    monkeypatch.setattr(checkpoint, "_fsync_write", dying_write)
    tiny.set(2.0)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(tiny.session, {"n": 2})
    monkeypatch.setattr(checkpoint, "_fsync_write", real_write)
    # keep=1 must not have dropped the last complete checkpoint for the incomplete one
    assert folders(directory) == ["ckpt-0", "ckpt-1"]
    fresh = Checkpointer(directory, tiny.saver, keep=1)
    assert fresh.restore(tiny.session) == {"n": 1} and tiny.get() == 1.0
    assert folders(directory) == ["ckpt-0"]


@pytest.mark.parametrize("keep", [1, 3])
def test_keep_retains_the_newest_n(tmp_path, tiny, keep):
    directory = str(tmp_path)
    ckpt = Checkpointer(directory, tiny.saver, keep=keep)
    for n in range(5):
        tiny.set(float(n))
        assert ckpt.save(tiny.session, {"n": n}) == n
        assert len(folders(directory)) == min(n + 1, keep)
    assert folders(directory) == ["ckpt-%d" % n for n in range(5 - keep, 5)]
    assert ckpt.latest_number() == 4
    tiny.set(-1.0)
    assert ckpt.restore(tiny.session) == {"n": 4} and tiny.get() == 4.0


def test_unrelated_entries_are_ignored(tmp_path, tiny):
    directory = str(tmp_path)
    for name in ("ckpt-x", "notes", "ckpt-"):
        os.makedirs(os.path.join(directory, name))
    ckpt = Checkpointer(directory, tiny.saver)
    assert ckpt.restore(tiny.session) is None
    tiny.set(5.0)
    assert ckpt.save(tiny.session, {}) == 0
    assert sorted(os.listdir(directory)) == ["ckpt-", "ckpt-0", "ckpt-x", "notes"]


def test_read_only_checkpointer_restores_and_touches_nothing(tmp_path, tiny):
    directory = str(tmp_path / "checkpoints")
    writer = Checkpointer(directory, tiny.saver)
    tiny.set(1.0)
    writer.save(tiny.session, {"n": 1})
    os.makedirs(os.path.join(directory, "ckpt-1"))  # being written by the training process
    reader = Checkpointer(directory, tiny.saver, read_only=True)
    tiny.set(0.0)
    assert reader.restore(tiny.session) == {"n": 1} and tiny.get() == 1.0
    assert folders(directory) == ["ckpt-0", "ckpt-1"]
    with pytest.raises(RuntimeError):
        reader.save(tiny.session, {})
    missing = Checkpointer(str(tmp_path / "missing"), tiny.saver, read_only=True)
    assert missing.restore(tiny.session) is None
    assert not os.path.exists(str(tmp_path / "missing"))


def test_keep_must_be_positive(tmp_path, tiny):
    with pytest.raises(ValueError):
        Checkpointer(str(tmp_path), tiny.saver, keep=0)
