"""Online evaluation and lock-step rollouts (irecgan.sim.online) on both simulators."""
import numpy as np
import pytest

from irecgan.errors import UserError
from irecgan.sim import mdp as M
from irecgan.sim import neural as N
from irecgan.sim import online


def rs(*seed):
    return np.random.RandomState(list(seed))


@pytest.fixture(scope="module")
def env():
    return M.MDP.random(rs(0, 1))


def test_coverage_of_max_is_one_and_of_random_about_one_fifth(env):
    top = online.evaluate(env, M.MaxPolicy(env), n_sessions=500, seed=1)
    rand = online.evaluate(env, M.RandomPolicy(env, rs(2)), n_sessions=500, seed=1)
    for k in range(1, 11):
        assert top["coverage@%d" % k] == 1.0
        # a random 10 of 50 holds each of the k best with probability 10/50 = 0.2; the mean of
        # ~1500 lists has a standard error below 0.011 (k = 1) and 0.004 (k = 10)
        assert abs(rand["coverage@%d" % k] - 0.2) < 0.05
    assert abs(rand["coverage@10"] - 0.2) < 0.02


def test_max_list_earns_more_than_random(env):
    top = online.evaluate(env, M.optimal_policy(env), n_sessions=500, seed=3)
    mix = online.evaluate(env, M.MixPolicy(env, rs(4)), n_sessions=500, seed=3)
    rand = online.evaluate(env, M.RandomPolicy(env, rs(4)), n_sessions=500, seed=3)
    assert top["reward_mean"] > mix["reward_mean"] > rand["reward_mean"]
    for res in (top, mix, rand):
        assert res["n_sessions"] == 500
        assert res["reward_mean"] == res["clicks_mean"] == pytest.approx(res["length_mean"] - 1)
        assert res["purchases_mean"] == 0.0
        assert res["n_lists"] >= 500


def test_evaluation_is_deterministic_for_a_seed(env):
    def run(seed):
        return online.evaluate(env, M.MixPolicy(env, rs(5)), n_sessions=300, seed=seed,
                               batch_size=64)
    assert run(7) == run(7)
    assert run(7) != run(8)


def test_per_session_wrapper_equals_the_batched_policy(env):
    def f(history, state):
        assert history[0] == 0
        return env.best_items(state, 10)
    wrapped = online.per_session(f)
    assert online.evaluate(env, wrapped, 300, seed=2) == online.evaluate(
        env, M.MaxPolicy(env), 300, seed=2)


def test_closed_form_world():
    """Every shown item is clicked (reward 1), so a session takes exactly max_steps steps:
    reward = max_steps - 1 clicks; one state, so the max list covers everything."""
    env = M.MDP(np.ones((1, 4)), np.ones((1, 4, 1)), list_size=2)
    res = online.evaluate(env, M.MaxPolicy(env), n_sessions=10, seed=0, max_steps=6)
    assert res["reward_mean"] == 5.0 and res["reward_std"] == 0.0 and res["length_mean"] == 6.0
    assert res["n_lists"] == 50  # 10 sessions x 5 lists
    # rewards 0: nothing is ever clicked, every session is the start step only
    env0 = M.MDP(np.zeros((1, 4)), np.ones((1, 4, 1)), list_size=2)
    res0 = online.evaluate(env0, M.MaxPolicy(env0), n_sessions=10, seed=0)
    assert res0["reward_mean"] == 0.0 and res0["length_mean"] == 1.0 and res0["n_lists"] == 10


def test_rollout_passes_histories_and_states_to_the_policy(env):
    seen = []

    def policy(histories, states):
        seen.append((len(histories), [list(h) for h in histories], list(states)))
        return env.ranking[np.asarray(states), :10]
    trajs = online.rollout(env, policy, 5, rs(1), max_steps=40)
    assert seen[0] == (5, [[0]] * 5, [0] * 5)
    for n_live, histories, states in seen:
        assert n_live == len(histories) == len(states)
        assert all(len(h) == len(histories[0]) for h in histories)  # lock step
    for t in trajs:
        assert t.clicks[0] == 0 and t.lists[0] == [] and t.rewards[0] == 0
        assert all(c in lst for c, lst in zip(t.clicks[1:], t.lists[1:]))
        assert sum(t.rewards) == len(t.clicks) - 1


def test_bad_policy_output_is_a_clear_error(env):
    with pytest.raises(ValueError, match="shape"):
        online.evaluate(env, lambda h, s: np.zeros((len(h) + 1, 10), dtype=int), 10)
    with pytest.raises(ValueError, match="outside"):
        online.evaluate(env, lambda h, s: np.full((len(h), 10), 50), 10)
    with pytest.raises(ValueError, match="integer"):
        online.evaluate(env, lambda h, s: np.full((len(h), 10), 0.5), 10)


def test_neural_evaluation_sums_purchases():
    u, p = N.random_params(rs(0, 1))
    user, logging = N.NeuralUser(u), N.LoggingPolicy(p)
    res = online.evaluate(user, logging, n_sessions=300, seed=0, max_steps=40)
    assert "coverage@1" not in res
    assert res["reward_mean"] == res["purchases_mean"]
    assert res["length_mean"] <= 5
    assert res["clicks_mean"] == pytest.approx(res["length_mean"] - 1)
    assert 0 < res["reward_mean"] <= res["clicks_mean"]
    # the same figures from the trajectories themselves
    trajs = online.rollout(user, logging, 300, np.random.RandomState(0))
    assert res["reward_mean"] == pytest.approx(np.mean([sum(t.purchases) for t in trajs]))
    assert online.evaluate(user, logging, 300, seed=0) == res


def test_collecting_a_log_from_a_world_without_clicks_gives_up(monkeypatch):
    monkeypatch.setattr(online, "GIVE_UP_AFTER", 2000)
    env0 = M.MDP(np.zeros((1, 4)), np.ones((1, 4, 1)), list_size=2)
    with pytest.raises(UserError, match="never continue past the start step"):
        online.collect_sessions(env0, M.MaxPolicy(env0), 5, rs(0), batch_size=500)


def test_clicks_over_sessions_with_a_click_the_authors_online_figure():
    # item 0 is always clicked, item 1 never; one-item random lists: each step continues with
    # probability 1/2, so clicks ~ geometric: P(n) = 2^-(n+1); over sessions with a click the
    # mean is 1 / (1 - 1/2) = 2 (std sqrt(2), ~200 such sessions: 5 standard errors = 0.5)
    env = M.MDP(np.array([[1.0, 0.0]]), np.ones((1, 2, 1)), list_size=1)
    res = online.evaluate(env, online.RandomLists(2, 1, np.random.RandomState(0)), 400, seed=1)
    assert abs(res["clicks_mean_clicked"] - 2.0) < 0.5
    assert res["clicks_mean"] == pytest.approx(res["clicks_mean_clicked"] * res["clicked_share"])
    assert abs(res["clicked_share"] - 0.5) < 5 * 0.5 / 20.0  # 5 binomial standard errors
