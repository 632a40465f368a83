"""Generation engine (SPEC 4): batched stepping with carried states, Monte-Carlo q_D.

Every figure the engine produces is recomputed independently: D by the discriminator's batch
graph over `make_batch` of the generated (or rolled-out) sessions, the user's click distribution
by re-encoding the whole prefix (`ReferenceGenerator.user_log_probs`), the agent's logits by the
full-sequence agent graph. Tiny sizes: 50 items (vocabulary 54), 8-d embeddings, 2 x 16 LSTMs.
"""
import collections

import numpy as np
import pytest

from irecgan.data.batching import make_batch, random_end_candidates
from irecgan.data.vocab import EOS, N_SPECIAL
from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import flatten_state, tf
from irecgan.models.step_graph import StepGraph
from irecgan.training.generation import Generator
from irecgan.training.reference_generator import ReferenceGenerator

V = 54  # 4 specials + 50 items
K = 10
MAX_LEN = 6
N_ROLL = 4
N_SESSIONS = 24
TINY = dict(embed_dim=8, hidden=16, layers=2, k=K)
TOL = 1e-5


class Setup(object):
    """One model graph, its session, a recording generator and one generated batch."""

    def __init__(self, purchase_head, seed):
        self.models = ModelGraph(V, purchase_head=purchase_head, seed=seed, **TINY)
        self.sess = tf.Session(graph=self.models.graph)
        self.sess.run(self.models.init_op)
        if purchase_head:
            # D's purchase weight starts at w_p = 0 (purchases would not matter); make it count
            d = self.models.disc
            d.w_p.load(0.8, self.sess)
            d.b_p.load(0.6, self.sess)
        self.gen = Generator(self.models, self.sess, MAX_LEN, n_rollouts=N_ROLL,
                             record_rollouts=True)
        rng = np.random.RandomState(11)
        self.first = rng.randint(N_SPECIAL, V, size=N_SESSIONS)
        self.sessions = self.gen.generate(self.first, rng)
        self.rollouts = list(self.gen.rollouts)

    def batch_d(self, sessions):
        """D of each session by the discriminator's batch graph."""
        batch = make_batch(sessions, np.random.RandomState(0), V)
        return self.sess.run(self.models.disc.prob, self.models.disc_feed(batch, 0.0))


@pytest.fixture(scope="module")
def plain():
    setup = Setup(purchase_head=False, seed=7)
    yield setup
    setup.sess.close()


@pytest.fixture(scope="module")
def buying():
    setup = Setup(purchase_head=True, seed=8)
    yield setup
    setup.sess.close()


@pytest.fixture(params=["plain", "buying"])
def setup(request):
    return request.getfixturevalue(request.param)


def all_lists(sessions):
    for s in sessions:
        for rec in s.rec_lists[1:]:
            yield rec
        yield s.end_list


# -- q_D --------------------------------------------------------------------------------------
def test_generated_batch_is_not_degenerate(plain, buying):
    """The checks below need sessions that end early and at max_len, and (with the purchase head)
    purchases of both kinds."""
    for setup in (plain, buying):
        lengths = [len(s.clicks) for s in setup.sessions]
        assert min(lengths) < MAX_LEN and max(lengths) == MAX_LEN
        assert setup.rollouts
    flags = [p for s in buying.sessions for p in s.purchases[1:]]
    assert 0 < sum(flags) < len(flags)
    assert all(p == 0 for s in plain.sessions for p in s.purchases)


def test_last_q_d_is_d_of_the_whole_session(setup):
    want = setup.batch_d(setup.sessions)
    got = np.array([s.q_d[-1] for s in setup.sessions])
    np.testing.assert_allclose(got, want, atol=TOL)
    assert np.all((got > 0) & (got < 1))


def test_purchases_reach_d_through_its_purchase_weight(buying):
    """With the purchase head, zeroing the purchase flags changes D: the equality above is
    sensitive to the purchases the engine fed into D's per-step term."""
    no_buy = [s._replace(purchases=[0] * len(s.purchases)) for s in buying.sessions]
    got = np.array([s.q_d[-1] for s in buying.sessions])
    diff = np.abs(buying.batch_d(no_buy) - got)
    bought = np.array([sum(s.purchases) > 0 for s in buying.sessions])
    assert bought.any() and not bought.all()
    assert np.all(diff[~bought] < TOL)
    assert np.mean(diff[bought] > 1e-3) > 0.5


def test_each_rollout_score_is_d_of_the_rolled_out_sequence(setup):
    sequences = [r[2] for r in setup.rollouts]
    engine = np.array([r[3] for r in setup.rollouts])
    np.testing.assert_allclose(engine, setup.batch_d(sequences), atol=TOL)


def test_q_d_before_the_end_is_the_mean_over_n_rollouts(setup):
    d = setup.batch_d([r[2] for r in setup.rollouts])
    groups = collections.defaultdict(list)
    for (i, t, _, _), score in zip(setup.rollouts, d):
        groups[(i, t)].append(score)
    want_keys = set((i, t) for i, s in enumerate(setup.sessions)
                    for t in range(len(s.clicks) - 1))
    assert set(groups) == want_keys
    assert all(len(v) == N_ROLL for v in groups.values())
    for (i, t), scores in groups.items():
        assert setup.sessions[i].q_d[t] == pytest.approx(np.mean(scores), abs=TOL)
    for s in setup.sessions:
        assert len(s.q_d) == len(s.clicks)


def test_rollouts_of_one_prefix_differ(plain):
    """N continuations are N independent draws, not one draw repeated."""
    groups = collections.defaultdict(list)
    for i, t, seq, _ in plain.rollouts:
        groups[(i, t)].append((tuple(seq.clicks), tuple(map(tuple, seq.rec_lists)),
                               tuple(seq.end_list)))
    assert all(len(set(v)) > 1 for v in groups.values())


# -- stop rules and prefixes ------------------------------------------------------------------
def test_sessions_and_rollouts_stop_at_max_len(setup):
    seqs = list(setup.sessions) + [r[2] for r in setup.rollouts]
    for s in seqs:
        assert 1 <= len(s.clicks) <= MAX_LEN
        assert len(s.rec_lists) == len(s.clicks) == len(s.purchases)
        assert s.end_list is not None and len(s.end_list) == K
        assert EOS not in s.clicks
        assert s.rec_lists[0] == []
    rolled = [len(r[2].clicks) for r in setup.rollouts]
    assert min(rolled) < MAX_LEN and max(rolled) == MAX_LEN


def test_rollout_starts_with_its_prefix(setup):
    for i, t, seq, _ in setup.rollouts:
        s = setup.sessions[i]
        assert 0 <= t < len(s.clicks) - 1
        assert len(seq.clicks) >= t + 2
        assert seq.clicks[:t + 2] == s.clicks[:t + 2]
        assert seq.rec_lists[:t + 2] == s.rec_lists[:t + 2]
        assert seq.purchases[:t + 2] == s.purchases[:t + 2]


@pytest.fixture
def restore_user(plain):
    """Lets a test overwrite the user model's variables; restores them afterwards."""
    variables = plain.models.user.variables
    saved = plain.sess.run(variables)
    yield
    for var, value in zip(variables, saved):
        var.load(value, plain.sess)


def set_user_eos_bias(setup, eos_value):
    """Make the user model's click logits constant: v_item = 1, v_EOS = eos_value (pref = ones,
    item embeddings ones, EOS embedding eos_value)."""
    u = setup.models.user
    E = TINY["embed_dim"]
    u.pref_layer.kernel.load(np.zeros((TINY["hidden"], E), np.float32), setup.sess)
    u.pref_layer.bias.load(np.ones(E, np.float32), setup.sess)
    table = np.ones((V, E), np.float32)
    table[:N_SPECIAL] = 0.0
    table[EOS] = eos_value
    u.encoder.embedding.load(table, setup.sess)


def test_a_user_that_never_picks_eos_is_stopped_at_max_len(plain, restore_user):
    set_user_eos_bias(plain, -30.0)  # P(_EOS) ~ e^-31 per step: only the forced end stops it
    gen = Generator(plain.models, plain.sess, 4, n_rollouts=2, record_rollouts=True)
    rng = np.random.RandomState(3)
    sessions = gen.generate(rng.randint(N_SPECIAL, V, size=6), rng)
    assert [len(s.clicks) for s in sessions] == [4] * 6
    assert all(len(r[2].clicks) == 4 for r in gen.rollouts)
    assert len(gen.rollouts) == 6 * 3 * 2
    # D of the forced end is scored with the target _EOS among the end list (as make_batch does)
    want = plain.batch_d(sessions)
    np.testing.assert_allclose([s.q_d[-1] for s in sessions], want, atol=TOL)


def test_a_user_that_picks_eos_ends_at_once(plain, restore_user):
    set_user_eos_bias(plain, 30.0)  # P(_EOS) ~ 1: every session ends at its first step
    gen = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=2, record_rollouts=True)
    rng = np.random.RandomState(4)
    first = rng.randint(N_SPECIAL, V, size=5)
    sessions = gen.generate(first, rng)
    assert [s.clicks for s in sessions] == [[int(c)] for c in first]
    assert gen.rollouts == []
    np.testing.assert_allclose([s.q_d[0] for s in sessions], plain.batch_d(sessions), atol=TOL)


# -- the stepped models equal the whole-sequence models --------------------------------------
def step_feed(step, click, states):
    feed = {step.click: np.asarray(click, np.int32), step.seed: np.array([1, 2], np.int64),
            step.force_eos: np.zeros(len(click), bool)}
    for placeholders, arrays in zip(step.in_states, states):
        feed.update(zip(placeholders, arrays))
    return feed


@pytest.mark.parametrize("which", ["plain", "buying"])
def test_stepped_user_model_equals_reencoding_the_prefix(request, which):
    setup = request.getfixturevalue(which)
    step = setup.gen.step_graph
    ref = ReferenceGenerator(setup.models, setup.sess, MAX_LEN)
    rng = np.random.RandomState(5)
    rows = 3
    prefixes = rng.randint(N_SPECIAL, V, size=(rows, 7))
    states = step.zero_states(rows)
    for j in range(prefixes.shape[1]):
        cands = np.concatenate([np.stack([rng.choice(np.arange(N_SPECIAL, V), K, replace=False)
                                          for _ in range(rows)]),
                                np.full((rows, 1), EOS)], axis=1).astype(np.int32)
        feed = step_feed(step, prefixes[:, j], states)
        feed[step.cands] = cands  # a fixed candidate list instead of the agent's
        got, states = setup.sess.run([step.user_log_probs, step.out_states], feed)
        for r in range(rows):
            want = ref.user_log_probs(prefixes[r, :j + 1].tolist(), cands[r].tolist())
            np.testing.assert_allclose(got[r], want, atol=TOL)
            assert np.exp(got[r]).sum() == pytest.approx(1.0, abs=1e-5)


def test_stepped_agent_logits_equal_full_sequence_logits(plain):
    m = plain.models
    with m.graph.as_default():
        click = tf.placeholder(tf.int32, [None])
        state = m.agent.encoder.cell.state_placeholders("test_agent_state")
        logits, new_state = m.agent.step(click, state)
        new_state = flatten_state(new_state)
    rng = np.random.RandomState(6)
    rows, n = 3, 6
    clicks = rng.randint(N_SPECIAL, V, size=(rows, n + 1)).astype(np.int32)
    lengths = np.array([6, 4, 1], np.int32)
    full = plain.sess.run(m.agent.logits, {m.agent.clicks: clicks, m.agent.lengths: lengths})
    flat = [np.zeros((rows, TINY["hidden"]), np.float32)
            for _ in range(2 * TINY["layers"])]
    for t in range(n):
        feed = dict(zip(flatten_state(state), flat))
        feed[click] = clicks[:, t]
        got, flat = plain.sess.run([logits, new_state], feed)
        for r in range(rows):
            if t < lengths[r]:
                np.testing.assert_allclose(got[r], full[r, t], atol=TOL)


def assert_top_k(rec, logits, k):
    """rec (item indices) is the top k of logits over the items, in decreasing order."""
    items = logits[N_SPECIAL:]
    chosen = items[np.asarray(rec) - N_SPECIAL]
    rest = np.delete(items, np.asarray(rec) - N_SPECIAL)
    assert len(set(rec)) == k and min(rec) >= N_SPECIAL
    assert np.all(np.diff(chosen) <= 1e-6)
    assert chosen.min() >= rest.max() - 1e-6


def test_greedy_step_recommends_the_top_k_of_the_carried_agent(plain):
    """StepGraph(greedy=True) with states carried step by step recommends the top k of the
    full-sequence agent logits at each position; sampling (greedy=False) does not always."""
    m = plain.models
    step = plain.gen.step_graph
    rng = np.random.RandomState(7)
    rows, n = 4, 5
    clicks = rng.randint(N_SPECIAL, V, size=(rows, n + 1)).astype(np.int32)
    full = plain.sess.run(m.agent.logits,
                          {m.agent.clicks: clicks, m.agent.lengths: np.full(rows, n, np.int32)})
    states = step.zero_states(rows)
    sampled_differs = False
    for t in range(n):
        feed = step_feed(step, clicks[:, t], states)
        feed[step.greedy] = True
        rec, new_states = plain.sess.run([step.rec, step.out_states], feed)
        feed[step.greedy] = False
        sampled = plain.sess.run(step.rec, feed)
        for r in range(rows):
            assert_top_k(rec[r].tolist(), full[r, t], K)
            sampled_differs |= sorted(sampled[r]) != sorted(rec[r])
        states = new_states
    assert sampled_differs


def test_recommended_lists_are_k_distinct_items(setup):
    seqs = list(setup.sessions) + [r[2] for r in setup.rollouts]
    n = 0
    for rec in all_lists(seqs):
        assert len(rec) == K == len(set(rec))
        assert all(N_SPECIAL <= x < V for x in rec)
        n += 1
    assert n > len(seqs)


def test_clicks_are_chosen_among_the_shown_list(setup):
    for s in list(setup.sessions) + [r[2] for r in setup.rollouts]:
        for j in range(1, len(s.clicks)):
            assert s.clicks[j] in s.rec_lists[j]


# -- seeds and chunking -----------------------------------------------------------------------
def generate(gen, seed, n=10, with_q_d=True):
    rng = np.random.RandomState(seed)
    return gen.generate(rng.randint(N_SPECIAL, V, size=n), rng, with_q_d=with_q_d)


def test_same_seed_same_sessions_other_seed_other_sessions(plain):
    gen = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=3)
    a, b, c = generate(gen, 21), generate(gen, 21), generate(gen, 22)
    assert a == b  # clicks, lists, purchases, end lists and q_d all identical
    assert [s.clicks for s in a] != [s.clicks for s in c]


def test_without_q_d(plain):
    gen = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=3, record_rollouts=True)
    sessions = generate(gen, 23, with_q_d=False)
    assert all(s.q_d is None for s in sessions)
    assert gen.rollouts == []
    # the sessions themselves are those generated with q_d (rollouts draw after them)
    with_q = generate(Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=3), 23)
    assert [s._replace(q_d=None) for s in with_q] == sessions


def test_chunked_generation_is_valid_exact_and_deterministic(plain):
    """max_rows = 7 splits every step into several session.run calls, each with its own seed
    (so the draws differ from unchunked generation); the chunks' states must still be put back
    in the right rows: every D the engine computes equals the batch graph's."""
    gen = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=3, max_rows=7,
                    record_rollouts=True)
    sessions = generate(gen, 31, n=20)
    assert gen.calls >= 3 * MAX_LEN  # ceil(20 / 7) calls per step while all 20 live
    np.testing.assert_allclose([s.q_d[-1] for s in sessions], plain.batch_d(sessions), atol=TOL)
    rolled = [r[2] for r in gen.rollouts]
    np.testing.assert_allclose([r[3] for r in gen.rollouts], plain.batch_d(rolled), atol=TOL)
    for i, t, seq, _ in gen.rollouts:
        assert seq.clicks[:t + 2] == sessions[i].clicks[:t + 2]
    counts = collections.Counter((i, t) for i, t, _, _ in gen.rollouts)
    assert sorted(counts) == sorted((i, t) for i, s in enumerate(sessions)
                                    for t in range(len(s.clicks) - 1))
    assert set(counts.values()) == {3}
    for s in rolled + sessions:
        assert len(s.clicks) <= MAX_LEN
    again = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=3, max_rows=7)
    assert generate(again, 31, n=20) == sessions


# -- into the batch -----------------------------------------------------------------------------
def test_generated_sessions_make_a_batch_with_random_end_steps(setup):
    # SPEC 2.4 / 3.3: the end step of a generated session is built like an offline one's
    # (_EOS + 15..99 random items), not from the list the user model ended on
    a = make_batch(setup.sessions, np.random.RandomState(0), V)
    rng = np.random.RandomState(0)
    for i, s in enumerate(setup.sessions):
        end = random_end_candidates(rng, V)
        L = len(s.clicks)
        assert a["rec_lists"][i, L - 1, :1 + len(end)].tolist() == [EOS] + end
        assert a["rec_mask"][i, L - 1].sum() == 1 + len(end)
    for i, s in enumerate(setup.sessions):
        L = len(s.clicks)
        assert a["lengths"][i] == L
        for t in range(L):
            picked = a["rec_lists"][i, t, a["target_index"][i, t]]
            assert picked == (s.clicks[t + 1] if t < L - 1 else EOS)
        np.testing.assert_allclose(a["q_d"][i, :L], s.q_d, atol=1e-7)


# -- the reference loop -------------------------------------------------------------------------
def test_reference_generator_sessions_are_valid_and_scored_by_d(plain):
    ref = ReferenceGenerator(plain.models, plain.sess, 4, n_rollouts=2)
    rng = np.random.RandomState(41)
    sessions = ref.generate(rng.randint(N_SPECIAL, V, size=4), rng)
    for s in sessions:
        assert 1 <= len(s.clicks) <= 4 and len(s.q_d) == len(s.clicks)
        assert len(s.end_list) == K and min(s.end_list) >= N_SPECIAL
        for j in range(1, len(s.clicks)):
            assert s.clicks[j] in s.rec_lists[j]
        assert all(0 < q < 1 for q in s.q_d)
    np.testing.assert_allclose([s.q_d[-1] for s in sessions], plain.batch_d(sessions), atol=TOL)
    assert ref.calls > 0


def test_step_graph_fetches_have_row_shapes(plain):
    step = plain.gen.step_graph
    assert isinstance(step, StepGraph)
    rows = 5
    seed = np.array([3, 4], np.int64)
    force = np.array([False] * 4 + [True])
    out, outputs, states = step.run(plain.sess, np.full(rows, 10, np.int32),
                                    step.zero_states(rows), seed, force)
    assert out["rec"].shape == (rows, K)
    assert out["choice"].shape == out["next_click"].shape == out["term"].shape == (rows,)
    assert out["next_click"][-1] == EOS and out["choice"][-1] == K
    assert [len(flat) for flat in states] == [2 * TINY["layers"]] * 3
    assert all(a.shape == (rows, TINY["hidden"]) for flat in states for a in flat)
    # outputs: agent logits [R, V], user preference [R, E], user and D LSTM outputs [R, H]
    assert [o.shape for o in outputs] == [(rows, V), (rows, TINY["embed_dim"]),
                                          (rows, TINY["hidden"]), (rows, TINY["hidden"])]
    # the act half fed with those outputs and the same seed reproduces the whole step exactly
    again = step.act(plain.sess, outputs, seed, force)
    for key in ("rec", "choice", "next_click", "purchase"):
        np.testing.assert_array_equal(again[key], out[key])
    # (D terms lie near zero; TF 1.15's kernels differ by ~1e-7 between two runs of one step)
    np.testing.assert_allclose(again["term"], out["term"], rtol=1e-6, atol=1e-6)


def test_q_d_without_a_discriminator_is_an_error():
    """An agent + user graph generates sessions, but asking it for q_D raises instead of
    returning D = sigmoid(0) = 0.5 everywhere."""
    models = ModelGraph(V, seed=9, build=("user", "agent"), **TINY)
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        gen = Generator(models, sess, MAX_LEN, n_rollouts=2)
        sessions = generate(gen, 51, n=4, with_q_d=False)
        assert all(s.q_d is None and 1 <= len(s.clicks) <= MAX_LEN for s in sessions)
        with pytest.raises(ValueError, match="discriminator"):
            generate(gen, 51, n=4)


# -- spawned first rollout steps; the reference samples like the engine ---------------------------
def test_spawned_rows_are_the_act_half_on_the_picked_outputs_with_the_shifted_seed(plain):
    """`run(spawn=...)` samples the picked rows' act half in the same run; it equals `act` fed
    with those rows' advance outputs and the seed + [1, 0], and the main rows are unchanged."""
    step = plain.gen.step_graph
    rows = 4
    seed = np.array([21, 8], np.int64)
    click = np.array([5, 9, 17, 40], np.int32)
    force = np.array([False, False, False, True])
    spawn = np.repeat(np.arange(rows, dtype=np.int32), 3)
    out, outputs, _ = step.run(plain.sess, click, step.zero_states(rows), seed, force,
                               spawn=spawn, spawn_force_eos=force[spawn])
    spawned = out.pop("spawn")
    alone, _, _ = step.run(plain.sess, click, step.zero_states(rows), seed, force)
    for key in ("rec", "choice", "next_click", "purchase"):
        np.testing.assert_array_equal(out[key], alone[key])
    want = step.act(plain.sess, [o[spawn] for o in outputs], seed + [1, 0], force[spawn])
    for key in ("rec", "choice", "next_click", "purchase"):
        np.testing.assert_array_equal(spawned[key], want[key])
    np.testing.assert_allclose(spawned["term"], want["term"], rtol=1e-6, atol=1e-6)
    assert spawned["rec"].shape == (3 * rows, K)
    assert np.all(spawned["next_click"][-3:] == EOS)  # the forced row's rollouts end at once
    # other noise than the main rows': the three copies of a row do not all agree
    assert any(len(set(map(tuple, spawned["rec"][3 * r:3 * r + 3]))) > 1 for r in range(rows))


class FixedSeeds(object):
    """Stands in for the RandomState of `new_seed`: hands out the given numbers in order."""

    def __init__(self, numbers):
        self.numbers = list(numbers)

    def randint(self, high):
        return self.numbers.pop(0)


def test_reference_samples_in_the_graph_like_the_step_graph(plain):
    """With the same noise seeds, the reference's agent call recommends what the step graph
    recommends, and its user call (the prefix re-encoded) picks what the step graph picks: both
    loops sample from the same distributions with the same ops."""
    ref = ReferenceGenerator(plain.models, plain.sess, MAX_LEN)
    step = plain.gen.step_graph
    zero = [np.zeros((1, TINY["hidden"]), np.float32) for _ in ref.a_in]
    states = step.zero_states(1)
    prefix = [7]
    for t, (s0, s1) in enumerate([(3, 4), (10, 2), (99, 5), (1234, 77)]):
        seed = np.array([s0, s1], np.int64)
        out, _, states_next = step.run(plain.sess, np.array(prefix[-1:], np.int32), states,
                                       seed, np.array([False]))
        # agent: the reference uses its seed as drawn; the step graph's agent uses `seed`
        rec, zero = ref._agent(prefix[-1], zero, FixedSeeds([s0, s1]))
        assert rec == out["rec"][0].tolist()
        # user: the step graph's user noise is seeded with seed + [0, 1]
        choice = ref._user(prefix, rec + [EOS], False, FixedSeeds([s0, s1 + 1]))
        assert choice == int(out["choice"][0])
        assert ref._user(prefix, rec + [EOS], True, FixedSeeds([s0, s1 + 1])) == K
        states = states_next
        if out["next_click"][0] == EOS:
            break
        prefix.append(int(out["next_click"][0]))
    assert len(prefix) >= 2  # the comparison ran past the first step


def test_reference_and_batched_engine_draw_the_same_lengths(plain):
    """Both engines sample from the same distributions, so their session lengths agree in
    distribution (the benchmark's matched-length speedup relies on nothing else): a two-sample
    chi-square over lengths 1..MAX_LEN stays below its 99.9 % quantile (5 degrees of freedom:
    20.5). Fixed seeds; the batched engine with q_D (its main steps also spawn rollouts)."""
    gen = Generator(plain.models, plain.sess, MAX_LEN, n_rollouts=2)  # not recording
    rng = np.random.RandomState(17)
    batched = gen.generate(rng.randint(N_SPECIAL, V, size=1200), rng, with_q_d=True)
    ref = ReferenceGenerator(plain.models, plain.sess, MAX_LEN)
    rng = np.random.RandomState(18)
    reference = ref.generate(rng.randint(N_SPECIAL, V, size=400), rng, with_q_d=False)
    a = np.bincount([len(s.clicks) for s in batched], minlength=MAX_LEN + 1)[1:]
    b = np.bincount([len(s.clicks) for s in reference], minlength=MAX_LEN + 1)[1:]
    assert a.sum() == 1200 and b.sum() == 400 and a.min() > 20  # every length occurs
    # two-sample chi-square: sum over bins of (a/sqrt(na/nb) - b*sqrt(na/nb))^2 / (a + b)
    ka, kb = np.sqrt(400.0 / 1200.0), np.sqrt(1200.0 / 400.0)
    chi2 = float(np.sum((ka * a - kb * b) ** 2 / (a + b)))
    assert chi2 < 20.5, (a, b, chi2)
