"""The neural-oracle simulator of SPEC 8b (irecgan.sim.neural)."""
import io
import math

import numpy as np
import pytest

from irecgan.data.logfile import write_sessions
from irecgan.errors import UserError
from irecgan.sim import neural as N
from irecgan.sim import online


def rs(*seed):
    return np.random.RandomState(list(seed))


@pytest.fixture(scope="module")
def sim():
    user_params, policy_params = N.random_params(rs(0, 1))
    return N.NeuralUser(user_params), N.LoggingPolicy(policy_params)


def direct_lstm(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One example, unit by unit: z_j = sum_k W_ih[j,k] x_k + b_ih[j] + sum_k W_hh[j,k] h_k
    + b_hh[j]; gates in the order input, forget, cell, output."""
    hid = len(h)

    def sig(v):
        return 1.0 / (1.0 + math.exp(-v))

    z = [sum(w_ih[j, k] * x[k] for k in range(len(x))) + b_ih[j]
         + sum(w_hh[j, k] * h[k] for k in range(hid)) + b_hh[j] for j in range(4 * hid)]
    c_new = [sig(z[hid + j]) * c[j] + sig(z[j]) * math.tanh(z[2 * hid + j]) for j in range(hid)]
    h_new = [sig(z[3 * hid + j]) * math.tanh(c_new[j]) for j in range(hid)]
    return np.array(h_new), np.array(c_new)


def history_state(params, clicks, cell=direct_lstm):
    """h, c after feeding `clicks` one by one from zeros (the definition of h_t)."""
    p = params
    h = np.zeros(p["w_hh"].shape[1])
    c = np.zeros_like(h)
    for item in clicks:
        if cell is direct_lstm:
            h, c = direct_lstm(p["embedding"][item], h, c, p["w_ih"], p["w_hh"], p["b_ih"],
                               p["b_hh"])
        else:  # the vectorised cell (checked against direct_lstm above)
            h, c = [v[0] for v in cell(p["embedding"][[item]], h[None], c[None], p["w_ih"],
                                       p["w_hh"], p["b_ih"], p["b_hh"])]
    return h, c


def direct_click(user, h, shown):
    """(click, purchase) by the definition: argmax over shown + [end] of (W_o h + b_o) . E[x]."""
    p = user.params
    q = p["w_o"].dot(h) + p["b_o"]
    cands = list(shown) + [user.end_symbol]
    scores = [float(np.dot(q, p["embedding"][x])) for x in cands]
    click = cands[int(np.argmax(scores))]
    logit = float(np.dot(p["embedding"][click], p["w_r"].dot(h) + p["b_r"]))
    return click, int(round(1.0 / (1.0 + math.exp(-logit))))


def test_default_sizes(sim):
    user, policy = sim
    p = user.params
    assert (user.n_symbols, user.end_symbol, user.n_items) == (100, 99, 99)
    assert p["embedding"].shape == (100, 50) and p["w_ih"].shape == (200, 50)
    assert p["w_hh"].shape == (200, 50) and p["w_o"].shape == (50, 50)
    assert policy.params["embedding"].shape == (99, 50) and policy.params["w_out"].shape == (99, 50)
    assert (user.list_size, user.max_steps, policy.list_size) == (20, 5, 20)
    # N(0, 1): 9950 numbers in the user's LSTM weights
    w = p["w_ih"].ravel()
    assert abs(w.mean()) < 0.1 and abs(w.std() - 1) < 0.1


def test_lstm_step_matches_a_direct_recomputation(sim):
    user, _ = sim
    p = user.params
    rng = rs(1)
    x, h, c = rng.standard_normal((3, 50)), rng.standard_normal((3, 50)), rng.standard_normal((3, 50))
    h1, c1 = N.lstm_step(x, h, c, p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
    for row in range(3):
        hd, cd = direct_lstm(x[row], h[row], c[row], p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"])
        np.testing.assert_allclose(h1[row], hd, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(c1[row], cd, rtol=1e-10, atol=1e-12)


def test_click_is_argmax_over_list_plus_end_and_reward_formula(sim):
    user, _ = sim
    rng = rs(2)
    n = 60
    states, first = user.start(n, rng)
    lists = np.array([rng.permutation(99)[:20] for _ in range(n)])
    clicks, rewards, purchases, nxt = user.step(states, lists, rng)
    ends = 0
    for j in range(n):
        h, c = history_state(user.params, [first[j]])
        np.testing.assert_allclose(states.h[j], h, atol=1e-12)
        click, purchase = direct_click(user, h, lists[j])
        if click == user.end_symbol:
            ends += 1
            assert clicks[j] == -1 and rewards[j] == 0 and purchases[j] == 0
        else:
            assert clicks[j] == click and purchases[j] == purchase == rewards[j]
            h2, _ = history_state(user.params, [first[j], click])
            np.testing.assert_allclose(nxt.h[j], h2, atol=1e-12)
    assert 0 < ends < n


def test_logged_sessions_replay_exactly(sim):
    """Every logged click is the argmax for h_t = LSTM(c_0..c_{t-1}), every list the policy's top
    20 from the same clicks, every purchase the rounded sigmoid; sessions shorter than 5 steps
    ended because the end symbol won the next list."""
    user, policy = sim
    trajs = online.rollout(user, policy, 60, rs(3))
    assert any(len(t.clicks) == 5 for t in trajs) and any(len(t.clicks) < 5 for t in trajs)
    p = policy.params
    for t in trajs:
        assert 1 <= len(t.clicks) <= 5
        assert t.ended == (len(t.clicks) < 5)
        for step in range(1, len(t.clicks) + (1 if t.ended else 0)):
            history = t.clicks[:step]
            hp, _ = history_state(p, history, N.lstm_step)
            logits = p["w_out"].dot(hp) + p["b_out"]
            shown = sorted(range(99), key=lambda i: -logits[i])[:20]
            click, purchase = direct_click(user, history_state(user.params, history, N.lstm_step)[0],
                                           shown)
            if step < len(t.clicks):
                assert t.lists[step] == shown and t.clicks[step] == click
                assert t.purchases[step] == purchase == t.rewards[step]
                assert t.log_states[step] == str(step)
            else:
                assert click == user.end_symbol  # the list that ended the session


def test_lists_hold_20_distinct_items_and_sessions_at_most_5_steps(sim):
    user, policy = sim
    sessions, stats = N.generate_log(user, policy, 500, rs(4))
    assert len(sessions) == 500
    for s in sessions:
        assert 2 <= len(s.clicks) <= 5
        assert s.rec_lists[0] == [] and s.purchases[0] == 0 and s.states[0] == "0"
        assert s.states == [str(i) for i in range(len(s.clicks))]
        for rec, click in zip(s.rec_lists[1:], s.clicks[1:]):
            assert len(rec) == 20 and len(set(rec)) == 20 and click in rec
            assert all(0 <= int(x) <= 98 for x in rec)
    assert stats["truncated"] == sum(len(s.clicks) == 5 for s in sessions)


def test_start_items_are_uniform(sim):
    user, _ = sim
    _, first = user.start(19800, rs(5))
    counts = np.bincount(first, minlength=99)
    assert counts.shape == (99,) and counts.min() > 115 and counts.max() < 285  # 200 +- 6 sd


def log_text(user, policy, n, seed):
    sessions, _ = N.generate_log(user, policy, n, rs(seed, 2))
    buf = io.StringIO()
    write_sessions(buf, sessions)
    return buf.getvalue()


def test_byte_identical_logs_for_a_seed():
    def make(seed):
        u, p = N.random_params(rs(seed, 1))
        return N.NeuralUser(u), N.LoggingPolicy(p)
    assert log_text(*make(1), n=300, seed=1) == log_text(*make(1), n=300, seed=1)
    assert log_text(*make(1), n=300, seed=1) != log_text(*make(2), n=300, seed=2)


def test_params_save_load_round_trip(sim, tmp_path):
    user, policy = sim
    path, path2 = str(tmp_path / "n.npz"), str(tmp_path / "n2.npz")
    N.save_params(path, user.params, policy.params)
    N.save_params(path2, user.params, policy.params)
    assert open(path, "rb").read() == open(path2, "rb").read()
    u2, p2 = N.load_params(path)
    for k in N.USER_KEYS:
        np.testing.assert_array_equal(u2[k], user.params[k])
    back = (N.NeuralUser(u2), N.LoggingPolicy(p2))
    assert log_text(user, policy, 200, 3) == log_text(back[0], back[1], 200, 3)
    with pytest.raises(UserError, match="expected 'irecgan.sim.neural'"):
        from irecgan.sim import mdp
        mdp.MDP.random(rs(0)).save(path)
        N.load_params(path)


def test_options_sampled_clicks_and_lists_and_sizes():
    u, p = N.random_params(rs(6), n_symbols=12, embed_dim=4, hidden_dim=3)
    user = N.NeuralUser(u, list_size=5, max_steps=7, sample_click=True)
    assert user.params["w_hh"].shape == (12, 3) and user.end_symbol == 11
    policy = N.LoggingPolicy(p, list_size=5, sample=True, rng=rs(7))
    lists = policy([[1, 2], [3], [4, 5, 6]] * 100)
    assert lists.shape == (300, 5) and all(len(set(r)) == 5 for r in lists.tolist())
    assert len(set(map(tuple, lists.tolist()))) > 3  # sampled, not the same top 5
    # sampled click: frequencies follow the softmax of the scores over list + [end]
    n = 100000
    states, _ = user.start(1, rs(8))
    states = user.take(states, np.zeros(n, dtype=np.int64))
    shown = np.tile([0, 3, 5, 7, 9], (n, 1))
    clicks, _, _, _ = user.step(states, shown, rs(9))
    scores = user.click_scores(states.h[:1], np.array([[0, 3, 5, 7, 9, 11]]))[0]
    prob = np.exp(scores - scores.max())
    prob /= prob.sum()
    freq = [(clicks == x).mean() for x in [0, 3, 5, 7, 9]] + [(clicks == -1).mean()]
    assert np.all(np.abs(np.array(freq) - prob) < 5 * np.sqrt(prob * (1 - prob) / n) + 1e-9)
    sessions, _ = N.generate_log(user, policy, 50, rs(10), max_steps=7)
    assert max(len(s.clicks) for s in sessions) <= 7


def test_bad_parameters_are_user_errors():
    u, p = N.random_params(rs(0), n_symbols=10, embed_dim=3, hidden_dim=2)
    u["w_o"] = np.zeros((4, 4))
    with pytest.raises(UserError, match="w_o"):
        N.NeuralUser(u)
    del p["b_out"]
    with pytest.raises(UserError, match="b_out"):
        N.LoggingPolicy(p)
