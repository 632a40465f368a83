"""The MDP simulator of SPEC 8 (irecgan.sim.mdp)."""
import io
import math

import numpy as np
import pytest

from irecgan.data.logfile import write_sessions
from irecgan.errors import UserError
from irecgan.sim import mdp as M
from irecgan.sim import online


def rs(*seed):
    return np.random.RandomState(list(seed))


def make_mdp(seed=0):
    return M.MDP.random(rs(seed, 1))


def log_text(env, policy_name, n, seed):
    sessions, stats = M.generate_log(env, M.logging_policy(env, policy_name, rs(seed, 3)), n,
                                     rs(seed, 2))
    buf = io.StringIO()
    write_sessions(buf, sessions)
    return buf.getvalue(), sessions, stats


def test_random_parameters_shapes_and_determinism():
    a, b, c = make_mdp(0), make_mdp(0), make_mdp(1)
    assert a.rewards.shape == (10, 50) and a.transitions.shape == (10, 50, 10)
    assert np.all((a.rewards >= 0) & (a.rewards < 1))
    np.testing.assert_allclose(a.transitions.sum(axis=2), 1.0)
    # softmax of U(0,1) logits: every probability within [e^0/(e^0+9e^1), e^1/(e^1+9e^0)]
    assert a.transitions.min() >= 1.0 / (1 + 9 * math.e) - 1e-12
    assert a.transitions.max() <= math.e / (math.e + 9) + 1e-12
    np.testing.assert_array_equal(a.rewards, b.rewards)
    np.testing.assert_array_equal(a.transitions, b.transitions)
    assert not np.array_equal(a.rewards, c.rewards)


def test_log_byte_identical_for_a_seed_and_different_for_another():
    env = make_mdp(0)
    text1, _, _ = log_text(env, "mix", 300, seed=7)
    text2, _, _ = log_text(env, "mix", 300, seed=7)
    text3, _, _ = log_text(env, "mix", 300, seed=8)
    assert text1 == text2
    assert text1 != text3


@pytest.mark.parametrize("policy", M.POLICIES)
def test_log_lines_follow_the_format(policy):
    env = make_mdp(0)
    text, sessions, stats = log_text(env, policy, 400, seed=1)
    assert len(sessions) == 400
    assert [s.session_id for s in sessions] == list(range(1, 401))
    assert stats["generated"] == 400 + stats["discarded_short"]
    by_id = {}
    for line in text.splitlines():
        sid, state, click, rec, purchase = line.split(";")
        by_id.setdefault(int(sid), []).append((int(state), int(click), rec, purchase))
    assert len(by_id) == 400 and stats["steps"] == len(text.splitlines())
    for steps in by_id.values():
        assert 2 <= len(steps) <= 40
        assert steps[0] == (0, 0, "", "0")  # `id;0;0;;0`
        assert steps[1][0] == 0  # the first click is made in the start state
        for state, click, rec, purchase in steps[1:]:
            items = [int(x) for x in rec.split(",")]
            assert len(items) == 10 and len(set(items)) == 10
            assert click in items and purchase == "0" and 0 <= state < 10
            if policy == "max":
                assert items == env.best_items(state, 10)


def test_sessions_are_capped_at_40_steps():
    # every item clicked with probability 1: sessions never end by themselves
    env = M.MDP(np.ones((2, 5)), np.full((2, 5, 2), 0.5), list_size=3)
    sessions, stats = M.generate_log(env, M.MaxPolicy(env), 20, rs(0))
    assert [len(s.clicks) for s in sessions] == [40] * 20
    assert stats["truncated"] == 20 and stats["discarded_short"] == 0


def test_sessions_without_a_click_are_not_logged():
    # in state 0 (the start state) only item 4 can be clicked; the max list shows it
    rewards = np.array([[0.0, 0.0, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]])
    trans = np.zeros((2, 5, 2))
    trans[:, :, 1] = 1.0  # every click leads to state 1, where nothing is clicked
    env = M.MDP(rewards, trans, list_size=2)
    sessions, stats = M.generate_log(env, M.MaxPolicy(env), 300, rs(0))
    assert all(s.clicks == ["0", "4"] and s.states == ["0", "0"] for s in sessions)
    # P(kept) = 0.5: generated ~ 600; 5 sigma of a negative binomial with mean 300 failures
    assert abs(stats["discarded_short"] - 300) < 5 * math.sqrt(600)


def test_max_policy_gives_longer_sessions_than_random():
    env = make_mdp(0)
    mean_len = {}
    for name in M.POLICIES:
        _, sessions, _ = log_text(env, name, 1000, seed=2)
        mean_len[name] = np.mean([len(s.clicks) for s in sessions])
    assert mean_len["max"] > mean_len["mix"] > mean_len["random"]


def test_continuation_probability_matches_sum_r2_over_sum_r():
    env = make_mdp(3)
    state, items = 4, [0, 3, 7, 9, 12, 20, 31, 40, 44, 49]
    r = env.rewards[state, items]
    p = (r ** 2).sum() / r.sum()
    assert env.continuation_probability(state, items) == pytest.approx(p)
    n = 200000
    clicks, rewards, purchases, _ = env.step(np.full(n, state), np.tile(items, (n, 1)), rs(5))
    clicked = clicks >= 0
    tol = 5 * math.sqrt(p * (1 - p) / n)  # 5 binomial standard errors
    assert abs(clicked.mean() - p) < tol
    np.testing.assert_array_equal(rewards, clicked.astype(float))
    assert not purchases.any()
    # a click on item i happens with probability r_i^2 / sum r
    for i, ri in zip(items, r):
        q = ri ** 2 / r.sum()
        assert abs((clicks == i).mean() - q) < 5 * math.sqrt(q * (1 - q) / n)


def test_next_state_follows_the_transition_distribution():
    env = make_mdp(3)
    n, state, item = 100000, 2, 17
    lists = np.full((n, 1), item)
    clicks, _, _, nxt = env.step(np.full(n, state), lists, rs(6))
    nxt = nxt[clicks >= 0]
    m = len(nxt)
    assert abs(m / n - env.rewards[state, item]) < 5 * math.sqrt(0.25 / n)
    freq = np.bincount(nxt, minlength=10) / float(m)
    p = env.transitions[state, item]
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / m))


def test_policies():
    env = make_mdp(0)
    states = np.arange(10).repeat(200)
    hist = [[0]] * len(states)
    top = M.MaxPolicy(env)(hist, states)
    np.testing.assert_array_equal(top, np.argsort(-env.rewards, axis=1)[states, :10])
    assert M.optimal_policy(env)(hist, states).tolist() == top.tolist()
    rand = M.RandomPolicy(env, rs(1))(hist, states)
    assert rand.shape == (2000, 10)
    assert all(len(set(row)) == 10 for row in rand.tolist())
    mix = M.MixPolicy(env, rs(2))(hist, states)
    n_max = 0
    for s, row, best in zip(states, mix.tolist(), top.tolist()):
        if row == best:
            n_max += 1
        else:
            assert len(set(row)) == 10 and set(row) <= set(env.ranking[s, 10:25].tolist())
    assert abs(n_max / 2000.0 - 0.5) < 5 * math.sqrt(0.25 / 2000)
    with pytest.raises(UserError):
        M.logging_policy(env, "greedy", rs(0))


def test_best_items_and_coverage_hand_computed():
    rewards = np.array([[0.1, 0.9, 0.5, 0.7, 0.3]])  # ranking: 1, 3, 2, 4, 0
    env = M.MDP(rewards, np.ones((1, 5, 1)), list_size=2)
    assert env.best_items(0, 3) == [1, 3, 2]
    cov = env.coverage([0, 0], [[3, 0], [1, 2]], kmax=3)
    # list {3, 0}: top1 {1} -> 0/1, top2 {1,3} -> 1/2, top3 {1,3,2} -> 1/3
    # list {1, 2}: top1 -> 1/1, top2 -> 1/2, top3 -> 2/3
    np.testing.assert_allclose(cov, [[0, 0.5, 1 / 3.0], [1, 0.5, 2 / 3.0]])


def test_params_save_load_round_trip(tmp_path):
    env = make_mdp(4)
    p1, p2 = str(tmp_path / "a.npz"), str(tmp_path / "b.npz")
    env.save(p1)
    env.save(p2)
    assert open(p1, "rb").read() == open(p2, "rb").read()  # no timestamps in the file
    back = M.MDP.load(p1)
    np.testing.assert_array_equal(back.rewards, env.rewards)
    np.testing.assert_array_equal(back.transitions, env.transitions)
    assert back.list_size == env.list_size
    assert log_text(env, "random", 200, 9)[0] == log_text(back, "random", 200, 9)[0]
    assert online.evaluate(env, M.MaxPolicy(env), 200) == online.evaluate(back, M.MaxPolicy(back),
                                                                          200)


def test_load_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        M.MDP.load(str(tmp_path / "missing.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_text(u"not a zip")
    with pytest.raises(UserError, match="not a .npz"):
        M.MDP.load(str(bad))
    other = str(tmp_path / "other.npz")
    from irecgan.sim import paramfile
    paramfile.save_arrays(other, "something else", {"x": np.zeros(2)})
    with pytest.raises(UserError, match="expected 'irecgan.sim.mdp'"):
        M.MDP.load(other)
    with pytest.raises(UserError):
        M.MDP(np.full((2, 3), 1.5), np.full((2, 3, 2), 0.5))
