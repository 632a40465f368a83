"""RecSim's users in numpy (irecgan.sim.recsim_users), the fast engine of RecSimWorld: the same
numbers as RecSim's objects, to the bit.

The first tests need numpy alone (they run on both stacks): the draws, and `ArrayUsers.step`
against `RefUser`, a user by user transcription of RecSim's `IEvUserModel` with its
`MultinomialProportionalChoiceModel` drawing from numpy's global generator as `RecSimWorld`
seeds it. The tests marked `needs_recsim` compare the two engines of `RecSimWorld` (RecSim's
own objects against the arrays) and skip where the extra is not installed.
"""
import numpy as np
import pytest

from irecgan.sim import online
from irecgan.sim import recsim_users as U

RECSIM = U.Settings(min_normalizer=-1.0, no_click_mass=1.0, step_penalty=0.5,
                    update_alpha=0.9 * (1.0 / 3.4), user_quality_factor=0.0,
                    document_quality_factor=1.0, alpha_x_intercept=1.0, alpha_y_intercept=0.3)


class Corpus(object):
    """4 documents over 3 topic clusters (one-hot features)."""
    columns = np.array([0, 1, 2, 0])
    features = np.eye(3)[columns]
    video_length = np.array([4.0, 3.0, 2.5, 4.0])
    quality = np.array([-1.0, 2.0, 0.5, -2.5])


class RefUser(object):
    """One RecSim user, step by step as `IEvUserModel.simulate_response`, `update_state` and
    `is_terminal` compute it (python floats, np.dot per document, np.random.choice and
    np.random.rand from the global generator seeded from the user's stream)."""

    def __init__(self, interests, budget, stream_seed, s=RECSIM):
        self.u = np.array(interests, dtype=np.float64)
        self.budget = float(budget)
        self.stream = np.random.RandomState(stream_seed)
        self.s = s
        self.done = False

    def show(self, c, slate):
        """(click or -1, watch, idle, purchase) of one `RecSimWorld.step` of this user."""
        s, idle = self.s, 0
        saved = np.random.get_state()
        np.random.seed(self.stream.randint(0, 2 ** 31 - 1))
        try:
            while True:
                scores = np.array([])
                for d in slate:
                    scores = np.append(scores, np.dot(self.u, c.features[d]))
                all_scores = np.append(scores, s.no_click_mass) - s.min_normalizer
                probs = all_scores / np.sum(all_scores)
                pick = np.random.choice(len(probs), p=probs)
                if pick == len(probs) - 1:
                    self.budget -= s.step_penalty
                    idle += 1
                    self.done = self.budget <= 0
                    if self.done:
                        return -1, 0.0, idle, 0
                    continue
                d = slate[pick]
                watch = min(self.budget, float(c.video_length[d]))
                utility = all_scores[pick]
                f = c.features[d]
                alpha = (-s.alpha_y_intercept / s.alpha_x_intercept) * np.absolute(self.u) \
                    + s.alpha_y_intercept
                update = alpha * f * (f - self.u)
                if np.random.rand(1) < np.dot((self.u + 1.0) / 2, f):
                    self.u += update
                else:
                    self.u -= update
                self.u = np.clip(self.u, -1.0, 1.0)
                received = s.user_quality_factor * utility + \
                    s.document_quality_factor * float(c.quality[d])
                self.budget -= watch
                self.budget += s.update_alpha * watch * received
                self.done = self.budget <= 0
                return d, watch, idle, int(c.quality[d] > 0)
        finally:
            np.random.set_state(saved)


def hand_users(budget):
    interests = [[0.5, -0.5, 0.9], [-0.2, 0.7, -1.0], [1.0, 0.0, 0.3]]
    stream_seeds = [11, 12, 13]
    arrays = U.ArrayUsers.start([1, 2, 3], stream_seeds, 3, budget)
    arrays.interests = np.array(interests)
    return arrays, [RefUser(i, budget, s) for i, s in zip(interests, stream_seeds)]


# ------------------------------------------------------------------ numpy only (both stacks)
def test_one_hot_columns():
    np.testing.assert_array_equal(U.one_hot_columns(Corpus.features), [0, 1, 2, 0])
    for bad in ([[0.0, 0.5, 0.0]], [[1.0, 1.0, 0.0]], [[0.0, 0.0, 0.0]], np.zeros((0, 3)),
                [1.0, 0.0]):
        assert U.one_hot_columns(bad) is None


def test_stream_seeds_are_the_scalar_draws_in_order():
    table = U.stream_seeds([7, 8], 6)
    assert table.shape == (2, 6) and table.dtype == np.int64
    for row, seed in zip(table, [7, 8]):
        rng = np.random.RandomState(seed)
        assert row.tolist() == [rng.randint(0, 2 ** 31 - 1) for _ in range(6)]


def test_uniforms_are_what_choice_and_rand_draw_after_seeding():
    saved = np.random.get_state()
    try:
        u = U.uniforms([5, 6], 3)
        for row, seed in zip(u, [5, 6]):
            np.random.seed(seed)
            p = np.array([0.25, 0.25, 0.5])
            pick = np.random.choice(3, p=p)
            assert pick == np.searchsorted(np.cumsum(p), row[0], side="right")
            assert np.random.rand(1)[0] == row[1] and np.random.random_sample() == row[2]
    finally:
        np.random.set_state(saved)


def test_sample_interests_are_the_samplers_second_draw():
    got = U.sample_interests([3, 4], 5)
    assert got.shape == (2, 5)
    for row, seed in zip(got, [3, 4]):
        rng = np.random.RandomState(seed)
        rng.uniform(-1.0, 1.0, 5)
        np.testing.assert_array_equal(row, rng.uniform(-1.0, 1.0, 5))


def test_one_hand_step_by_hand():
    # interests [0.5, -0.5, 0.9], slate [0]: weights [1.5, 2] (doc 0, no click), so the first
    # uniform < 1.5 / 3.5 clicks; the stream seed below is the first whose step seed gives a
    # click and then a coin below ((0.5 + 1) / 2) = 0.75: the interest moves up by
    # (0.3 - 0.3 * 0.5) * 1 * (1 - 0.5) = 0.075, the budget is 30 - 4 + (0.9 / 3.4) * 4 * -1
    seed = next(s for s in range(100) if (lambda u: u[0] < 1.5 / 3.5 and u[1] < 0.75)(
        U.uniforms(U.stream_seeds([s], 1)[0], 2)[0]))
    users = U.ArrayUsers.start([0], [seed], 3, 30.0)
    users.interests = np.array([[0.5, -0.5, 0.9]])
    clicks, watch, idle, purchases = users.step([[0]], Corpus, Corpus.columns, RECSIM)
    assert (clicks.tolist(), watch.tolist(), idle.tolist(), purchases.tolist()) == \
        ([0], [4.0], [0], [0])
    np.testing.assert_allclose(users.interests, [[0.575, -0.5, 0.9]], rtol=1e-15)
    assert users.budget[0] == pytest.approx(26.0 - 4 * 0.9 / 3.4, rel=1e-15)
    assert users.used.tolist() == [1] and not users.done[0]


@pytest.mark.parametrize("budget,table,penalty", [
    (30.0, U.ArrayUsers.TABLE, 0.5),   # all over within the 8 steps, one step of 15 repeats
    (3.0, U.ArrayUsers.TABLE, 0.5),    # all over after 2 steps, then skipped
    (60.0, 2, 0.5),                    # none over; the table of 2 step seeds redrawn twice
    (60.0, U.ArrayUsers.TABLE, 0.0)])  # no budget bound on the repeats: uniforms redrawn
def test_steps_equal_recsims_user_by_user(monkeypatch, budget, table, penalty):
    monkeypatch.setattr(U.ArrayUsers, "TABLE", table)
    counts = []
    draw = U.uniforms
    monkeypatch.setattr(U, "uniforms", lambda s, c, r=None: counts.append(c) or draw(s, c, r))
    settings = RECSIM._replace(step_penalty=penalty)
    arrays, refs = hand_users(budget)
    for ref in refs:
        ref.s = settings
    slates = np.array([[0, 1], [2, 3], [1, 2]])
    idle = 0
    for t in range(8):
        got = arrays.step(slates[(np.arange(3) + t) % 3], Corpus, Corpus.columns, settings)
        for i, ref in enumerate(refs):
            want = (-1, 0.0, 0, 0) if ref.done else ref.show(Corpus, slates[(i + t) % 3])
            assert tuple(x[i].item() for x in got) == want
            np.testing.assert_array_equal(arrays.interests[i], ref.u)
            assert arrays.budget[i] == ref.budget and arrays.done[i] == ref.done
        idle = max(idle, got[2].max())
    assert arrays.done.all() == (budget < 60) and arrays.done.any() == (budget < 60)
    assert arrays.table.shape[1] == (8 if table == 2 else table)   # 2 -> 4 -> 8 seeds
    assert idle == {30.0: 15, 3.0: 4}.get(budget, idle) and idle >= 3
    # a step's uniforms redrawn (twice as many) only where the budget does not bound the repeats
    assert any(b == 2 * a for a, b in zip(counts, counts[1:])) == (penalty == 0.0)


def test_take_keeps_rows_and_streams():
    arrays, _ = hand_users(30.0)
    arrays.step(np.array([[0, 1], [2, 3], [1, 2]]), Corpus, Corpus.columns, RECSIM)
    part = arrays.take([2, 0])
    assert len(part) == 2 and part.interests.shape == (2, 3) and part.table.shape[0] == 2
    np.testing.assert_array_equal(part.interests, arrays.interests[[2, 0]])
    assert part.used.tolist() == [1, 1] and part.seeds.tolist() == [13, 11]


# ------------------------------------------------------------------ against RecSim's objects
from irecgan.sim import recsim_env as R  # noqa: E402  (numpy only; RecSim imported on use)

HAVE_RECSIM, WHY_NOT = R.available()
needs_recsim = pytest.mark.skipif(not HAVE_RECSIM, reason="optional extra 'recsim' is not "
                                  "installed: " + WHY_NOT)


@pytest.fixture(scope="module")
def worlds():
    corpus = R.random_corpus(np.random.RandomState([1, 1]))
    return dict((e, R.RecSimWorld(corpus, engine=e)) for e in R.ENGINES)


@needs_recsim
def test_default_engine_is_numpy_for_recsims_corpus(worlds):
    assert R.RecSimWorld(worlds["numpy"].corpus).engine == "numpy"
    c = worlds["numpy"].corpus
    blurred = c._replace(features=c.features * 0.5)
    assert R.RecSimWorld(blurred).engine == "recsim"
    with pytest.raises(R.UserError, match="one-hot"):
        R.RecSimWorld(blurred, engine="numpy")


@needs_recsim
def test_settings_are_recsims(worlds):
    assert worlds["numpy"].settings == RECSIM


@needs_recsim
def test_engines_step_alike(worlds):
    # start, 5 steps (rows 1 and 4 dropped after the second), every figure and user view equal
    states, firsts = {}, {}
    for name, world in worlds.items():
        states[name], firsts[name] = world.start(6, np.random.RandomState(4))
    assert firsts["numpy"].tolist() == firsts["recsim"].tolist()
    lists = online.RandomLists(100, 10, np.random.RandomState(2))
    for t in range(5):
        slates = lists([[0]] * len(states["numpy"].t))
        kept = worlds["numpy"].policy_states(states["numpy"])   # read after the step below
        then = [(v.interests.tolist(), v.time_budget) for v in kept]
        out = dict((n, w.step(states[n], slates)) for n, w in worlds.items())
        assert [(v.interests.tolist(), v.time_budget) for v in kept] == then   # a snapshot
        for a, b in zip(out["numpy"][:3], out["recsim"][:3]):
            assert a.tolist() == b.tolist()
        states = dict((n, out[n][3]) for n in out)
        for a, b in zip(states["numpy"][1:], states["recsim"][1:]):
            assert a.tolist() == b.tolist()
        views = dict((n, worlds[n].policy_states(s)) for n, s in states.items())
        assert len(views["numpy"]) == len(slates)
        for a, b in zip(views["numpy"], views["recsim"]):
            assert a.interests.tolist() == b.interests.tolist() and a[1:] == b[1:]
        if t == 1:
            states = dict((n, worlds[n].take(s, [0, 2, 3, 5])) for n, s in states.items())


@needs_recsim
@pytest.mark.parametrize("policy", ["random", "quality"])
def test_engines_give_the_same_figures_and_logs(worlds, policy):
    figures, logs = {}, {}
    for name, world in worlds.items():
        make = lambda seed: R.logging_policy(world, policy, np.random.RandomState(seed))  # noqa
        figures[name] = online.evaluate(world, make(3), n_sessions=40, seed=5, batch_size=25)
        logs[name] = online.collect_sessions(world, make(4), 30, np.random.RandomState(6),
                                             batch_size=20)
    assert figures["numpy"] == figures["recsim"]
    assert logs["numpy"] == logs["recsim"]
    assert figures["numpy"]["watch_time_mean"] > 0


@needs_recsim
def test_cost_benchmark_times_both_engines_and_finds_them_equal(worlds, tmp_path):
    import json
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    params, record = str(tmp_path / "w.npz"), str(tmp_path / "cost.json")
    worlds["numpy"].save(params)
    out = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "recsim_cost.py"),
                          "--engines", "--params=" + params, "--sessions=20", "--label=e",
                          "--record=" + record], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, cwd=root, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(record) as f:
        case = json.load(f)["cases"][0]
    assert case["figures_equal"] == {"random": True, "quality": True}
    assert [(r["policy"], r["engine"]) for r in case["rows"]] == [
        ("random", "recsim"), ("random", "numpy"), ("quality", "recsim"), ("quality", "numpy")]
    assert all(r["sessions"] == 20 and r["cpu_s"] >= 0 for r in case["rows"])
    assert str(tmp_path) not in json.dumps(case)
