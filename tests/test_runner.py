"""The Runner and a whole run (SPEC 9): checkpoint round trips, binding a run directory to its
configuration, resuming a killed run exactly, seeds, and the train / evaluate CLIs end to end.

Tiny sizes throughout (8-d embeddings, 16 units); training runs use threads=1, which makes TF's
CPU kernels deterministic, so "identical" below means bit-identical floats.
"""
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from irecgan import config as configuration, experiment
from irecgan.config import resolve
from irecgan.data.batching import make_batch
from irecgan.data.logfile import write_sessions
from irecgan.data.vocab import Vocabulary
from irecgan.errors import UserError
from irecgan.models.graph import ModelGraph
from irecgan.rundir.runlock import LOCK
from irecgan.rundir.runner import CONFIG, METRICS, RESULTS, TIMING, Runner
from irecgan.sim.mdp import MDP, generate_log, logging_policy
from irecgan.tfcompat import tf
from irecgan.training import pretrain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_ITEMS = 50
V = N_ITEMS + 4
TINY = dict(embed_dim=8, hidden=16, layers=2, k=10)

# 300 sessions, ratio split: 240 training sessions = 5 batches of 48; 4 epochs = 20 steps
RUN = dict(n_items=N_ITEMS, split="ratio", embed_dim=8, hidden=16, layers=1, k=10,
           batch_size=48, agent_epochs=4, threads=1, method="pg")


def simulated_sessions(n, seed=1):
    mdp = MDP.random(np.random.RandomState(seed))
    rng = np.random.RandomState(seed + 1)
    sessions, _ = generate_log(mdp, logging_policy(mdp, "random", rng), n, rng)
    return sessions


@pytest.fixture(scope="module")
def log_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data") / "random.log")
    write_sessions(path, simulated_sessions(300))
    return path


def run_config(log_path, **overrides):
    config = dict(RUN, data=log_path)
    config.update(overrides)
    return resolve(config)


def read_lines(path):
    with io.open(path, encoding="utf-8") as handle:
        return handle.readlines()


def read_json(path):
    with io.open(path, encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------------------
# The Runner on a model graph

def tiny_models(seed=0):
    return ModelGraph(V, seed=seed, build=("agent",), **TINY)


def runner_config(**overrides):
    config = dict(TINY, vocab=V, seed=0)
    config.update(overrides)
    return config


@pytest.fixture(scope="module")
def batches():
    vocab = Vocabulary.numeric(N_ITEMS)
    encoded = vocab.encode_sessions(simulated_sessions(64, seed=5))
    rng = np.random.RandomState(0)
    return [make_batch(encoded[i:i + 16], rng, V) for i in range(0, 64, 16)]


def open_runner(run_dir, models=None, config=None, **kwargs):
    kwargs.setdefault("log", lambda msg: None)
    return Runner(str(run_dir), models or tiny_models(), config or runner_config(), threads=1,
                  **kwargs)


def train_step(runner, batch):
    agent = runner.models.agent
    loss, _ = runner.session.run([agent.loss, agent.trainer.train_op],
                                 runner.models.agent_feed(batch))
    return loss


def predictions(runner, batch):
    agent = runner.models.agent
    return runner.session.run([agent.cand_probs, agent.logits, agent.trainer.step],
                              runner.models.agent_feed(batch))


def test_checkpoint_round_trip_gives_identical_predictions_and_training(tmp_path, batches):
    runner = open_runner(tmp_path)
    assert not runner.resumed
    for batch in batches[:3]:
        train_step(runner, batch)
    before = predictions(runner, batches[3])
    runner.save("after 3 steps", epoch=1)
    next_loss = train_step(runner, batches[0])  # Adam's slots must come back too
    after_step = predictions(runner, batches[3])
    runner.close()

    runner = open_runner(tmp_path)  # a fresh graph and session on the same directory
    try:
        assert runner.resumed and runner.state["epoch"] == 1
        assert runner.state["where"] == "after 3 steps"
        restored = predictions(runner, batches[3])
        assert restored[2] == 3
        for got, want in zip(restored, before):
            np.testing.assert_array_equal(got, want)
        assert train_step(runner, batches[0]) == next_loss
        for got, want in zip(predictions(runner, batches[3]), after_step):
            np.testing.assert_array_equal(got, want)
    finally:
        runner.close()

    fresh = open_runner(tmp_path / "fresh")  # same configuration, new directory: initial weights
    try:
        assert not fresh.resumed
        assert not np.array_equal(predictions(fresh, batches[3])[1], before[1])
    finally:
        fresh.close()


def test_run_dir_made_with_another_configuration_is_refused(tmp_path):
    open_runner(tmp_path).close()
    with pytest.raises(UserError) as err:
        open_runner(tmp_path, config=runner_config(hidden=32))
    message = str(err.value)
    assert "another configuration" in message and "hidden: 16 -> 32" in message
    assert "\n" not in message
    assert read_json(str(tmp_path / CONFIG))["hidden"] == 16  # left as it was
    open_runner(tmp_path).close()  # the same configuration is accepted



def test_a_key_added_later_opens_older_run_dirs_at_its_default(tmp_path):
    # a config.json written before `d_head` existed: the run opens as if it held the key's
    # default (the old behaviour), and only that value; the file is left as it was
    open_runner(tmp_path, config=runner_config()).close()
    added = dict(d_head="authors")
    open_runner(tmp_path, config=runner_config(d_head="authors"), defaults=added).close()
    assert "d_head" not in read_json(str(tmp_path / CONFIG))
    with pytest.raises(UserError) as err:
        open_runner(tmp_path, config=runner_config(d_head="sequence"), defaults=added)
    assert "d_head: 'authors' -> 'sequence'" in str(err.value)
    with pytest.raises(UserError):  # without the registry the old run is refused, as before
        open_runner(tmp_path, config=runner_config(d_head="authors"))
    assert configuration.ADDED_KEYS["d_head"] == configuration.DEFAULTS["d_head"]
    # what irecgan-evaluate and irecgan-export read: the file plus the added keys
    config = configuration.run_config(str(tmp_path))
    assert config["d_head"] == "authors" and config["hidden"] == 16

def test_checkpoints_without_config_are_refused(tmp_path):
    runner = open_runner(tmp_path)
    runner.save("epoch 1")
    runner.close()
    os.remove(str(tmp_path / CONFIG))
    with pytest.raises(UserError) as err:
        open_runner(tmp_path)
    assert CONFIG in str(err.value) and "checkpoints" in str(err.value)
    assert not os.path.exists(str(tmp_path / CONFIG))


def test_fresh_directory_never_restores(tmp_path, batches):
    # a checkpoint elsewhere (a sibling run with the same configuration) is never picked up
    other = open_runner(tmp_path / "other")
    train_step(other, batches[0])
    other.save("epoch 1")
    other.close()
    runner = open_runner(tmp_path / "new")
    try:
        assert not runner.resumed and runner.state == {"n_metrics": 0}
        assert predictions(runner, batches[0])[2] == 0
    finally:
        runner.close()


def test_incomplete_checkpoint_only_means_a_fresh_start(tmp_path):
    runner = open_runner(tmp_path)
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 1.0})
    runner.save("epoch 1")
    runner.close()
    os.remove(str(tmp_path / "checkpoints" / "ckpt-0" / "COMPLETE"))
    runner = open_runner(tmp_path)
    try:
        assert not runner.resumed
        assert runner.read_metrics() == []  # the stale record went with its checkpoint
        assert os.listdir(str(tmp_path / "checkpoints")) == []
    finally:
        runner.close()


def test_metrics_are_cut_back_to_the_checkpoint_and_tensorboard_is_told(tmp_path):
    runner = open_runner(tmp_path)
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 2.0})
    runner.save("agent epoch 1")
    runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 1.0})  # killed before saving
    runner.close()
    runner = open_runner(tmp_path)
    try:
        assert runner.resumed and runner.state["n_metrics"] == 1
        assert [r["epoch"] for r in runner.read_metrics()] == [1]
        runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 0.5})
        assert [r["train_loss"] for r in runner.read_metrics()] == [2.0, 0.5]
    finally:
        runner.close()
    # The second events file starts with a SessionLog START at step 2, which makes TensorBoard
    # drop the first file's step-2 point (the record that metrics.jsonl lost).
    starts, points = [], []
    for name in sorted(os.listdir(str(tmp_path))):
        if name.startswith("events."):
            for event in tf.train.summary_iterator(str(tmp_path / name)):
                if event.HasField("session_log"):
                    starts.append((event.step, event.session_log.status))
                for value in event.summary.value:
                    points.append((event.step, value.tag, value.simple_value))
    assert starts == [(2, tf.SessionLog.START)]
    assert (1, "agent/train_loss", 2.0) in points and (2, "agent/train_loss", 0.5) in points


def read_bytes(path):
    with open(str(path), "rb") as handle:
        return handle.read()


def test_resume_cuts_a_partial_last_line_and_records_after_the_checkpoint(tmp_path):
    runner = open_runner(tmp_path)
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 2.0})
    runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 1.5})
    runner.save("agent epoch 2")
    kept = read_bytes(tmp_path / METRICS)
    runner.log_metrics({"phase": "agent", "epoch": 3, "train_loss": 1.0})  # not checkpointed
    runner.close()
    with open(str(tmp_path / METRICS), "ab") as handle:
        handle.write(b'{"epoch": 4, "phase": "ag')  # a kill in the middle of a write
    messages = []
    runner = open_runner(tmp_path, log=messages.append)
    try:
        assert read_bytes(tmp_path / METRICS) == kept
        assert "%s: kept the 2 records of the checkpoint; dropped 1 record written after it " \
               "and a partial line" % (tmp_path / METRICS) in messages
        runner.log_metrics({"phase": "agent", "epoch": 3, "train_loss": 0.5})
        assert [r["epoch"] for r in runner.read_metrics()] == [1, 2, 3]
        runner.save("agent epoch 3")
        kept = read_bytes(tmp_path / METRICS)
    finally:
        runner.close()
    # a partial line alone (a kill while the next record was being written) goes too
    with open(str(tmp_path / METRICS), "ab") as handle:
        handle.write(b'{"ep')
    messages = []
    open_runner(tmp_path, log=messages.append).close()
    assert read_bytes(tmp_path / METRICS) == kept
    assert messages[0].endswith("kept the 3 records of the checkpoint; dropped a partial line")


def test_fresh_start_cuts_metrics_of_a_run_that_never_checkpointed(tmp_path):
    runner = open_runner(tmp_path)
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 2.0})
    runner.close()
    with open(str(tmp_path / METRICS), "ab") as handle:
        handle.write(b'{"epo')
    open_runner(tmp_path).close()
    assert read_bytes(tmp_path / METRICS) == b""


@pytest.mark.parametrize("damage", ["cut", "garbled", "missing"])
def test_metrics_missing_records_of_every_checkpoint_are_refused(tmp_path, damage):
    runner = open_runner(tmp_path)
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 2.0})
    runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 1.0})
    runner.save("agent epoch 2")
    runner.close()
    path = str(tmp_path / METRICS)
    lines = read_lines(path)
    if damage == "missing":
        os.remove(path)
    else:
        with open(path, "w") as handle:
            handle.write(lines[0] + ("" if damage == "cut" else "{garbled\n"))
    with pytest.raises(UserError) as err:
        open_runner(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    oldest = "the oldest, ckpt-0 (agent epoch 2) has seen 2); cannot resume exactly: "
    if damage == "cut":
        assert message == "%s holds 1 record, but every checkpoint has seen more (%sput the " \
                          "lost records back, or start over with a new --run_dir" % (path, oldest)
    elif damage == "garbled":
        assert message == "%s:2: invalid JSON; the 1 record before it are fewer than every " \
                          "checkpoint has seen (%srepair the line, or start over with a new " \
                          "--run_dir" % (path, oldest)
    else:
        assert message == "%s is missing, but every checkpoint has seen records (%sput the " \
                          "file back, or start over with a new --run_dir" % (path, oldest)
    if damage != "missing":
        assert read_lines(path)[0] == lines[0]  # left as it was
    assert os.listdir(str(tmp_path / "checkpoints")) == ["ckpt-0"]  # nothing set aside
    with open(path, "w") as handle:
        handle.writelines(lines)
    open_runner(tmp_path).close()  # the refusal released the lock


@pytest.mark.parametrize("damage", ["lost", "garbled", "lost and cut"])
def test_lost_last_record_resumes_from_the_checkpoint_that_agrees(tmp_path, batches, damage):
    """metrics.jsonl lost its last complete record (or it is garbled): the newest checkpoint has
    seen more than the file holds, the previous one agrees with it and is used."""
    runner = open_runner(tmp_path)
    train_step(runner, batches[0])
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 2.0})
    runner.save("agent epoch 1")
    want = predictions(runner, batches[3])
    kept = read_bytes(tmp_path / METRICS)
    train_step(runner, batches[1])
    runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 1.0})
    runner.save("agent epoch 2")
    runner.close()
    path = str(tmp_path / METRICS)
    with open(path, "wb") as handle:
        handle.write(kept + {"lost": b"", "garbled": b"{garbled\n",
                             "lost and cut": b'{"epoch": 3, "pha'}[damage])
    messages = []
    runner = open_runner(tmp_path, log=messages.append)
    try:
        assert runner.resumed and runner.state["where"] == "agent epoch 1"
        assert runner.state["n_metrics"] == 1
        assert messages[0] == "checkpoint ckpt-1 is not used (agent epoch 2: has seen 2 " \
                              "records, %s holds 1); kept as ckpt-1.unused; using ckpt-0 " \
                              "instead" % path
        assert messages[-1].startswith("resuming ") and len(messages) == (
            2 if damage == "lost" else 3)  # a cut or garbled rest is dropped, in its own line
        assert read_bytes(tmp_path / METRICS) == kept
        for got, expected in zip(predictions(runner, batches[3]), want):
            np.testing.assert_array_equal(got, expected)  # ckpt-0's variables
        assert sorted(os.listdir(str(tmp_path / "checkpoints"))) == ["ckpt-0", "ckpt-1.unused"]
        runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 0.5})
        runner.save("agent epoch 2")  # takes the free number
        assert sorted(os.listdir(str(tmp_path / "checkpoints"))) == \
            ["ckpt-0", "ckpt-1", "ckpt-1.unused"]
    finally:
        runner.close()


def test_records_lost_past_several_checkpoints_set_them_aside_in_one_line(tmp_path):
    runner = open_runner(tmp_path, keep_checkpoints=3)
    for epoch in (1, 2, 3):
        runner.log_metrics({"phase": "agent", "epoch": epoch, "train_loss": 1.0 / epoch})
        runner.save("agent epoch %d" % epoch)
    runner.close()
    path = str(tmp_path / METRICS)
    lines = read_lines(path)
    with open(path, "w") as handle:
        handle.write(lines[0])
    messages = []
    runner = open_runner(tmp_path, keep_checkpoints=3, log=messages.append)
    try:
        assert runner.state["where"] == "agent epoch 1"
    finally:
        runner.close()
    assert messages[0] == (
        "checkpoints ckpt-2, ckpt-1 are not used (agent epoch 3: has seen 3 records, %s holds "
        "1; agent epoch 2: has seen 2 records, %s holds 1); kept as ckpt-2.unused, "
        "ckpt-1.unused; using ckpt-0 instead" % (path, path))
    assert sorted(os.listdir(str(tmp_path / "checkpoints"))) == \
        ["ckpt-0", "ckpt-1.unused", "ckpt-2.unused"]


def test_second_runner_on_a_directory_is_refused_and_the_first_is_unharmed(tmp_path, batches):
    first = open_runner(tmp_path)
    try:
        train_step(first, batches[0])
        with pytest.raises(UserError) as err:
            open_runner(tmp_path)
        assert str(err.value) == "%s is in use by process %d" % (tmp_path, os.getpid())
        reader = open_runner(tmp_path, read_only=True)  # evaluating while it trains is fine
        reader.close()
        first.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 1.0})
        first.save("epoch 1")
        assert os.listdir(str(tmp_path / "checkpoints")) == ["ckpt-0"]
    finally:
        first.close()
    with open(str(tmp_path / LOCK)) as handle:
        assert handle.read() == ""  # released on close
    second = open_runner(tmp_path)
    try:
        assert second.resumed and second.state["where"] == "epoch 1"
    finally:
        second.close()


def test_read_only_runner_changes_nothing(tmp_path, batches):
    runner = open_runner(tmp_path)
    train_step(runner, batches[0])
    runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 1.0})
    runner.save("epoch 1")
    want = predictions(runner, batches[1])
    runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 0.5})
    runner.close()
    # a checkpoint being written by the training process right now
    os.makedirs(str(tmp_path / "checkpoints" / "ckpt-1"))

    def snapshot():
        out = {}
        for dirpath, _, filenames in os.walk(str(tmp_path)):
            for name in filenames:
                with open(os.path.join(dirpath, name), "rb") as handle:
                    out[os.path.relpath(os.path.join(dirpath, name), str(tmp_path))] = \
                        handle.read()
        return out, sorted(os.listdir(str(tmp_path / "checkpoints")))

    before = snapshot()
    reader = open_runner(tmp_path, read_only=True)
    try:
        assert reader.resumed
        for got, expected in zip(predictions(reader, batches[1]), want):
            np.testing.assert_array_equal(got, expected)
        with pytest.raises(UserError):
            reader.save("nope")
    finally:
        reader.close()
    assert snapshot() == before
    with pytest.raises(UserError):
        open_runner(tmp_path / "missing", read_only=True)
    assert not os.path.exists(str(tmp_path / "missing"))


# ------------------------------------------------------------------------------------------------
# Whole runs: seeds and resuming

class Killed(Exception):
    """A simulated kill of the training process."""


class RecordingSession(object):
    """Wraps a tf.Session for `run_epoch`; records the loss of every training step."""

    def __init__(self, session, losses):
        self.session = session
        self.losses = losses

    def run(self, fetches, feed_dict=None):
        values = self.session.run(fetches, feed_dict)
        if isinstance(fetches, dict) and "_train" in fetches:
            self.losses.append(float(values["loss"]))
        return values


def train(monkeypatch, run_dir, config, kill_at_save=None, kill_before_save=False):
    """experiment.run; returns (results or None if killed, step losses, log lines).

    kill_at_save=n: raise `Killed` at the n-th checkpoint, after it is complete (or before it is
    written at all, with kill_before_save: the epoch's metrics record is then already out)."""
    losses, messages = [], []
    real_run_epoch, real_save = pretrain.run_epoch, Runner.save
    saves = []

    def run_epoch(session, *args, **kwargs):
        if kwargs.get("train_op") is not None:
            session = RecordingSession(session, losses)
        return real_run_epoch(session, *args, **kwargs)

    def save(self, where, **state):
        saves.append(where)
        if len(saves) == kill_at_save and kill_before_save:
            raise Killed(where)
        real_save(self, where, **state)
        if len(saves) == kill_at_save:
            raise Killed(where)

    with monkeypatch.context() as patch:
        patch.setattr(pretrain, "run_epoch", run_epoch)
        patch.setattr(Runner, "save", save)
        try:
            results = experiment.run(str(run_dir), config, show_progress=False,
                                     log=messages.append)
        except Killed:
            results = None
    return results, losses, messages


@pytest.fixture(scope="module")
def reference(log_path, tmp_path_factory):
    """An uninterrupted pg run, seed 0: (run_dir, results, step losses, log lines)."""
    run_dir = tmp_path_factory.mktemp("reference")
    with pytest.MonkeyPatch.context() as monkeypatch:
        results, losses, messages = train(monkeypatch, run_dir, run_config(log_path))
    return run_dir, results, losses, messages


def epoch_lines(messages):
    return [m.split(":")[0] for m in messages if re.match(r"agent epoch \d+/\d+:", m)]


def test_same_seed_same_losses_over_20_steps_other_seed_differs(tmp_path, monkeypatch,
                                                               log_path, reference):
    ref_dir, results, losses, messages = reference
    assert len(losses) == 20
    assert "wall_time_s" not in results and "wall_time_s" not in read_json(str(ref_dir / RESULTS))
    assert set(read_json(str(ref_dir / TIMING))) == {"wall_time_s"}
    assert epoch_lines(messages) == ["agent epoch %d/4" % e for e in range(1, 5)]
    assert not any("resuming" in m for m in messages)
    again = train(monkeypatch, tmp_path / "again", run_config(log_path))
    assert again[1] == losses
    assert again[0]["offline"] == results["offline"]
    other = train(monkeypatch, tmp_path / "other", run_config(log_path, seed=1))
    assert len(other[1]) == 20 and other[1] != losses
    assert np.all(np.isfinite(other[1]))


def compare_with_reference(run_dir, results, reference):
    ref_dir, ref_results, _, _ = reference
    assert read_lines(str(run_dir / METRICS)) == read_lines(str(ref_dir / METRICS))
    assert read_bytes(run_dir / RESULTS) == read_bytes(ref_dir / RESULTS)
    assert read_json(str(run_dir / TIMING))["wall_time_s"] > 0
    assert len(read_lines(str(run_dir / METRICS))) == 4
    assert results["offline"] == ref_results["offline"]
    assert read_json(str(run_dir / RESULTS))["offline"] == ref_results["offline"]


def test_killed_run_resumes_at_the_next_epoch_exactly(tmp_path, monkeypatch, log_path,
                                                      reference):
    run_dir = tmp_path / "run"
    config = run_config(log_path)
    results, losses, messages = train(monkeypatch, run_dir, config, kill_at_save=2)
    assert results is None and len(losses) == 10
    assert epoch_lines(messages) == ["agent epoch 1/4", "agent epoch 2/4"]
    assert not os.path.exists(str(run_dir / RESULTS))
    assert len(read_lines(str(run_dir / METRICS))) == 2

    results, losses, messages = train(monkeypatch, run_dir, config)
    assert any(m.startswith("resuming") and "agent epoch 2" in m for m in messages)
    assert epoch_lines(messages) == ["agent epoch 3/4", "agent epoch 4/4"]
    assert losses == reference[2][10:]  # the same batches in the same order, the same weights
    compare_with_reference(run_dir, results, reference)


def test_kill_between_metrics_record_and_checkpoint_does_not_duplicate(tmp_path, monkeypatch,
                                                                       log_path, reference):
    run_dir = tmp_path / "run"
    config = run_config(log_path)
    results, _, messages = train(monkeypatch, run_dir, config, kill_at_save=3,
                                 kill_before_save=True)
    assert results is None
    assert epoch_lines(messages)[-1] == "agent epoch 3/4"
    assert len(read_lines(str(run_dir / METRICS))) == 3  # epoch 3 logged, not checkpointed

    results, losses, messages = train(monkeypatch, run_dir, config)
    assert any(m.startswith("resuming") and "agent epoch 2" in m for m in messages)
    assert epoch_lines(messages) == ["agent epoch 3/4", "agent epoch 4/4"]
    assert losses == reference[2][10:]
    compare_with_reference(run_dir, results, reference)


def test_finished_run_restarted_trains_no_more(tmp_path, monkeypatch, log_path, reference):
    run_dir = tmp_path / "run"
    shutil.copytree(str(reference[0]), str(run_dir))
    results, losses, messages = train(monkeypatch, run_dir, run_config(log_path))
    assert losses == [] and epoch_lines(messages) == []
    compare_with_reference(run_dir, results, reference)
    with pytest.raises(UserError) as err:
        train(monkeypatch, run_dir, run_config(log_path, agent_lr=1e-3))
    assert "agent_lr" in str(err.value)


# ------------------------------------------------------------------------------------------------
# The command-line programs, in subprocesses

# TensorFlow 2.x writes a few lines from C++ before absl logging is set up, whatever
# TF_CPP_MIN_LOG_LEVEL says ("WARNING: All log messages before absl::InitializeLog() ...",
# "I0000 00:00:... port.cc:153] oneDNN ..."). They are not ours; everything else is.
TF_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|"
                           r"[IWEF]\d{4} \d\d:\d\d:\d\d|To enable the following instructions)")


def own_lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()
            and not TF_NATIVE_LOG.match(line)]


def cli(module, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli." + module] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def train_args(log_path, run_dir, method, *extra):
    return ("--flagfile=configs/tiny.cfg", "--method=" + method, "--data=" + log_path,
            "--n_items=%d" % N_ITEMS, "--split=ratio", "--run_dir=" + str(run_dir),
            "--threads=1", "--noprogress") + extra


def test_cli_train_then_evaluate(tmp_path, log_path):
    run_dir = tmp_path / "lstm"
    rc, stdout, stderr = cli("train", *train_args(log_path, run_dir, "lstm"))
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    assert epoch_lines(own_lines(stderr)) == ["agent epoch 1/2", "agent epoch 2/2"]
    results = read_json(str(run_dir / RESULTS))
    assert results["method"] == "lstm" and set(results["offline"]) == {"valid", "test"}
    assert re.search(r"^test: P@1 \d+\.\d\d, P@10 ", stdout, re.M), stdout
    config = read_json(str(run_dir / CONFIG))
    assert config["method"] == "lstm" and config["hidden"] == 16 and config["agent_epochs"] == 2
    assert len(read_lines(str(run_dir / METRICS))) == 2

    # as if the training process were writing its next checkpoint right now
    os.makedirs(str(run_dir / "checkpoints" / "ckpt-9"))
    listing = sorted(os.listdir(str(run_dir))), sorted(os.listdir(str(run_dir / "checkpoints")))
    metrics = read_lines(str(run_dir / METRICS))
    rc, stdout, stderr = cli("evaluate", "--run_dir=" + str(run_dir), "--split=test")
    assert rc == 0, stderr
    evaluated = json.loads(stdout)
    assert evaluated["split"] == "test" and evaluated["checkpoint"] == "agent epoch 2"
    assert evaluated["P@1"] == results["offline"]["test"]["P@1"]
    assert evaluated["loss"] == results["offline"]["test"]["loss"]
    assert evaluated["evaluated"] == results["offline"]["test"]["evaluated"] > 0
    # evaluating reads the run directory and writes nothing into it
    assert (sorted(os.listdir(str(run_dir))),
            sorted(os.listdir(str(run_dir / "checkpoints")))) == listing
    assert read_lines(str(run_dir / METRICS)) == metrics


def test_cli_train_pg(tmp_path, log_path):
    run_dir = tmp_path / "pg"
    rc, stdout, stderr = cli("train", *train_args(log_path, run_dir, "pg", "--agent_epochs=1"))
    assert rc == 0, stderr
    results = read_json(str(run_dir / RESULTS))
    assert results["method"] == "pg" and read_json(str(run_dir / CONFIG))["agent_epochs"] == 1
    assert "test: P@1 " in stdout


def test_cli_errors_are_one_line_without_traceback(tmp_path, log_path):
    run_dir = tmp_path / "run"
    missing = str(tmp_path / "no_such.log")
    rc, stdout, stderr = cli("train", *train_args(missing, run_dir, "lstm"))
    assert rc == 2 and "Traceback" not in stderr
    assert own_lines(stderr) == ["error: %s: cannot read: No such file or directory" % missing]
    assert not os.path.exists(str(run_dir))

    rc, stdout, stderr = cli("evaluate", "--run_dir=" + str(tmp_path))
    assert rc == 2 and "Traceback" not in stderr
    assert own_lines(stderr) == ["error: %s: no %s (not a run directory)" % (tmp_path, CONFIG)]


def cli_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("IRECGAN_FAULT_AT", None)
    env.update(extra)
    return env


def test_cli_cut_metrics_line_second_launch_and_damaged_checkpoint(tmp_path, log_path):
    """The three faults of issue 16 with irecgan-train itself; each run ends equal to an
    uninterrupted one."""
    run_dir = tmp_path / "pg"
    args = [sys.executable, "-m", "irecgan.cli.train"] + list(
        train_args(log_path, run_dir, "pg", "--agent_epochs=3"))

    # 1. killed in the middle of writing epoch 2's metrics record
    killed = subprocess.run(args, cwd=ROOT, env=cli_env(IRECGAN_FAULT_AT="metrics.line:2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert killed.returncode == -signal.SIGKILL
    assert not read_bytes(run_dir / METRICS).endswith(b"\n")  # a cut line, as kill -9 leaves

    # 3. started again while that resume still runs (stopped here as it restores): refused in
    # one line, the directory untouched; then the first goes on and finishes
    first = subprocess.Popen(args, cwd=ROOT, env=cli_env(IRECGAN_FAULT_AT="run:1:stop"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in first.stderr:
            if line.startswith(b"fault injection: stop at run:1"):
                break
        before = sorted(os.listdir(str(run_dir))), read_bytes(run_dir / METRICS)
        rc, _, stderr = cli("train", *train_args(log_path, run_dir, "pg", "--agent_epochs=3"))
        assert rc == 2 and "Traceback" not in stderr
        assert own_lines(stderr) == ["error: %s is in use by process %d" % (run_dir, first.pid)]
        assert (sorted(os.listdir(str(run_dir))), read_bytes(run_dir / METRICS)) == before
    finally:
        os.kill(first.pid, signal.SIGCONT)
        rest = first.communicate()[1].decode("utf-8")
    assert first.returncode == 0, rest
    assert "kept the 1 record of the checkpoint; dropped a partial line" in rest

    reference = tmp_path / "reference"
    experiment.run(str(reference), read_json(str(run_dir / CONFIG)), show_progress=False,
                   log=lambda msg: None)
    for name in (METRICS, RESULTS):
        assert read_bytes(run_dir / name) == read_bytes(reference / name), name

    # 2. the newest checkpoint damaged after its marker was written: one line, the previous
    # checkpoint restored, the damaged folder kept
    newest = sorted(os.listdir(str(run_dir / "checkpoints")))[-1]
    data = [n for n in os.listdir(str(run_dir / "checkpoints" / newest))
            if n.startswith("model.data")][0]
    with open(str(run_dir / "checkpoints" / newest / data), "r+b") as handle:
        handle.truncate(10)
    os.remove(str(run_dir / RESULTS))
    rc, _, stderr = cli("train", *train_args(log_path, run_dir, "pg", "--agent_epochs=3"))
    assert rc == 0 and "Traceback" not in stderr
    lines = own_lines(stderr)
    assert lines[0].startswith("checkpoint %s is damaged (%s has 10 bytes, expected "
                               % (newest, data))
    assert lines[0].endswith("; kept as %s.damaged; using ckpt-1 instead" % newest)
    assert epoch_lines(lines) == ["agent epoch 3/3"]
    assert os.path.isdir(str(run_dir / "checkpoints" / (newest + ".damaged")))
    for name in (METRICS, RESULTS):
        assert read_bytes(run_dir / name) == read_bytes(reference / name), name


def test_cli_finished_run_that_lost_its_last_record_resumes_from_the_previous_checkpoint(
        tmp_path, log_path):
    """Issue 25: metrics.jsonl of a finished run loses its last record; the run resumes from the
    checkpoint before (the newest one is set aside, in one line) and ends byte-identical."""
    run_dir = tmp_path / "pg"
    args = train_args(log_path, run_dir, "pg", "--agent_epochs=3")
    rc, _, stderr = cli("train", *args)
    assert rc == 0, stderr
    uninterrupted = dict((name, read_bytes(run_dir / name)) for name in (METRICS, RESULTS))
    lines = read_lines(str(run_dir / METRICS))
    assert len(lines) == 3
    with io.open(str(run_dir / METRICS), "w", encoding="utf-8") as handle:
        handle.writelines(lines[:-1])
    rc, _, stderr = cli("train", *args)
    assert rc == 0 and "Traceback" not in stderr, stderr
    own = own_lines(stderr)
    assert own[0] == ("checkpoint ckpt-2 is not used (agent epoch 3: has seen 3 records, %s "
                      "holds 2); kept as ckpt-2.unused; using ckpt-1 instead"
                      % (run_dir / METRICS))
    assert own[1] == "resuming %s from checkpoint (agent epoch 2)" % run_dir
    assert epoch_lines(own) == ["agent epoch 3/3"]
    for name in (METRICS, RESULTS):
        assert read_bytes(run_dir / name) == uninterrupted[name], name
    assert sorted(os.listdir(str(run_dir / "checkpoints"))) == \
        ["ckpt-1", "ckpt-2", "ckpt-2.unused"]
