"""The vectorized `make_batch` (issue 33) against a frozen copy of the one before it: the same
arrays (keys, dtypes, shapes, values, C order) and the same RandomState afterwards, on many
random batches and seeds and on the edge cases; and the two numpy facts its draws rest on,
checked on many seeds (run on both stacks: numpy 2.x and numpy 1.18.5)."""
import numpy as np
import pytest

from irecgan.data.batching import make_batch, random_end_candidates
from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, N_SPECIAL, PAD


# -- the reference: make_batch as of commit 4e0e68f, frozen (do not edit) ----------------------
def ref_discounted_returns(reward, q_d, mask, gamma):
    reward = np.asarray(reward, dtype=np.float64)
    q_d = np.asarray(q_d, dtype=np.float64)
    mask = np.asarray(mask, dtype=np.float64)
    out = np.zeros(reward.shape, dtype=np.float64)
    running = np.zeros(reward.shape[0], dtype=np.float64)
    for t in range(reward.shape[1] - 1, -1, -1):
        running = (reward[:, t] * q_d[:, t] + gamma * running) * mask[:, t]
        out[:, t] = running
    return out.astype(np.float32)


def ref_random_end_candidates(rng, n_items_vocab, pad_min=15, pad_max=99):
    n_items = int(n_items_vocab) - N_SPECIAL
    n = min(rng.randint(pad_min, pad_max + 1), max(n_items, 0))
    if n <= 0:
        return []
    if 4 * n > n_items:
        return (rng.permutation(n_items)[:n] + N_SPECIAL).tolist()
    picked, seen = [], set()
    while len(picked) < n:
        for x in rng.randint(N_SPECIAL, n_items_vocab, size=n):
            x = int(x)
            if x not in seen:
                seen.add(x)
                picked.append(x)
                if len(picked) == n:
                    break
    return picked


def ref_make_batch(sessions, rng, n_items_vocab, gamma=0.9, lambda_r=3.0, pad_min=15,
                   pad_max=99):
    if not sessions:
        raise ValueError("make_batch needs at least one session")
    if pad_min < 0 or pad_max < pad_min:
        raise ValueError("need 0 <= pad_min <= pad_max, got %r, %r" % (pad_min, pad_max))
    lengths = [len(s.clicks) for s in sessions]
    ends = []
    for i, s in enumerate(sessions):
        L = lengths[i]
        if L < 1:
            raise ValueError("session %d of the batch has no steps" % i)
        if len(s.rec_lists) != L or len(s.purchases) != L or (s.q_d is not None
                                                               and len(s.q_d) != L):
            raise ValueError("session %d of the batch: clicks, rec_lists, purchases (and q_d) "
                             "must have one length, got %d, %d, %d, %s" % (
                                 i, L, len(s.rec_lists), len(s.purchases),
                                 None if s.q_d is None else len(s.q_d)))
        ends.append([EOS] + ref_random_end_candidates(rng, n_items_vocab, pad_min, pad_max))

    B, n = len(sessions), max(lengths)
    lens = np.asarray(lengths, dtype=np.int64)
    body = [r for s in sessions for r in s.rec_lists[1:]]
    widths = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    K = max([len(e) for e in ends] + [int(widths.max()) + 1 if len(body) else 0])
    row_of = np.repeat(np.arange(B), lens - 1)
    pos_of = np.arange(len(body)) - np.repeat(np.cumsum(lens - 1) - (lens - 1), lens - 1)
    targets = np.fromiter((c for s in sessions for c in s.clicks[1:]), dtype=np.int64,
                          count=len(body))

    out_clicks = np.full((B, n + 1), PAD, dtype=np.int32)
    at = np.arange(n + 1)[None, :]
    out_clicks[at < lens[:, None]] = np.fromiter((c for s in sessions for c in s.clicks),
                                                 dtype=np.int64, count=int(lens.sum()))
    out_clicks[np.arange(B), lens] = EOS
    mask = (at[:, :n] < lens[:, None]).astype(np.float32)
    real = mask > 0
    q_d = np.zeros((B, n), dtype=np.float32)
    q_d[real] = [q for s in sessions for q in (s.q_d if s.q_d is not None
                                               else [1.0] * len(s.clicks))]
    purchase = np.zeros((B, n), dtype=np.int32)
    purchase[row_of, pos_of] = [p for s in sessions for p in s.purchases[1:]]
    rec_lists = np.full((B, n, K), PAD, dtype=np.int32)
    rec_mask = np.zeros((B, n, K), dtype=np.float32)
    target_index = np.zeros((B, n), dtype=np.int32)
    ref_fill_body(body, widths, row_of, pos_of, targets, rec_lists, rec_mask, target_index)
    for i, end in enumerate(ends):
        rec_lists[i, lengths[i] - 1, :len(end)] = end
        rec_mask[i, lengths[i] - 1, :len(end)] = 1.0
    reward = (1.0 + lambda_r * purchase.astype(np.float32)) * mask
    reward[np.arange(B), lens - 1] = 0.0
    reward = reward.astype(np.float32)
    return {
        "clicks": out_clicks,
        "lengths": np.asarray(lengths, dtype=np.int32),
        "mask": mask,
        "targets": np.ascontiguousarray(out_clicks[:, 1:]),
        "rec_lists": rec_lists,
        "rec_mask": rec_mask,
        "target_index": target_index,
        "purchase": purchase,
        "reward": reward,
        "q_d": q_d,
        "returns": ref_discounted_returns(reward, q_d, mask, gamma),
    }


def ref_fill_body(body, widths, row_of, pos_of, targets, rec_lists, rec_mask, target_index):
    if not len(body):
        return
    width = int(widths[0])
    if (widths == width).all():
        rows = np.empty((len(body), width + 1), dtype=np.int64)
        rows[:, :width] = body
        rows[:, width] = EOS
        hit = rows == targets[:, None]
        found = hit.any(axis=1)
        if not found.all():
            j = int(np.argmin(found))
            ref_missing_target(row_of[j], pos_of[j], targets[j], rows[j].tolist())
        rec_lists[row_of, pos_of, :width + 1] = rows
        rec_mask[row_of, pos_of, :width + 1] = 1.0
        target_index[row_of, pos_of] = hit.argmax(axis=1)
        return
    for j, items in enumerate(body):
        i, t = row_of[j], pos_of[j]
        row = list(items) + [EOS]
        rec_lists[i, t, :len(row)] = row
        rec_mask[i, t, :len(row)] = 1.0
        try:
            target_index[i, t] = row.index(targets[j])
        except ValueError:
            ref_missing_target(i, t, targets[j], row)


def ref_missing_target(i, t, target, row):
    raise ValueError("session %d of the batch, position %d: target %d is not among its "
                     "candidates %r" % (i, t, target, row))
# -- end of the reference ------------------------------------------------------------------------


def assert_same_state(a, b):
    """Two RandomStates in the same state (MT19937 key and position, the cached gaussian)."""
    sa, sb = a.get_state(), b.get_state()
    assert sa[0] == sb[0] and sa[2:] == sb[2:]
    np.testing.assert_array_equal(sa[1], sb[1])


def assert_same_batch(new, old):
    assert list(new) == list(old)
    for key in old:
        assert new[key].dtype == old[key].dtype, key
        assert new[key].shape == old[key].shape, key
        assert new[key].flags["C_CONTIGUOUS"], key
        np.testing.assert_array_equal(new[key], old[key], err_msg=key)


def random_batch(rng, n_vocab, ragged, max_len=40, with_q_d=0.3, dup=True):
    """1..70 sessions of 1..max_len steps (a few at max_len and at 1 or 2); every shown list
    holds its click (now and then twice, or next to _EOS); lists of one width or of 0..25."""
    n_items = max(n_vocab - N_SPECIAL, 1)
    width = rng.randint(1, 21)
    sessions = []
    for _ in range(rng.randint(1, 71)):
        L = int(rng.choice([1, 2, max_len, rng.randint(1, max_len + 1), rng.randint(1, 6)]))
        clicks = [int(c) for c in rng.randint(N_SPECIAL, N_SPECIAL + n_items, size=L)]
        lists = [[int(c) for c in rng.randint(N_SPECIAL, N_SPECIAL + n_items,
                                              size=rng.randint(0, 4))]]
        for t in range(1, L):
            w = rng.randint(1, 26) if ragged else width
            items = [int(c) for c in rng.randint(N_SPECIAL, N_SPECIAL + n_items, size=w)]
            if rng.rand() < 0.05:
                items[rng.randint(w)] = EOS
            items[rng.randint(w)] = clicks[t]
            if dup and rng.rand() < 0.2:
                items[rng.randint(w)] = clicks[t]
            lists.append(items)
        purchases = [int(p) for p in rng.rand(L) < 0.3]
        q_d = list(rng.rand(L)) if rng.rand() < with_q_d else None
        sessions.append(encoded(clicks, lists, purchases, q_d=q_d,
                                end_list=lists[-1] if rng.rand() < 0.3 else None))
    return sessions


def compare(sessions, seed, n_vocab, **kwargs):
    rng_new, rng_old = np.random.RandomState(seed), np.random.RandomState(seed)
    new = make_batch(sessions, rng_new, n_vocab, **kwargs)
    old = ref_make_batch(sessions, rng_old, n_vocab, **kwargs)
    assert_same_batch(new, old)
    assert_same_state(rng_new, rng_old)
    return new


# vocabularies: empty and tiny (fewer items than pad_min), the simulators' (54: MDP, 103:
# neural: dense and sparse samples mixed), a mid-size one and CIKM's 40,004 (always sparse)
VOCABS = (4, 5, 9, 20, 54, 103, 300, 40004)


@pytest.mark.parametrize("n_vocab", VOCABS)
@pytest.mark.parametrize("ragged", [False, True])
def test_equals_the_frozen_reference_on_random_batches(n_vocab, ragged):
    data = np.random.RandomState([n_vocab, ragged])
    for case in range(12):
        sessions = random_batch(data, n_vocab, ragged, max_len=int(data.choice([3, 8, 40])))
        compare(sessions, int(data.randint(2 ** 31)), n_vocab)


def test_equals_the_reference_at_run_sim_sizes_over_many_seeds():
    # up to 64 sessions of MDP (k 10, 50 items) and neural (k 20, 99 items) shape, 100 seeds
    data = np.random.RandomState(33)
    for n_vocab, k in ((54, 10), (103, 20)):
        for seed in range(100):
            # offline batches (no q_d) and generated ones (q_d on about half the sessions)
            sessions = random_batch(data, n_vocab, False, max_len=12,
                                    with_q_d=0.5 * (seed % 2))[:64]
            sessions = [s._replace(rec_lists=[r[:k] if c in r[:k] else [c] + r[:k - 1]
                                              for c, r in zip(s.clicks, s.rec_lists)])
                        for s in sessions]
            compare(sessions, seed, n_vocab)


@pytest.mark.parametrize("pads", [(0, 0), (0, 3), (1, 1), (15, 15), (30, 30), (15, 99),
                                  (60, 61), (2, 200)])
@pytest.mark.parametrize("n_vocab", [4, 6, 54, 103, 1000])
def test_equals_the_reference_for_other_sample_sizes(pads, n_vocab):
    # pad_min == pad_max (no draw for the size), pad_min 0 (empty samples), samples larger than
    # the vocabulary (capped), both sample paths
    data = np.random.RandomState([pads[0], pads[1], n_vocab])
    for seed in range(6):
        sessions = random_batch(data, n_vocab, bool(seed % 2), max_len=6)
        compare(sessions, seed, n_vocab, pad_min=pads[0], pad_max=pads[1], gamma=0.5,
                lambda_r=1.5)


def test_edge_sessions():
    V = 54
    one = encoded([9], [[9]], [1])
    two = encoded([5, 6], [[], [6]], [1, 1], q_d=[0.25, 0.5])
    empty_lists = encoded([5, EOS], [[], []], [0, 0])    # a body list of width 0: target _EOS
    for sessions in ([one], [two], [one, two, one], [empty_lists, two], [empty_lists]):
        for seed in range(5):
            batch = compare(sessions, seed, V)
    assert batch["rec_lists"].shape[:2] == (1, 2)
    # one-step sessions only: no body position at all; lists of different widths
    for seed in range(5):
        compare([one] * 7, seed, 103)
        compare([encoded([4, 5, 6], [[4], [5, 7, 8], [9, 6]], [0, 1, 0]), two], seed, 40004)


def test_errors_are_the_same_with_the_same_state_after():
    V = 54
    good = encoded([4, 5], [[], [5, 6]], [0, 0])
    cases = (
        [],
        [good, encoded([], [], [])],
        [good, good, encoded([4, 5], [[4], [5]], [0])],
        [good, good._replace(q_d=[1.0])],
        [good, encoded([4, 5, 6], [[4], [5], [7, 8]], [0, 0, 0])],
        [encoded([4, 5], [[4], [6, 7, 8]], [0, 0]), good],
        [encoded([4, 5, 6], [[4], [5, 6, 7], [6]], [0, 0, 0]), encoded([4, 9], [[4], [5]], [0, 0])],
        # a click PAD that is not shown, in a list shorter than the batch's widest: the padding
        # after its _EOS is no candidate
        [encoded([4, PAD], [[4], [5]], [0, 0]), encoded([4, 5], [[], [5, 6, 7]], [0, 0])],
    )
    for sessions in cases:
        for kwargs in ({}, {"pad_min": 5, "pad_max": 4}, {"pad_min": -1}):
            rng_new, rng_old = np.random.RandomState(7), np.random.RandomState(7)
            with pytest.raises(ValueError) as old:
                ref_make_batch(sessions, rng_old, V, **kwargs)
            with pytest.raises(ValueError) as new:
                make_batch(sessions, rng_new, V, **kwargs)
            assert str(new.value) == str(old.value)
            assert_same_state(rng_new, rng_old)


def test_random_end_candidates_equal_the_reference():
    for seed in range(200):
        for n_vocab in (4, 10, 54, 103, 40004):
            a, b = np.random.RandomState(seed), np.random.RandomState(seed)
            for _ in range(3):
                assert random_end_candidates(a, n_vocab) == ref_random_end_candidates(b, n_vocab)
            assert_same_state(a, b)


# -- the numpy facts the draws rest on -----------------------------------------------------------
@pytest.mark.parametrize("bounds", [(15, 100), (0, 1), (7, 8), (0, 2), (3, 2 ** 20),
                                    (0, 2 ** 31 - 1)])
def test_int32_randint_is_the_default_randint_stream(bounds):
    # a range below 2^32 is drawn from masked 32-bit words for either dtype: the same values and
    # the same state after, also between other draws (a shuffle, a sized randint)
    low, high = bounds
    for seed in range(120):
        a, b = np.random.RandomState(seed), np.random.RandomState(seed)
        for _ in range(3):
            x, y = a.randint(low, high, dtype=np.int32), b.randint(low, high)
            assert x == y and isinstance(x, np.int32)
            row = np.arange(50, dtype=np.int64)
            a.shuffle(row)
            np.testing.assert_array_equal(row, b.permutation(50))
            np.testing.assert_array_equal(a.randint(4, 103, size=5), b.randint(4, 103, size=5))
        assert_same_state(a, b)


@pytest.mark.parametrize("m", [1, 2, 3, 50, 99, 395])
def test_shuffling_a_row_in_place_is_permutation(m):
    # rng.permutation(m) shuffles a fresh arange(m); shuffling row i of a [B, m] block of
    # aranges (a strided view when sliced) draws the same numbers and gives the same order
    for seed in range(100):
        a, b = np.random.RandomState(seed), np.random.RandomState(seed)
        block = np.tile(np.arange(m, dtype=np.int64), (3, 1))
        for i in range(3):
            a.shuffle(block[i])
            np.testing.assert_array_equal(block[i], b.permutation(m))
        column = np.tile(np.arange(m, dtype=np.int64)[:, None], (1, 2))[:, 1]
        a.shuffle(column)
        np.testing.assert_array_equal(column, b.permutation(m))
        assert_same_state(a, b)
