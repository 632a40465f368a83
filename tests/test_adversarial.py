"""IRecGAN training: schedule plans, q_D-scaled agent weights, kill-and-resume equality."""
import json
import os

import numpy as np
import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.batching import make_batch
from irecgan.data.types import encoded
from irecgan.rundir.checkpoint import Checkpointer
from irecgan.training.adversarial import plan
from tiny_logs import write_mdp_log


def test_paper_plan_order_and_counts():
    units = plan("paper", epochs=2, g_steps=3, d_steps=1, use_disc=True)
    assert units[0] == ("d_pretrain",)
    assert units[1:6] == [("g", 1, 1), ("g", 1, 2), ("g", 1, 3), ("d", 1, 1), ("eval", 1)]
    assert len(units) == 1 + 2 * 5


def test_nod_plan_has_no_discriminator_units():
    units = plan("paper", epochs=2, g_steps=2, d_steps=1, use_disc=False)
    assert units == [("g", 1, 1), ("g", 1, 2), ("eval", 1), ("g", 2, 1), ("g", 2, 2),
                     ("eval", 2)]


def test_reference_plan_is_the_released_loop():
    units = plan("reference", epochs=1, use_disc=True)
    # D pretraining, then 3 x (3 x agent/generate, 1 user), 1 D step, evaluation
    assert units[0] == ("d_pretrain",)
    body = units[1:]
    assert [u[0] for u in body] == (["ref_a"] * 3 + ["ref_u"]) * 3 + ["d", "eval"]


def test_q_d_scales_rewards_in_the_agent_weights():
    # one generated session: clicks 4 -> 5 -> 6, then _EOS; purchase on the step to 6
    s = encoded([4, 5, 6], [[], [5, 7], [6, 8]], [0, 0, 1], end_list=[9, 10],
                q_d=[0.5, 0.8, 0.3])
    b = make_batch([s], np.random.RandomState(0), 20, gamma=0.9, lambda_r=3.0)
    # rewards: t=0 -> 1 (click 5), t=1 -> 1 + 3 * 1 = 4 (click 6, purchased), t=2 -> 0 (end)
    np.testing.assert_allclose(b["reward"][0], [1.0, 4.0, 0.0])
    # R_2 = 0; R_1 = 4 * 0.8 = 3.2; R_0 = 1 * 0.5 + 0.9 * 3.2 = 3.38
    np.testing.assert_allclose(b["returns"][0], [3.38, 3.2, 0.0], rtol=1e-6)
    # the end step's candidates: _EOS + random items, as for offline sessions (SPEC 2.4)
    assert b["rec_lists"][0, 2, 0] == 3 and b["rec_mask"][0, 2].sum() >= 16


TINY = dict(embed_dim=4, hidden=8, layers=1, batch_size=16, agent_epochs=1, user_epochs=1,
            adv_epochs=2, g_steps=2, d_steps=1, d_epochs=1, gen_sessions=8, offline_ratio=2,
            n_rollouts=2, online_sessions=20, threads=1, n_items=50, d_pretrain_sessions=16)


@pytest.fixture(scope="module")
def sim_data(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("simdata"))


def _config(sim_data, method, **extra):
    log, params = sim_data
    overrides = dict(TINY, method=method, data=log, env_params=params, seed=3)
    overrides.update(extra)
    return resolve(overrides)


def _metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
        return [json.loads(line) for line in handle]


class Killed(Exception):
    pass


def _run_killed_at(run_dir, config, kill_at, monkeypatch):
    """Run until the `kill_at`-th checkpoint save starts (that unit's work is lost), then die."""
    calls = {"n": 0}
    original = Checkpointer.save

    def dying_save(self, session, state):
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise Killed()
        return original(self, session, state)

    monkeypatch.setattr(Checkpointer, "save", dying_save)
    with pytest.raises(Killed):
        experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    monkeypatch.setattr(Checkpointer, "save", original)


@pytest.mark.parametrize("method", ["irecgan", "irecgan_nod"])
def test_killed_runs_resume_to_the_uninterrupted_result(sim_data, tmp_path, monkeypatch, method):
    config = _config(sim_data, method)
    straight = str(tmp_path / "straight")
    expected = experiment.run(straight, config, show_progress=False, log=lambda msg: None)
    expected_metrics = _metrics(straight)
    phases = [m["phase"] for m in expected_metrics]
    assert phases.count("adversarial") == 2
    assert ("d_pretrain" in phases) == (method == "irecgan")

    # saves: 1 agent epoch, 2 user epoch, then one per unit (irecgan: d_pretrain, g, g, d,
    # eval, g, g, d, eval). Kill in pretraining, in D pretraining, in a g-step, at an evaluation.
    kill_points = [1, 3, 5, 7] if method == "irecgan" else [2, 4]
    for kill_at in kill_points:
        run_dir = str(tmp_path / ("killed_%d" % kill_at))
        _run_killed_at(run_dir, config, kill_at, monkeypatch)
        messages = []
        resumed = experiment.run(run_dir, config, show_progress=False, log=messages.append)
        assert kill_at == 1 or any("resuming" in m for m in messages)
        assert _metrics(run_dir) == expected_metrics, kill_at
        assert resumed["offline"] == expected["offline"]
        assert resumed["online"] == expected["online"]


def test_irecgan_results_have_online_and_offline_metrics(sim_data, tmp_path):
    config = _config(sim_data, "irecgan", adv_epochs=1)
    results = experiment.run(str(tmp_path / "r"), config, show_progress=False,
                             log=lambda msg: None)
    assert set(results["offline"]) == {"valid", "test"}
    assert 0.0 <= results["online"]["coverage@10"] <= 1.0
    assert results["online"]["n_sessions"] == 20
    record = [m for m in _metrics(str(tmp_path / "r")) if m["phase"] == "adversarial"][0]
    for key in ("agent_loss", "user_adv_loss", "user_mle_loss", "d_loss", "gen_q_d",
                "online_reward_mean", "valid_P@1"):
        assert key in record
    assert 0.0 < record["gen_q_d"] < 1.0
