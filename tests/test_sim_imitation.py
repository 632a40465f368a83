"""The MDP's click-imitation bound (`imitation`, sim/belief.py's ImitationPolicy, issue 32):
lists by posterior click weight, its value on a tiny MDP computed by hand."""
import numpy as np
import pytest

from irecgan.sim import belief as B
from irecgan.sim import mdp as M
from irecgan.sim import online


def two_state_mdp(max_steps=3):
    # items 0 and 1; r(0, .) = (0.9, 0.5), r(1, .) = (0.2, 0.7); start in state 0; lists of 1.
    # A click on item 0 in state 0 moves to state 0 or 1 with probability 1/2 each; every other
    # click moves to state 1.
    rewards = np.array([[0.9, 0.5], [0.2, 0.7]])
    trans = np.array([[[0.5, 0.5], [0.0, 1.0]],
                      [[0.0, 1.0], [0.0, 1.0]]])
    return M.MDP(rewards, trans, list_size=1, max_steps=max_steps)


def exact_value(env, policy):
    """The expected clicks per session of a deterministic policy, by summing over every click
    path (alpha(s) = P(clicks so far, state s)); `online.step_limit` steps."""
    total = 0.0
    frontier = [([env.start_item], np.eye(env.n_states)[env.start_state])]
    for _ in range(online.step_limit(env) - 1):
        nxt = []
        for history, alpha in frontier:
            lst = np.asarray(policy([history], None))[0]
            r = env.rewards[:, lst]                                   # [S, k]
            for j, c in enumerate(lst.tolist()):
                p = alpha * r[:, j] ** 2 / r.sum(axis=1)               # click c, per state
                total += p.sum()
                nxt.append((history + [c], p.dot(env.transitions[:, c, :])))
        frontier = nxt
    return total


def test_imitation_lists_rank_by_posterior_click_weight():
    rewards = np.array([[0.9, 0.5, 0.1], [0.2, 0.7, 0.3]])
    b = np.array([[0.5, 0.5], [1.0, 0.0]])
    # weights: row 0: (0.81+0.04)/2 = 0.425, (0.25+0.49)/2 = 0.37, (0.01+0.09)/2 = 0.05
    #          row 1: 0.81, 0.25, 0.01
    assert B.imitation_lists(rewards, b, 2).tolist() == [[0, 1], [0, 1]]
    # belief composes the list of a point mass (ratio (0.81+0.01)/1.0 = 0.82 > 1.06/1.4)
    assert sorted(B.best_lists(rewards, b[1:], 2)[0].tolist()) == [0, 2]


def test_imitation_value_equals_the_hand_computed_closed_form():
    env = two_state_mdp()
    # step 1 (state 0): weights 0.81 vs 0.25: show item 0, click 0.9; belief (0.5, 0.5).
    # step 2: weights (0.81+0.04)/2 = 0.425 (item 0) > (0.25+0.49)/2 = 0.37 (item 1): item 0,
    #   click 0.9 * (0.5*0.9 + 0.5*0.2) = 0.495.  Total 0.9 + 0.495 = 1.395.
    # belief (lists of 1: expected reward 0.55 for item 0 < 0.6 for item 1) shows item 1 at
    #   step 2: 0.9 * (0.5*0.5 + 0.5*0.7) = 0.54; total 1.44.
    imitation = M.logging_policy(env, "imitation", np.random.RandomState(0))
    assert exact_value(env, imitation) == pytest.approx(1.395, abs=1e-12)
    assert exact_value(env, M.logging_policy(env, "belief", None)) == pytest.approx(1.44,
                                                                                    abs=1e-12)


def test_imitation_online_mean_agrees_with_the_closed_form():
    env = two_state_mdp()
    res = online.evaluate(env, B.ImitationPolicy(env), n_sessions=4000, seed=3)
    # clicks per session take values 0, 1, 2 with mean 1.395; the standard error is
    # res["reward_std"] / sqrt(4000); 4 standard errors
    assert abs(res["reward_mean"] - 1.395) < 4 * res["reward_std"] / np.sqrt(4000)


def test_imitation_is_a_reference_policy_of_the_mdp():
    env = M.MDP.random(np.random.RandomState(0), n_states=3, n_items=8, list_size=3)
    assert "imitation" in M.POLICIES and M.KNOWS["imitation"] == "history-based"
    policy = M.logging_policy(env, "imitation", None)
    lists = policy([[0], [0, 2]], None)
    assert lists.shape == (2, 3)
    assert lists[0].tolist() == env.best_items(0, 3)   # the point mass on the start state
