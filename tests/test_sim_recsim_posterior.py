"""RecSim's history-based reference (`posterior`, sim/recsim_posterior.py, issue 32): a particle
filter over the interests; it reads no hidden state. The filter's tests need numpy only (a
stand-in world of plain arrays); those marked `needs_recsim` skip when the extra is missing."""
import collections

import numpy as np
import pytest

from irecgan.sim import online
from irecgan.sim import recsim_env as R
from irecgan.sim import recsim_posterior as P
from irecgan.sim.recsim_corpus import Corpus
from irecgan.sim.recsim_policies import KNOWS, OraclePolicy

HAVE_RECSIM, WHY_NOT = R.available()
needs_recsim = pytest.mark.skipif(not HAVE_RECSIM, reason="optional extra 'recsim' is not "
                                  "installed: " + WHY_NOT)
World = collections.namedtuple("World", ["corpus", "list_size", "max_steps"])


def toy_world(n_docs=12, n_topics=4, list_size=3):
    rng = np.random.RandomState(7)
    cluster = np.arange(n_docs) % n_topics
    return World(Corpus(np.eye(n_topics)[cluster], cluster, np.full(n_docs, 4.0),
                        rng.normal(0.0, 1.0, n_docs), 0), list_size, 40)


def view(interests, c=P.DEFAULT_CONSTANTS):
    return R.UserView(np.asarray(interests, dtype=np.float64), 30.0, *c)


def test_same_history_and_different_interests_give_the_same_lists():
    world = toy_world()
    policy = P.PosteriorPolicy(world, n_particles=200)
    a, b = view([0.9, -0.9, 0.5, 0.0]), view([-0.8, 0.7, -0.2, 0.6])
    first = policy([[1], [1]], [a, b])
    assert first[0].tolist() == first[1].tolist()
    clicks = [[1, int(first[0][0])], [1, int(first[0][0])]]
    second = policy(clicks, [a, b])
    assert second[0].tolist() == second[1].tolist()
    # the same in a fresh policy without any states, history by history (a replay)
    fresh = P.PosteriorPolicy(world, n_particles=200)
    assert fresh([clicks[0]], None)[0].tolist() == second[0].tolist()
    # and the state-aware oracle tells the two users apart
    oracle = OraclePolicy(world)([[1], [1]], [a, b])
    assert oracle[0].tolist() != oracle[1].tolist()


def test_start_item_and_click_weights_are_the_choice_model_by_hand():
    world = toy_world(n_docs=4, n_topics=2, list_size=2)   # docs 0, 2: topic 0; 1, 3: topic 1
    filt = P.InterestFilter(world.corpus.features, n_particles=2, seed=0)
    filt.prior = np.array([[0.5, -0.5], [-0.5, 0.5]])
    particles, logw = filt.start(0)
    # start item 0 (topic 0): weights (u0 + 1) / (2 (u0 + 1) + 2 (u1 + 1)) = 1.5 / 4, 0.5 / 4
    w = np.exp(logw - logw.max())
    assert w[1] / w[0] == pytest.approx(0.5 / 1.5)
    # click 1 (topic 1) from slate [0, 1]: (u1 + 1) / (u0 + u1 + 2) = 0.5 / 2, 1.5 / 2;
    # the ratio of the weights is now (0.5/1.5) * (1.5/0.5) = 1 (no resampling: ESS = 2)
    filt.coins[0] = np.array([0.0, 1.0])   # particle 0 moves towards topic 1, particle 1 away
    particles, logw = filt.update(particles, logw, [0, 1], 1, 1)
    assert np.exp(logw[1] - logw[0]) == pytest.approx(1.0)
    # the interest step (0.3 - 0.3 |u1|) * (1 - u1): particle 0: 0.15 * 1.5 = 0.225 up;
    # particle 1: 0.15 * 0.5 = 0.075 down (coin 1.0 >= (0.5 + 1) / 2); topic 0 untouched
    assert particles.ravel().tolist() == pytest.approx([0.5, -0.275, -0.5, 0.425])


def test_the_clicked_topic_rises_and_the_filter_is_seeded():
    world = toy_world()
    filt = P.InterestFilter(world.corpus.features, n_particles=300, seed=3)
    particles, logw = filt.start(0)
    for t in range(1, 12):   # many clicks on topic 0 (doc 0) from [0, 1, 2]: its interest rises
        particles, logw = filt.update(particles, logw, [0, 1, 2], 0, t)
    mean = filt.mean(particles, logw)
    assert mean[0] > 0.5 and mean[0] > max(mean[1], mean[2]) + 0.5
    again = P.InterestFilter(world.corpus.features, n_particles=300, seed=3)
    p2, l2 = again.start(0)
    for t in range(1, 12):
        p2, l2 = again.update(p2, l2, [0, 1, 2], 0, t)
    assert np.array_equal(p2, particles) and np.array_equal(l2, logw)


def test_a_point_mass_posterior_shows_the_oracle_slate():
    world = toy_world()
    policy = P.PosteriorPolicy(world, n_particles=3)
    u = np.array([0.7, -0.4, 0.1, -0.9])
    slate = policy.slate(np.tile(u, (3, 1)), np.zeros(3))
    assert slate.tolist() == OraclePolicy(world).slate(view(u)).tolist()


def test_the_labels():
    assert KNOWS["oracle"] == "state-aware" and KNOWS["posterior"] == "history-based"


@needs_recsim
def test_posterior_on_a_recsim_world_ignores_the_users_and_is_deterministic():
    world = R.RecSimWorld.random(np.random.RandomState([1, 1]), n_docs=30)
    refs = R.reference_policies(world, np.random.RandomState(0))
    assert list(refs) == ["random", "quality", "oracle", "posterior"]
    assert P.world_constants(world) == P.DEFAULT_CONSTANTS
    states, first = world.start(4, np.random.RandomState(5))
    same = [[int(first[0])]] * 4   # one history, four users with their own interests
    lists = refs["posterior"](same, world.policy_states(states))
    assert all(row.tolist() == lists[0].tolist() for row in lists)
    a = online.evaluate(world, refs["posterior"], n_sessions=20, seed=2)
    b = online.evaluate(world, R.reference_policies(world, None)["posterior"], 20, seed=2)
    assert a["reward_mean"] == b["reward_mean"]
