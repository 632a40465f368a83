"""benchmarks/phase_model.py (the FLOP counts and the run_cikm.sh cost model of
benchmarks/phases.py) on hand-computed cases. Pure Python: no TensorFlow, milliseconds."""
import pytest

from bench_import import load_benchmark


@pytest.fixture(scope="module")
def pm():
    return load_benchmark("phase_model")


def test_lstm_and_training_flops_by_hand(pm):
    # 2 layers, E 4, H 5: layer 0 reads 4 + 5 = 9 columns, layer 1 5 + 5 = 10; 4 gates x 5 = 20
    shapes = pm.lstm(rows=2, steps=3, embed=4, hidden=5, layers=2)
    assert shapes == [(2, 9, 20, 3), (2, 10, 20, 3)]
    assert pm.flops(shapes) == 2 * 2 * 9 * 20 * 3 + 2 * 2 * 10 * 20 * 3 == 4560
    # forward, input gradient [m, n] x [n, k], weight gradient [k, m] x [m, n]: 3 x 48 FLOPs
    assert pm.training([(2, 3, 4, 1)]) == [(2, 3, 4, 1), (2, 4, 3, 1), (3, 2, 4, 1)]
    assert pm.flops(pm.training([(2, 3, 4, 1)])) == 144
    assert pm.merge([(2, 3, 4, 1), (5, 1, 1, 2), (2, 3, 4, 0.5)]) == [(2, 3, 4, 1.5),
                                                                      (5, 1, 1, 2)]


def test_agent_step_per_token_is_training_benchmarks_count(pm):
    # benchmarks/training.py: LSTM 6.50 M + output 40.96 M forward, 142.4 M per training token
    per_token = pm.agent_step(1, 1, 1, embed=50, hidden=512, layers=2, vocab=40004)
    assert pm.flops(per_token) == 8 * 562 * 512 + 8 * 1024 * 512 + 2 * 512 * 40004 == 47460352
    assert pm.flops(pm.training(per_token)) == 3 * 47460352


def test_generation_call_counts_spawned_rows_act_half_only(pm):
    e, h, v = 2, 3, 7
    plain = pm.generation_call(1, 0, e, h, 1, v, purchase=False, with_disc=False)
    # agent LSTM (5 x 12) + output (3 x 7), user LSTM + preference (3 x 2)
    assert pm.flops(plain) == 2 * (5 * 12 + 3 * 7 + 5 * 12 + 3 * 2)
    with_d = pm.generation_call(1, 4, e, h, 1, v, purchase=False)
    term = 2 * (3 * 3 + 2 * 3 + 2 * 3 * 2)   # query, candidate of the target, [q; a] W_c^T
    assert pm.flops(with_d) - pm.flops(plain) == 2 * 5 * 12 + term * (1 + 4)


def test_run_counts_by_hand(pm):
    preset = dict(batch_size=32, agent_epochs=2, user_epochs=3, adv_epochs=1, g_steps=2,
                  d_steps=1, d_epochs=3, gen_sessions=10, offline_ratio=1.0)
    split = {"train": 100, "valid": 40, "test": 40}   # 4 training batches, 2 valid, 2 test
    c = pm.run_counts("irecgan", preset, split)
    assert c == dict(agent_step=2 * 4 + 2 * 1, agent_eval_batch=2 * 2 + 2 + 2 + 2,
                     user_step=3 * 4 + 2 * (1 + 1), user_eval_batch=3 * 2 + 2 + 2 + 2,
                     gen_session_qd=20, gen_session=1000 + 10 + 2 * 40,
                     disc_step=2 * 3 * 4, disc_score_batch=2 * 2 * 2)
    lstm = pm.run_counts("lstm", preset, split)
    assert lstm["agent_step"] == 8 and lstm["agent_eval_batch"] == 8
    assert sum(lstm.values()) == 16
    parts, total = pm.run_seconds(lstm, dict((k, 0.5) for k in lstm))
    assert parts["agent_step"] == 4.0 and total == 8.0


def test_run_cikm_cost_by_hand(pm):
    # only agent steps (1 s wall, 0.5 s CPU, 4 GFLOP each) and agent evaluation batches (0.5 s,
    # 0.25 s) cost anything; 1 agent epoch, no U epochs, no adversarial epoch
    step = dict(per_unit_s=0.0, cpu_per_unit_s=0.0, gflop=0.0, units=1)
    ph = dict((k, dict(step)) for k in ("agent_step", "user_step", "disc_step",
                                        "agent_eval_batch", "user_eval_batch",
                                        "disc_score_batch"))
    ph["agent_step"] = dict(per_unit_s=1.0, cpu_per_unit_s=0.5, gflop=8.0, units=2)
    ph["agent_eval_batch"] = dict(per_unit_s=0.5, cpu_per_unit_s=0.25)
    for k in ("gen_step", "gen_step_with_d"):
        ph[k] = dict(wall_s=0.0, cpu_s=0.0, sessions=200, gflop=0.0, calls=4)
    config = dict(batch_size=32, agent_epochs=1, user_epochs=0, adv_epochs=0, g_steps=3,
                  d_steps=1, d_epochs=3, gen_sessions=200, offline_ratio=10.0)
    cost = pm.run_cikm_cost(ph, config, gpu_tflops=4.0, gpu_call_ms=10.0)
    # 65,284 training sessions: 2,041 batches; valid 1,718 and test 1,720: 54 batches each;
    # the agent's evaluations: valid after the epoch, then valid and test at the end
    lstm = cost["methods"]["lstm"]
    assert lstm["counts"]["agent_step"] == 2041 and lstm["counts"]["agent_eval_batch"] == 162
    assert lstm["seconds"] == pytest.approx(2041 * 1.0 + 162 * 0.5)
    assert lstm["cpu_seconds"] == pytest.approx(2041 * 0.5 + 162 * 0.25)
    # GPU: 4 GFLOP / 4 TFLOP/s + 10 ms per step; an evaluation batch 2/3 of it and two calls
    assert lstm["gpu_seconds"] == pytest.approx(2041 * 0.011 + 162 * (4e9 * 2 / 3 / 4e12 + 0.02))
    for method in ("pg", "irecgan_nod", "irecgan"):   # U and D cost nothing here
        assert cost["methods"][method]["seconds"] == pytest.approx(lstm["seconds"])
    assert cost["run_seconds_total"] == pytest.approx(5 * 4 * lstm["seconds"])
    assert cost["wall_2_cores_s"] == pytest.approx(5 * 4 * lstm["seconds"] / 2)
    assert cost["wall_2_cores_idle_estimate_s"] == pytest.approx(5 * 4 * lstm["cpu_seconds"] / 2)
    # runs timed with both cores' threads go one at a time: the wall adds up, while the idle
    # estimate still spreads the CPU seconds over the 2 cores
    one = pm.run_cikm_cost(ph, config, gpu_tflops=4.0, gpu_call_ms=10.0, jobs=1)
    assert one["wall_2_cores_s"] == pytest.approx(5 * 4 * lstm["seconds"])
    assert one["wall_2_cores_idle_estimate_s"] == pytest.approx(
        cost["wall_2_cores_idle_estimate_s"])
    assert (one["jobs"], cost["jobs"]) == (1, 2)
