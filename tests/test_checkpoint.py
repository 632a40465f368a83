"""Complete-or-absent, self-verifying checkpoints (irecgan.rundir.checkpoint.Checkpointer) on a
one-variable graph."""
import json
import os

import numpy as np
import pytest

from irecgan.errors import UserError
from irecgan.rundir import checkpoint
from irecgan.rundir.checkpoint import MARKER, Checkpointer
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
    open(os.path.join(directory, "ckpt-1", "state.json"), "wb").close()
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
    real_write = checkpoint.fsync_write

    def dying_write(path, data):
        if os.path.basename(path) == MARKER:
            raise KeyboardInterrupt("killed before the marker")
        real_write(path, data)

    monkeypatch.setattr(checkpoint, "fsync_write", dying_write)
    tiny.set(2.0)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save(tiny.session, {"n": 2})
    monkeypatch.setattr(checkpoint, "fsync_write", real_write)
    # keep=1 must not have dropped the last complete checkpoint for the incomplete one, which
    # never got its final name
    assert folders(directory) == ["ckpt-0", "ckpt-1.partial"]
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


# ------------------------------------------------------------------------------------------------
# Self-verification: the marker records every file's size and checksum

def saved(tmp_path, tiny, values, keep=3):
    """A Checkpointer with one checkpoint per value (variable = value, state {"n": value});
    returns (checkpointer, directory, log lines)."""
    lines = []
    ckpt = Checkpointer(str(tmp_path), tiny.saver, keep=keep, log=lines.append)
    for value in values:
        tiny.set(float(value))
        ckpt.save(tiny.session, {"n": value})
    return ckpt, str(tmp_path), lines


def data_file(folder):
    return [n for n in os.listdir(folder) if n.startswith("model.data")][0]


def test_marker_records_size_and_checksum_of_every_file(tmp_path, tiny):
    _, directory, _ = saved(tmp_path, tiny, [1])
    folder = os.path.join(directory, "ckpt-0")
    with open(os.path.join(folder, MARKER)) as handle:
        record = json.load(handle)
    names = sorted(n for n in os.listdir(folder) if n != MARKER)
    assert sorted(record["files"]) == names and "state.json" in names and len(names) >= 3
    for name in names:
        size, sha = checkpoint.file_digest(os.path.join(folder, name))
        assert record["files"][name] == {"size": size, "sha256": sha}
    assert checkpoint.verify(folder) is None


def cut(path, n_bytes=None):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size // 2 if n_bytes is None else n_bytes)


def flip(path):
    with open(path, "r+b") as handle:
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))


@pytest.mark.parametrize("damage", ["cut data", "cut state", "flip data", "remove index",
                                    "garbled marker"])
def test_damaged_newest_checkpoint_falls_back_to_the_previous_one_and_is_kept(tmp_path, tiny,
                                                                               damage):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2])
    folder = os.path.join(directory, "ckpt-1")
    what, which = damage.split()
    path = {"data": os.path.join(folder, data_file(folder)),
            "state": os.path.join(folder, "state.json"),
            "index": os.path.join(folder, "model.index"),
            "marker": os.path.join(folder, MARKER)}[which]
    if what == "cut":
        cut(path)
    elif what == "flip":
        flip(path)
    elif what == "remove":
        os.remove(path)
    else:
        with open(path, "w") as handle:
            handle.write("{not json")
    assert checkpoint.verify(folder) is not None
    tiny.set(9.0)
    assert ckpt.restore(tiny.session) == {"n": 1} and tiny.get() == 1.0
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("checkpoint ckpt-1 is damaged (")
    assert lines[0].endswith("; kept as ckpt-1.damaged; using ckpt-0 instead")
    # set aside, not deleted; the next save takes the free number
    assert folders(directory) == ["ckpt-0", "ckpt-1.damaged"]
    tiny.set(3.0)
    assert ckpt.save(tiny.session, {"n": 3}) == 1
    assert folders(directory) == ["ckpt-0", "ckpt-1", "ckpt-1.damaged"]
    tiny.set(0.0)
    assert ckpt.restore(tiny.session) == {"n": 3} and tiny.get() == 3.0


def test_messages_name_the_damage(tmp_path, tiny):
    _, directory, _ = saved(tmp_path, tiny, [1])
    folder = os.path.join(directory, "ckpt-0")
    state = os.path.join(folder, "state.json")
    size = os.path.getsize(state)
    cut(state, 5)
    assert checkpoint.verify(folder) == "state.json has 5 bytes, expected %d" % size
    os.remove(state)
    assert checkpoint.verify(folder) == "state.json is missing"
    _, other, _ = saved(tmp_path / "b", tiny, [1])
    flip(os.path.join(other, "ckpt-0", "state.json"))
    assert checkpoint.verify(os.path.join(other, "ckpt-0")) == \
        "state.json does not match its checksum"


def test_no_intact_checkpoint_is_one_line_user_error_and_nothing_is_moved(tmp_path, tiny):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2])
    for number in (0, 1):
        folder = os.path.join(directory, "ckpt-%d" % number)
        cut(os.path.join(folder, data_file(folder)))
    with pytest.raises(UserError) as err:
        ckpt.restore(tiny.session)
    message = str(err.value)
    assert "\n" not in message and message.startswith(directory + ": no intact checkpoint (")
    assert "ckpt-1: model.data" in message and "ckpt-0: model.data" in message
    assert folders(directory) == ["ckpt-0", "ckpt-1"] and lines == []


def test_read_only_restore_falls_back_but_moves_nothing(tmp_path, tiny):
    _, directory, _ = saved(tmp_path, tiny, [1, 2])
    cut(os.path.join(directory, "ckpt-1", "state.json"))
    lines = []
    reader = Checkpointer(directory, tiny.saver, read_only=True, log=lines.append)
    tiny.set(0.0)
    assert reader.restore(tiny.session) == {"n": 1} and tiny.get() == 1.0
    assert folders(directory) == ["ckpt-0", "ckpt-1"]
    assert len(lines) == 1 and "left in place; using ckpt-0 instead" in lines[0]


def test_legacy_marker_restores_unverified_and_a_bad_one_falls_back(tmp_path, tiny):
    _, directory, _ = saved(tmp_path, tiny, [1, 2])
    for number in (0, 1):
        with open(os.path.join(directory, "ckpt-%d" % number, MARKER), "w") as handle:
            handle.write("ok\n")  # as the markers of earlier versions
    cut(os.path.join(directory, "ckpt-1", "state.json"))  # only reading the state can notice
    lines = []
    ckpt = Checkpointer(directory, tiny.saver, log=lines.append)
    tiny.set(0.0)
    assert ckpt.restore(tiny.session) == {"n": 1} and tiny.get() == 1.0
    assert len(lines) == 1 and "checkpoint ckpt-1 is damaged (" in lines[0]
    assert folders(directory) == ["ckpt-0", "ckpt-1.damaged"]


def test_a_second_damage_of_the_same_number_gets_its_own_name(tmp_path, tiny):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2])
    for _ in range(2):
        cut(os.path.join(directory, "ckpt-1", "state.json"))
        assert ckpt.restore(tiny.session) == {"n": 1}
        tiny.set(2.0)
        ckpt.save(tiny.session, {"n": 2})
    assert folders(directory) == ["ckpt-0", "ckpt-1", "ckpt-1.damaged", "ckpt-1.damaged-2"]
    assert lines[-1].endswith("kept as ckpt-1.damaged-2; using ckpt-0 instead")


# ------------------------------------------------------------------------------------------------
# restore(accept=...): the caller passes over intact checkpoints by their state

def test_accept_passes_over_newer_checkpoints_which_are_set_aside_in_one_line(tmp_path, tiny):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2, 3])
    asked = []

    def accept(state):
        asked.append(state["n"])
        return None if state["n"] <= 1 else "n is %d" % state["n"]

    tiny.set(9.0)
    assert ckpt.restore(tiny.session, accept=accept) == {"n": 1} and tiny.get() == 1.0
    assert asked == [3, 2, 1]
    assert lines == ["checkpoints ckpt-2, ckpt-1 are not used (n is 3; n is 2); kept as "
                     "ckpt-2.unused, ckpt-1.unused; using ckpt-0 instead"]
    assert folders(directory) == ["ckpt-0", "ckpt-1.unused", "ckpt-2.unused"]
    tiny.set(4.0)
    assert ckpt.save(tiny.session, {"n": 4}) == 1  # the free number; .unused is never touched
    assert folders(directory) == ["ckpt-0", "ckpt-1", "ckpt-1.unused", "ckpt-2.unused"]


def test_accept_with_a_damaged_newest_one(tmp_path, tiny):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2, 3])
    cut(os.path.join(directory, "ckpt-2", "state.json"))
    state = ckpt.restore(tiny.session, accept=lambda s: None if s["n"] == 1 else "no")
    assert state == {"n": 1} and tiny.get() == 1.0
    assert len(lines) == 2 and lines[0].startswith("checkpoint ckpt-2 is damaged (")
    assert lines[1] == "checkpoint ckpt-1 is not used (no); kept as ckpt-1.unused; using " \
                       "ckpt-0 instead"
    assert folders(directory) == ["ckpt-0", "ckpt-1.unused", "ckpt-2.damaged"]


def test_none_accepted_raises_not_accepted_and_moves_nothing(tmp_path, tiny):
    ckpt, directory, lines = saved(tmp_path, tiny, [1, 2])
    tiny.set(9.0)
    with pytest.raises(checkpoint.NotAccepted) as err:
        ckpt.restore(tiny.session, accept=lambda state: "n is %d" % state["n"])
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)
    assert [(n, state) for n, state, _ in err.value.passed_over] == [(1, {"n": 2}), (0, {"n": 1})]
    assert str(err.value) == "%s: no checkpoint can be used (ckpt-1: n is 2; ckpt-0: n is 1)" \
        % directory
    assert folders(directory) == ["ckpt-0", "ckpt-1"] and lines == []
    assert tiny.get() == 9.0  # no variables were loaded


def test_read_only_accept_leaves_the_passed_over_in_place(tmp_path, tiny):
    _, directory, _ = saved(tmp_path, tiny, [1, 2])
    lines = []
    reader = Checkpointer(directory, tiny.saver, read_only=True, log=lines.append)
    assert reader.restore(tiny.session, accept=lambda s: None if s["n"] == 1 else "no") == \
        {"n": 1}
    assert lines == ["checkpoint ckpt-1 is not used (no); left in place; using ckpt-0 instead"]
    assert folders(directory) == ["ckpt-0", "ckpt-1"]
