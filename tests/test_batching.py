"""Batch tensors (SPEC 2.4): hand-computed arrays, returns, end-step candidates, determinism."""
import numpy as np
import pytest

from irecgan.data.batching import (discounted_returns, iterate_batches, make_batch,
                                   position_scales, random_end_candidates)
from irecgan.data.types import encoded
from irecgan.data.vocab import EOS

# A: 3 steps, purchase at step 2 (0-based), no end_list (random end-step candidates).
#    position 0 predicts click 6 among step 1's list [5, 6, 8] + EOS -> index 1, purchase 0
#    position 1 predicts click 7 among step 2's list [7, 9] + EOS    -> index 0, purchase 1
#    position 2 predicts EOS among [EOS] + random                   -> index 0, purchase 0
A = encoded([5, 6, 7], [[5], [5, 6, 8], [7, 9]], [0, 0, 1])
# B: 2 steps, generated, ended with end_list [11, 12] (not used: every end step is random, SPEC
#    2.4); its step-0 purchase predicts nothing.
B = encoded([8, 9], [[], [9, 10]], [1, 0], end_list=[11, 12])
V = 40  # vocabulary size: random candidates come from 4..39


def test_hand_computed_batch():
    batch = make_batch([A, B], np.random.RandomState(0), V)
    # the only random draws are the end steps of A, then B: the same calls on RandomState(0)
    rng = np.random.RandomState(0)
    end_a = random_end_candidates(rng, V)
    end_b = random_end_candidates(rng, V)
    K = 1 + max(len(end_a), len(end_b))  # an end step [EOS] + 15..36 items is the longest
    assert 15 <= len(end_a) <= 36 and 15 <= len(end_b) <= 36
    n = 3
    assert sorted(batch) == sorted(["clicks", "lengths", "mask", "targets", "rec_lists",
                                    "rec_mask", "target_index", "purchase", "reward", "q_d",
                                    "returns"])
    np.testing.assert_array_equal(batch["clicks"], [[5, 6, 7, EOS], [8, 9, EOS, 0]])
    np.testing.assert_array_equal(batch["lengths"], [3, 2])
    np.testing.assert_array_equal(batch["mask"], [[1, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(batch["targets"], [[6, 7, EOS], [9, EOS, 0]])
    expected_lists = np.zeros((2, n, K), dtype=np.int32)
    expected_lists[0, 0, :4] = [5, 6, 8, EOS]
    expected_lists[0, 1, :3] = [7, 9, EOS]
    expected_lists[0, 2, :K] = [EOS] + end_a
    expected_lists[1, 0, :3] = [9, 10, EOS]
    expected_lists[1, 1, :1 + len(end_b)] = [EOS] + end_b  # random like A's, not the end_list
    np.testing.assert_array_equal(batch["rec_lists"], expected_lists)
    np.testing.assert_array_equal(batch["rec_mask"], (expected_lists != 0).astype(np.float32))
    np.testing.assert_array_equal(batch["target_index"], [[1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(batch["purchase"], [[0, 1, 0], [0, 0, 0]])
    # reward = 1 + 3 * purchase before the end step, 0 at the end step and on padding
    np.testing.assert_array_equal(batch["reward"], [[1, 4, 0], [1, 0, 0]])
    np.testing.assert_array_equal(batch["q_d"], [[1, 1, 1], [1, 1, 0]])
    # A: R2 = 0; R1 = 4 + 0.9 * 0 = 4; R0 = 1 + 0.9 * 4 = 4.6.   B: R1 = 0; R0 = 1
    np.testing.assert_allclose(batch["returns"], [[4.6, 4.0, 0.0], [1.0, 0.0, 0.0]], rtol=1e-6)
    for key, dtype in (("clicks", np.int32), ("lengths", np.int32), ("mask", np.float32),
                       ("targets", np.int32), ("rec_lists", np.int32), ("rec_mask", np.float32),
                       ("target_index", np.int32), ("purchase", np.int32),
                       ("reward", np.float32), ("q_d", np.float32), ("returns", np.float32)):
        assert batch[key].dtype == dtype, key


def test_q_d_scales_the_reward_of_its_position():
    a = A._replace(q_d=[0.5, 0.25, 0.8])
    batch = make_batch([a], np.random.RandomState(0), V)
    np.testing.assert_allclose(batch["q_d"], [[0.5, 0.25, 0.8]])
    # r * q = [1 * 0.5, 4 * 0.25, 0 * 0.8] = [0.5, 1, 0]
    # R2 = 0; R1 = 1 + 0.9 * 0 = 1; R0 = 0.5 + 0.9 * 1 = 1.4
    np.testing.assert_allclose(batch["returns"], [[1.4, 1.0, 0.0]], rtol=1e-6)
    np.testing.assert_array_equal(batch["reward"], [[1, 4, 0]])   # reward itself is unscaled


def test_lambda_r_and_gamma_are_parameters():
    s = encoded([4, 5, 6, 7], [[4], [5], [6], [7]], [0, 1, 1, 0], end_list=[])
    batch = make_batch([s], np.random.RandomState(0), V, gamma=0.5, lambda_r=2.0)
    # rewards [1 + 2, 1 + 2, 1 + 0, 0] = [3, 3, 1, 0]
    # R3 = 0; R2 = 1; R1 = 3 + 0.5 * 1 = 3.5; R0 = 3 + 0.5 * 3.5 = 4.75
    np.testing.assert_array_equal(batch["reward"], [[3, 3, 1, 0]])
    np.testing.assert_allclose(batch["returns"], [[4.75, 3.5, 1.0, 0.0]], rtol=1e-6)
    # the end step: EOS + the random sample (the empty end_list is not used)
    end = random_end_candidates(np.random.RandomState(0), V)
    np.testing.assert_array_equal(batch["rec_lists"][0, 3], [EOS] + end)
    np.testing.assert_array_equal(batch["rec_mask"][0, 3], [1] * (1 + len(end)))


def test_one_step_session_is_only_the_end_step():
    batch = make_batch([encoded([9], [[9]], [1], end_list=[5])], np.random.RandomState(0), V)
    np.testing.assert_array_equal(batch["clicks"], [[9, EOS]])
    np.testing.assert_array_equal(batch["targets"], [[EOS]])
    np.testing.assert_array_equal(
        batch["rec_lists"], [[[EOS] + random_end_candidates(np.random.RandomState(0), V)]])
    np.testing.assert_array_equal(batch["reward"], [[0]])
    np.testing.assert_array_equal(batch["returns"], [[0]])


def test_discounted_returns_rows_of_different_lengths():
    reward = np.array([[1, 2, 3, 0], [5, 1, 0, 0], [7, 7, 7, 7]], dtype=np.float32)
    q_d = np.array([[1, 1, 1, 1], [1, 0.5, 1, 1], [1, 1, 1, 1]], dtype=np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32)
    out = discounted_returns(reward, q_d, mask, 0.9)
    # row 0: R3 = 0, R2 = 3, R1 = 2 + 0.9 * 3 = 4.7, R0 = 1 + 0.9 * 4.7 = 5.23
    # row 1: R1 = 1 * 0.5 = 0.5, R0 = 5 + 0.9 * 0.5 = 5.45; padding 0
    # row 2: all padding -> 0 (padding rewards never count)
    np.testing.assert_allclose(out, [[5.23, 4.7, 3, 0], [5.45, 0.5, 0, 0], [0, 0, 0, 0]],
                               rtol=1e-6)
    assert out.dtype == np.float32
    with pytest.raises(ValueError):
        discounted_returns(reward, q_d[:, :3], mask, 0.9)


def test_random_end_candidates():
    for seed in range(20):
        items = random_end_candidates(np.random.RandomState(seed), 40004)   # sparse path
        assert 15 <= len(items) <= 99
        assert len(set(items)) == len(items)
        assert min(items) >= 4 and max(items) < 40004
        items = random_end_candidates(np.random.RandomState(seed), 30, 15, 20)  # dense path
        assert 15 <= len(items) <= 20 and len(set(items)) == len(items)
        assert min(items) >= 4 and max(items) < 30
    # capped at the number of items (6 items: 4..9)
    assert sorted(random_end_candidates(np.random.RandomState(1), 10)) == [4, 5, 6, 7, 8, 9]
    assert random_end_candidates(np.random.RandomState(1), 4) == []
    # the length is rng.randint(pad_min, pad_max + 1), drawn first
    assert len(random_end_candidates(np.random.RandomState(3), 40004)) == \
        np.random.RandomState(3).randint(15, 100)


def test_generated_and_offline_sessions_get_the_same_end_step_construction():
    # SPEC 2.4 / 3.3: a generated session (with the end_list it ended on) and the same session
    # read from a log (no end_list) give identical tensors from the same RandomState, so D
    # cannot tell them apart by the end step
    offline = B._replace(end_list=None)
    for seed in range(5):
        gen = make_batch([B, A], np.random.RandomState(seed), V)
        off = make_batch([offline, A], np.random.RandomState(seed), V)
        for key in gen:
            np.testing.assert_array_equal(gen[key], off[key], err_msg=key)
        # and the end step holds 15..36 random items, never the 2 of the end_list
        assert gen["rec_mask"][0, 1].sum() >= 16


def test_determinism_for_the_same_seed():
    sessions = [A, B, A._replace(q_d=[0.1, 0.2, 0.3]), encoded([4, 4], [[4], [4]], [0, 0])]
    one = make_batch(sessions, np.random.RandomState(11), 500)
    two = make_batch(sessions, np.random.RandomState(11), 500)
    other = make_batch(sessions, np.random.RandomState(12), 500)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key])
    assert not np.array_equal(one["rec_lists"][0, 2, 1:16], other["rec_lists"][0, 2, 1:16])
    # the draws happen in batch order, one per session (B's end_list is not used)
    rng = np.random.RandomState(11)
    draws = [random_end_candidates(rng, 500) for _ in range(4)]
    for row, pos, items in ((0, 2, draws[0]), (1, 1, draws[1]), (2, 2, draws[2]),
                            (3, 1, draws[3])):
        np.testing.assert_array_equal(one["rec_lists"][row, pos, :1 + len(items)],
                                      [EOS] + items)
        assert one["rec_mask"][row, pos].sum() == 1 + len(items)


def test_errors():
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError):
        make_batch([], rng, V)
    with pytest.raises(ValueError):
        make_batch([encoded([], [], [])], rng, V)
    with pytest.raises(ValueError):
        make_batch([encoded([4, 5], [[4], [5]], [0])], rng, V)              # purchases short
    with pytest.raises(ValueError):
        make_batch([A._replace(q_d=[1.0, 1.0])], rng, V)                   # q_d short
    with pytest.raises(ValueError) as info:
        make_batch([encoded([4, 5], [[4], [6, 7]], [0, 0])], rng, V)         # 5 not shown
    assert "position 0: target 5" in str(info.value)


def test_iterate_batches():
    items = list(range(10))
    assert list(iterate_batches(items, 4)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    order = list(np.random.RandomState(5).permutation(10))
    shuffled = list(iterate_batches(items, 4, np.random.RandomState(5)))
    assert shuffled == [order[:4], order[4:8], order[8:]]
    assert shuffled == list(iterate_batches(items, 4, np.random.RandomState(5)))
    assert shuffled[0] != [0, 1, 2, 3]
    assert list(iterate_batches([], 3)) == []
    with pytest.raises(ValueError):
        list(iterate_batches(items, 0))


def test_bucketed_batches_cover_every_session_once_with_similar_lengths():
    # 40 sessions of lengths 1..8 (each length 5 times), batches of 4, windows of 5 batches
    sessions = [encoded([4] * (1 + i % 8), [[]] * (1 + i % 8), [0] * (1 + i % 8))
                for i in range(40)]
    batches = list(iterate_batches(sessions, 4, np.random.RandomState(0), bucket_window=5))
    seen = sorted(id(s) for b in batches for s in b)
    assert seen == sorted(id(s) for s in sessions)
    assert [len(b) for b in batches] == [4] * 10
    # within a window the sessions are sorted by length before cutting: each batch spans few
    # lengths, far fewer than a random batch of 4 from lengths 1..8 usually does
    spread = [max(len(s.clicks) for s in b) - min(len(s.clicks) for s in b) for b in batches]
    assert np.mean(spread) <= 2.0
    again = list(iterate_batches(sessions, 4, np.random.RandomState(0), bucket_window=5))
    assert [[id(s) for s in b] for b in again] == [[id(s) for s in b] for b in batches]
    other = list(iterate_batches(sessions, 4, np.random.RandomState(1), bucket_window=5))
    assert [[id(s) for s in b] for b in other] != [[id(s) for s in b] for b in batches]


def test_position_scales_hand_computed():
    # batches of 2 and 6 positions: mean 4 -> scales 0.5 and 1.5
    short = encoded([4, 5], [[], [5]], [0, 0])
    longer = encoded([4, 5, 6, 7], [[], [5], [6], [7]], [0, 0, 0, 0])
    assert position_scales([[short], [longer, short]]) == [0.5, 1.5]
    assert position_scales([]) == []


def test_position_weighting_makes_bucketed_passes_weigh_positions_like_plain_ones():
    # sessions of 1..12 steps; every position has its own loss value. A batch's loss is the
    # mean over its positions; the pass's objective is sum_b scale_b * loss_b. With
    # position_scales it is sum over all positions / mean positions per batch, the same for
    # bucketed and plain batches; without scales bucketing up-weights short sessions.
    rng = np.random.RandomState(0)
    sessions = [encoded(list(range(4, 4 + L)), [[]] * L, [0] * L)
                for L in rng.randint(1, 13, size=200)]
    # each position of a long session (>= 10 steps) has loss 1, the others 0: the objective is
    # the weight the pass gives to long sessions' positions
    value = dict((id(s), float(len(s.clicks)) * (len(s.clicks) >= 10)) for s in sessions)
    per_position = sum(value.values())

    def objective(batches, scaled):
        scales = position_scales(batches) if scaled else [1.0] * len(batches)
        return sum(sc * sum(value[id(s)] for s in b) / sum(len(s.clicks) for s in b)
                   for sc, b in zip(scales, batches))
    plain = list(iterate_batches(sessions, 16, np.random.RandomState(1), 0))
    bucketed = list(iterate_batches(sessions, 16, np.random.RandomState(1), 5))
    assert len(plain) == len(bucketed) == 13
    mean_positions = sum(len(s.clicks) for s in sessions) / 13.0
    assert objective(plain, True) == pytest.approx(per_position / mean_positions)
    assert objective(bucketed, True) == pytest.approx(per_position / mean_positions)
    # without the scales, bucketing puts long sessions in batches of their own, whose many
    # positions share one batch's weight: long sessions lose weight
    assert objective(bucketed, False) < 0.8 * objective(plain, False)


def _written_form_batch(sessions, rng, vocab):
    """make_batch's candidate arrays as SPEC 2.4 words them, one position at a time: row t is
    step t+1's list + [EOS] (target: its first occurrence of click t+1), the end row [EOS] +
    the random sample; padded with PAD / mask 0 to the longest row."""
    rows = [[list(s.rec_lists[t + 1]) + [EOS] for t in range(len(s.clicks) - 1)]
            + [[EOS] + random_end_candidates(rng, vocab)] for s in sessions]
    targets = [list(s.clicks[1:]) + [EOS] for s in sessions]
    n = max(len(s.clicks) for s in sessions)
    k = max(len(r) for rs in rows for r in rs)
    ids = np.zeros((len(sessions), n, k), np.int32)
    mask = np.zeros((len(sessions), n, k), np.float32)
    index = np.zeros((len(sessions), n), np.int32)
    for i, rs in enumerate(rows):
        for t, r in enumerate(rs):
            ids[i, t, :len(r)] = r
            mask[i, t, :len(r)] = 1.0
            index[i, t] = r.index(targets[i][t])
    return ids, mask, index


@pytest.mark.parametrize("ragged", [False, True])
def test_candidate_arrays_equal_the_position_by_position_form(ragged):
    # lists of one length (the simulators': one numpy pass) and of varying length (CIKM's:
    # row by row), with the target anywhere in its list, twice in some lists (first counts)
    rng = np.random.RandomState(5)
    sessions = []
    for _ in range(30):
        L = rng.randint(1, 9)
        clicks = [int(c) for c in rng.randint(4, V, size=L)]
        lists = [[]]
        for t in range(1, L):
            width = rng.randint(2, 12) if ragged else 6
            items = [int(c) for c in rng.randint(4, V, size=width)]
            items[rng.randint(width)] = clicks[t]
            lists.append(items)
        sessions.append(encoded(clicks, lists, [int(p) for p in rng.randint(0, 2, size=L)]))
    batch = make_batch(sessions, np.random.RandomState(9), V)
    ids, mask, index = _written_form_batch(sessions, np.random.RandomState(9), V)
    np.testing.assert_array_equal(batch["rec_lists"], ids)
    np.testing.assert_array_equal(batch["rec_mask"], mask)
    np.testing.assert_array_equal(batch["target_index"], index)


@pytest.mark.parametrize("lists", [[[], [5, 6]], [[], [5, 6, 7]], [[], [5, 6], [4]]])
def test_a_target_missing_from_its_list_is_named(lists):
    clicks = [5, 9, 4][:len(lists)]
    with pytest.raises(ValueError, match="session 0 of the batch, position 0: target 9 is not"):
        make_batch([encoded(clicks, lists, [0] * len(clicks))], np.random.RandomState(0), V)
