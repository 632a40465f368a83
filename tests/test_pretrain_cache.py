"""Pretrain once, reuse across methods (issue 33, --pretrain_cache): a run that restores another
method's stored pretraining writes the same metrics.jsonl and results.json bytes as one that
trains it; the key follows what the pretraining reads; concurrent writers leave one whole
entry."""
import io
import os
import shutil
import threading

import numpy as np
import pytest

from tiny_logs import TINY_IRECGAN, write_mdp_log

from irecgan import experiment
from irecgan.config import DEFAULTS, NOT_PRETRAINING_KEYS, UNBOUND_KEYS, resolve
from irecgan.errors import UserError
from irecgan.rundir import pretraincache
from irecgan.rundir.pretraincache import PretrainCache
from irecgan.rundir.runner import CONFIG, config_diff, read_json
from irecgan.training import shared_pretrain

TINY = dict(TINY_IRECGAN, adv_epochs=1)


def outputs(run_dir):
    out = {}
    for name in ("metrics.jsonl", "results.json"):
        with io.open(os.path.join(str(run_dir), name), "rb") as handle:
            out[name] = handle.read()
    return out


def train(run_dir, config):
    lines = []
    experiment.run(str(run_dir), config, show_progress=False, log=lines.append)
    return outputs(run_dir), lines


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("share"), n_sessions=120)


def config_of(log, **overrides):
    config = dict(TINY, data=log[0], env_params=log[1])
    config.update(overrides)
    return resolve(config)


@pytest.mark.parametrize("first,second", [("irecgan_nod", "irecgan"), ("pg", "irecgan_true")])
def test_a_restored_pretraining_writes_the_same_bytes(log, tmp_path, first, second):
    cache = str(tmp_path / "cache")
    alone, _ = train(tmp_path / "alone", config_of(log, method=second))
    stored, lines = train(tmp_path / "first", config_of(log, method=first, pretrain_cache=cache))
    assert any(line.startswith("pretraining stored in") for line in lines)
    assert len(os.listdir(cache)) == 1
    shared, lines = train(tmp_path / "second", config_of(log, method=second,
                                                         pretrain_cache=cache))
    restored = [line for line in lines if "restored from" in line]
    where = "user epoch 2" if second == "irecgan" else "agent epoch 2"
    assert restored == ["pretraining (%s) restored from %s" % (
        where, os.path.join(cache, os.listdir(cache)[0]))]
    assert not any("agent epoch 1/2" in line for line in lines)   # no pretraining epoch ran
    assert shared == alone
    entry = PretrainCache(cache).load(os.listdir(cache)[0])
    epochs = 4 if second == "irecgan" else 2
    assert entry["state"]["n_metrics"] == len(entry["records"]) == epochs
    first_lines = alone["metrics.jsonl"].splitlines()[:epochs]
    assert [line.encode() for line in entry["records"]] == first_lines
    assert stored["metrics.jsonl"].splitlines()[:epochs] == first_lines


def test_the_key_follows_what_the_pretraining_reads(log, tmp_path):
    def key(**overrides):
        material = experiment.pretraining_material(config_of(log, **overrides))
        return material, shared_pretrain.key_of(material)
    material, nod = key(method="irecgan_nod")
    assert sorted(material["config"]) == sorted(set(DEFAULTS) - set(NOT_PRETRAINING_KEYS))
    assert material["kind"] == {"weighting": "returns", "models": ["user", "agent"],
                                "phases": ["agent", "user"]}
    assert len(nod) == 64
    same = [key(method="irecgan")[1], key(method="irecgan", d_head="sequence")[1],
            key(method="irecgan_nod", adv_epochs=3, offline_ratio=0.1, disc_lr=0.5)[1]]
    assert same == [nod] * 3
    pg = key(method="pg")[1]
    assert key(method="irecgan_true", offline_ratio=0.1)[1] == pg
    changed = [key(method="lstm")[1], pg, key(method="irecgan_nod", agent_lr=2e-4)[1],
               key(method="irecgan_nod", seed=4)[1], key(method="irecgan_nod", hidden=9)[1],
               key(method="irecgan_nod", online_seed=1)[1],
               key(method="irecgan_nod", user_epochs=3)[1]]
    assert len(set(changed + [nod])) == len(changed) + 1
    # the files by content, not by path: a copy keys the same, one changed line does not
    copy = str(tmp_path / "copy.log")
    shutil.copy(log[0], copy)
    assert key(method="irecgan_nod", data=copy)[1] == nod
    with io.open(copy, "rb") as handle:
        lines = handle.read().splitlines(True)
    with io.open(copy, "wb") as handle:
        handle.writelines(lines[:-1])
    assert key(method="irecgan_nod", data=copy)[1] != nod


PAYLOAD = {"variables": {"agent/w:0": np.arange(6, dtype=np.float32).reshape(2, 3)},
           "state": {"agent/epoch": 2, "n_metrics": 2}, "records": ['{"a": 1}', '{"b": 2}']}


def same_payload(loaded):
    assert sorted(loaded) == sorted(PAYLOAD)
    assert np.array_equal(loaded["variables"]["agent/w:0"], PAYLOAD["variables"]["agent/w:0"])
    assert loaded["state"] == PAYLOAD["state"] and loaded["records"] == PAYLOAD["records"]


def test_concurrent_writers_leave_one_whole_entry(tmp_path):
    root = str(tmp_path / "cache")
    barrier = threading.Barrier(4)
    made = []

    def one():
        barrier.wait()
        made.append(PretrainCache(root).store("k1", {"x": 1}, PAYLOAD))
    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(made) == [False, False, False, True]
    assert os.listdir(root) == ["k1"]   # no temporary folder left
    same_payload(PretrainCache(root).load("k1"))
    assert PretrainCache(root).load("k2") is None


def test_a_writer_that_loses_the_rename_keeps_the_winners_entry(tmp_path, monkeypatch):
    root = str(tmp_path / "cache")
    rename = os.rename
    other = dict(PAYLOAD, records=['{"c": 3}'])

    def late_rename(src, dst):   # another run's entry lands between the check and the rename
        monkeypatch.setattr(pretraincache.os, "rename", rename)
        assert PretrainCache(root).store("k", {}, other) is True
        rename(src, dst)
    monkeypatch.setattr(pretraincache.os, "rename", late_rename)
    assert PretrainCache(root).store("k", {}, PAYLOAD) is False
    assert os.listdir(root) == ["k"]
    assert PretrainCache(root).load("k")["records"] == ['{"c": 3}']


def test_a_damaged_entry_is_not_used_nor_replaced(tmp_path):
    root = str(tmp_path / "cache")
    assert PretrainCache(root).store("k", {}, PAYLOAD) is True
    path = os.path.join(root, "k", pretraincache.ENTRY_JSON)
    with io.open(path, "r+b") as handle:
        handle.write(b"X")
    lines = []
    assert PretrainCache(root, log=lines.append).load("k") is None
    assert len(lines) == 1 and "is damaged (entry.json does not match its checksum)" in lines[0]
    assert PretrainCache(root).store("k", {}, PAYLOAD) is False


def test_a_run_directory_is_not_bound_to_its_cache(log, tmp_path):
    # a sweep may turn the cache on or off between a kill and the resume: no number changes
    run_dir = str(tmp_path / "run")
    for cache in ("", str(tmp_path / "cache"), ""):
        runner = experiment.open_run(run_dir, config_of(log, method="pg",
                                                        pretrain_cache=cache))[2]
        runner.close()
    assert read_json(os.path.join(run_dir, CONFIG))["pretrain_cache"] == ""
    assert config_diff({"hidden": 8, "pretrain_cache": ""}, {"hidden": 9, "pretrain_cache": "c"},
                       unbound=UNBOUND_KEYS) == ["hidden: 8 -> 9"]
    with pytest.raises(UserError) as err:
        experiment.open_run(run_dir, config_of(log, method="pg", hidden=9))
    assert "hidden: 8 -> 9" in str(err.value)


def test_only_a_state_of_pretraining_alone_is_stored():
    # a run resumed after its adversarial phase began holds later variables: never stored
    assert shared_pretrain.pretraining_state({"n_metrics": 4, "where": "user epoch 2",
                                              "elapsed_s": 1.0, "agent/epoch": 2,
                                              "user/rng": ("MT19937",)})
    assert not shared_pretrain.pretraining_state({"n_metrics": 5, "agent/epoch": 2,
                                                  "adv/units": 1})
    assert not shared_pretrain.pretraining_state({"n_metrics": 4, "pool": []})


def test_a_cache_that_cannot_be_written_costs_the_sharing_not_the_run(log, tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text(u"not a folder")
    alone, _ = train(tmp_path / "alone", config_of(log, method="pg", agent_epochs=1))
    shared, lines = train(tmp_path / "run", config_of(log, method="pg", agent_epochs=1,
                                                      pretrain_cache=str(blocked)))
    assert shared == alone
    failed = [line for line in lines if "not stored" in line]
    assert len(failed) == 1 and failed[0].startswith(
        "pretraining not stored in %s%s" % (blocked, os.sep))
    assert blocked.read_text() == u"not a folder"
