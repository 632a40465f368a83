"""The neural oracle's training-reward oracle (`oracle_train`, issue 32): greedy on the agents'
reward 1 + lambda_r * purchase, checked against brute force over every list."""
import itertools

import numpy as np
import pytest

from irecgan.sim import neural as N
from irecgan.sim import online


def rs(*seed):
    return np.random.RandomState(list(seed))


def tiny_user(seed, sample_click):
    user, policy = N.random_params(rs(seed), n_symbols=7, embed_dim=4, hidden_dim=3)
    return N.NeuralUser(user, list_size=3, sample_click=sample_click), policy


def expected_training_reward(env, h, lst, lambda_r=3.0):
    """E[r] of showing `lst` with hidden vector h: r = 1 + lambda_r * purchase per click, 0 on
    the end symbol."""
    cand = np.array([list(lst) + [env.end_symbol]])
    scores = env.click_scores(h[None], cand)[0]
    r = 1.0 + lambda_r * env.purchase(np.repeat(h[None], len(lst), 0), np.array(lst))
    if env.sample_click:
        p = np.exp(scores - scores.max())
        p /= p.sum()
        return float((p[:-1] * r).sum())
    pos = int(np.argmax(scores))
    return float(r[pos]) if pos < len(lst) else 0.0


@pytest.mark.parametrize("sample_click", [True, False])
def test_training_oracle_maximises_the_expected_training_reward(sample_click):
    for seed in range(6):
        env, _ = tiny_user(seed, sample_click)
        states, _ = env.start(6, rs(seed, 9))
        views = env.policy_states(states)
        lists = N.TrainingOraclePolicy(env)([[0]] * 6, views)
        for h, lst in zip(views, lists.tolist()):
            assert len(set(lst)) == 3
            best = max(expected_training_reward(env, h, c)
                       for c in itertools.combinations(range(env.n_items), 3))
            assert expected_training_reward(env, h, lst) == pytest.approx(best, abs=1e-12)


def test_training_oracle_differs_from_the_purchase_oracle_where_no_buy_can_win():
    # argmax clicks, 6 items, k = 1. Where the user would buy some item but none outscores the
    # end symbol while another item does, oracle_train earns r = 1, and the purchase oracle
    # (the best bought item first) lets the session end.
    found = 0
    for seed in range(40):
        env, _ = tiny_user(seed, False)
        states, _ = env.start(8, rs(seed, 3))
        for h in env.policy_states(states):
            items = np.arange(env.n_items + 1)[None]
            s = env.click_scores(h[None], items)[0]
            buy = env.purchase(np.repeat(h[None], env.n_items, 0), np.arange(env.n_items))
            if (np.any(buy > 0) and not np.any((s[:-1] >= s[-1]) & (buy > 0))
                    and np.any(s[:-1] >= s[-1])):
                train = N.TrainingOraclePolicy(env, k=1)([[0]], [h])[0].tolist()
                purchase = N.OraclePolicy(env, k=1)([[0]], [h])[0].tolist()
                assert expected_training_reward(env, h, train) == 1.0
                assert expected_training_reward(env, h, purchase) == 0.0
                found += 1
    assert found > 0


def test_training_oracle_is_a_reference_policy():
    env, params = tiny_user(1, True)
    assert N.POLICIES[-1] == "oracle_train" and N.KNOWS["oracle_train"] == "history-based"
    policy = N.policy(env, params, "oracle_train", rs(0))
    res = online.evaluate(env, policy, n_sessions=50, seed=2)
    again = online.evaluate(env, N.policy(env, params, "oracle_train", rs(5)), 50, seed=2)
    assert res["reward_mean"] == again["reward_mean"]   # deterministic: no draws of its own
