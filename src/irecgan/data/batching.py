"""Batch tensors (SPEC 2.4, docs/ARCHITECTURE.md "Batch dict"): `EncodedSession`s -> numpy arrays.

B sessions, L_i = steps of session i, n = max_i L_i. Position t (0 <= t < L_i) reads
`clicks[i, :t+1]` and predicts `targets[i, t]`: the click of step t+1, or `_EOS` at the end step
t = L_i - 1. Its candidates `rec_lists[i, t]` are step t+1's list followed by `_EOS`; at the end
step, `_EOS` followed by a random sample of 15..99 distinct items (the reference's padding of the
end step), for offline AND generated sessions alike (SPEC 2.4, 3.3): a generated session's
`end_list` (the list the user model ended on) is not used, so the end step carries no sign of
where a session came from that the discriminator could learn instead of behaviour (the
reference's generated sessions also lose their last list before batching).

Returns `R_t = sum_{t' >= t} gamma^(t'-t) r_t' q_d_t'` with `r_t = 1 + lambda_r purchase_t` for
t < L_i - 1 and 0 at the end step; `q_d_t` is the discriminator score of the prefix ending with
position t's target (1 for offline sessions).
"""
from itertools import chain, islice

import numpy as np

from irecgan.data.vocab import EOS, N_SPECIAL, PAD


def discounted_returns(reward, q_d, mask, gamma):
    """`R[b, t] = sum_{t' >= t, mask[b, t'] = 1} gamma^(t'-t) * reward[b, t'] * q_d[b, t']`.

    reward, q_d, mask: [B, n] arrays; `mask` is 1 on each row's first L_b positions and 0 after
    (a 0 resets the sum, so nothing flows back from padding). Returns float32 [B, n], 0 on
    padding."""
    reward = np.asarray(reward, dtype=np.float64)
    q_d = np.asarray(q_d, dtype=np.float64)
    mask = np.asarray(mask, dtype=np.float64)
    if reward.ndim != 2 or reward.shape != q_d.shape or reward.shape != mask.shape:
        raise ValueError("reward, q_d and mask must be [B, n] arrays of one shape, got %s %s %s"
                         % (reward.shape, q_d.shape, mask.shape))
    out = np.zeros(reward.shape, dtype=np.float64)
    running = np.zeros(reward.shape[0], dtype=np.float64)
    for t in range(reward.shape[1] - 1, -1, -1):
        running = (reward[:, t] * q_d[:, t] + gamma * running) * mask[:, t]
        out[:, t] = running
    return out.astype(np.float32)


def random_end_candidates(rng, n_items_vocab, pad_min=15, pad_max=99):
    """`n ~ rng.randint(pad_min, pad_max + 1)` distinct item indices from [N_SPECIAL,
    n_items_vocab), drawn without replacement (n capped at the number of items), as a list of
    int in draw order. Deterministic given the state of `rng`."""
    n_items = int(n_items_vocab) - N_SPECIAL
    n = _draw_count(rng, n_items, pad_min, pad_max)
    if n <= 0:
        return []
    if 4 * n > n_items:  # dense: a permutation is cheap and exact
        return (rng.permutation(n_items)[:n] + N_SPECIAL).tolist()
    return _sparse_sample(rng, n, n_items_vocab)


def _draw_count(rng, n_items, pad_min, pad_max):
    """The sample size: `rng.randint(pad_min, pad_max + 1)` capped at max(n_items, 0). Drawn as
    int32 when the bounds fit: numpy draws a range below 2^32 from the same masked 32-bit words
    for either dtype (the same stream, tests/test_batching_vectorized.py; int32 is faster)."""
    return min(int(rng.randint(pad_min, pad_max + 1, dtype=_count_dtype(pad_max))),
               max(n_items, 0))


def _count_dtype(pad_max):
    return np.int32 if pad_max < 2 ** 31 - 1 else np.int64


def _sparse_sample(rng, n, n_items_vocab):
    """n distinct indices from [N_SPECIAL, n_items_vocab) by rejection sampling (O(n) instead of
    the permutation's O(n_items)), in draw order."""
    picked, seen = [], set()
    while len(picked) < n:
        for x in rng.randint(N_SPECIAL, n_items_vocab, size=n).tolist():   # Python ints
            if x not in seen:
                seen.add(x)
                picked.append(x)
                if len(picked) == n:
                    break
    return picked


def make_batch(sessions, rng, n_items_vocab, gamma=0.9, lambda_r=3.0, pad_min=15, pad_max=99):
    """A list of `EncodedSession` -> dict of numpy arrays (shapes/dtypes: docs/ARCHITECTURE.md).

    rng: `np.random.RandomState`, used only for the end step of every session (the draws of one
      `random_end_candidates` call per session, in batch order; `end_list` is ignored).
    n_items_vocab: vocabulary size (special tokens included); random candidates come from
      [4, n_items_vocab).
    Raises ValueError for an empty batch, an empty session, inconsistent lengths, or a target
    that is not among its candidates.
    """
    if not sessions:
        raise ValueError("make_batch needs at least one session")
    if pad_min < 0 or pad_max < pad_min:
        raise ValueError("need 0 <= pad_min <= pad_max, got %r, %r" % (pad_min, pad_max))
    lengths, counts, samples = _check_and_draw(sessions, rng, n_items_vocab, pad_min, pad_max)
    B, n = len(sessions), max(lengths)
    lens = np.asarray(lengths, dtype=np.int64)
    rows = np.arange(B)
    at = np.arange(n + 1)[None, :]
    real1 = at < lens[:, None]                      # [B, n + 1]: the clicks' positions
    flat_clicks = np.fromiter(chain.from_iterable(s.clicks for s in sessions), dtype=np.int64,
                              count=int(lens.sum()))
    out_clicks = np.full((B, n + 1), PAD, dtype=np.int32)
    out_clicks[real1] = flat_clicks
    out_clicks[rows, lens] = EOS
    real = real1[:, :n]
    mask = real.astype(np.float32)
    if all(s.q_d is None for s in sessions):
        q_d = mask.copy()                           # 1 on every real position
    else:
        q_d = np.zeros((B, n), dtype=np.float32)
        q_d[real] = list(chain.from_iterable(
            s.q_d if s.q_d is not None else [1.0] * len(s.clicks) for s in sessions))
    # purchase[i, t] = purchases[t + 1] before the end step: the purchases shifted by one
    shifted = np.zeros((B, n + 1), dtype=np.int32)
    shifted[real1] = list(chain.from_iterable(s.purchases for s in sessions))
    purchase = np.ascontiguousarray(shifted[:, 1:])   # 0 at the end step: shifted padding
    # the positions before an end step, flattened in (session, t) order like `body`
    body_mask = at[:, :n] < (lens - 1)[:, None]
    body = list(chain.from_iterable(islice(s.rec_lists, 1, None) for s in sessions))
    widths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    top = int(counts.max())                         # the longest end-step sample
    K = max(1 + top, int(widths.max()) + 1 if len(body) else 0)
    rec_lists = np.full((B, n, K), PAD, dtype=np.int32)
    rec_mask = np.zeros((B, n, K), dtype=np.float32)
    target_index = np.zeros((B, n), dtype=np.int32)
    if len(body):
        # click t + 1 of every session: its flat index is (the session's start) + 1 + t
        targets = flat_clicks[np.repeat(np.cumsum(lens) - lens + 1, lens - 1)
                              + _ranks(lens - 1)]
        _fill_body(body, widths, body_mask, targets, rec_lists, rec_mask, target_index)
    # the end step: _EOS (the target, index 0) followed by the random sample
    ends = lens - 1
    columns = np.arange(top)[None, :]
    rec_lists[rows, ends, 0] = EOS
    rec_lists[rows, ends, 1:1 + top] = np.where(columns < counts[:, None], samples[:, :top], PAD)
    rec_mask[rows, ends, :1 + top] = np.arange(1 + top)[None, :] <= counts[:, None]
    reward = (1.0 + lambda_r * purchase.astype(np.float32)) * mask
    reward[rows, ends] = 0.0
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
        "returns": discounted_returns(reward, q_d, mask, gamma),
    }


def _ranks(sizes):
    """[0, 1, .., sizes[0] - 1, 0, 1, .., sizes[1] - 1, ...] (int64)."""
    total = int(sizes.sum())
    return np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)


def _check_and_draw(sessions, rng, n_items_vocab, pad_min, pad_max):
    """Check each session and draw its end step's sample, session by session in batch order: the
    draws of `random_end_candidates` (a dense sample shuffles a row of item indices in place, as
    `rng.permutation` shuffles a fresh `arange`). A bad session raises after the draws of the
    sessions before it, as one `random_end_candidates` call per session would.
    Returns (lengths: list of int, counts: int64 [B], samples: int64 [B, cap]), sample i in
    samples[i, :counts[i]] (cap = the largest possible count)."""
    n_items = int(n_items_vocab) - N_SPECIAL
    cap = min(int(pad_max), max(n_items, 0))
    B = len(sessions)
    samples = np.zeros((B, cap), dtype=np.int64)
    dense = n_items > 0 and 4 * cap > n_items   # can a draw be dense? then n_items < 4 pad_max
    if dense:
        perms = np.empty((B, n_items), dtype=np.int64)
        perms[:] = np.arange(n_items, dtype=np.int64)
    lengths, counts = [], []
    randint, shuffle = rng.randint, rng.shuffle   # _draw_count inlined (a hot loop)
    high, dtype, limit = pad_max + 1, _count_dtype(pad_max), max(n_items, 0)
    for i, s in enumerate(sessions):
        L = len(s.clicks)
        if L < 1 or len(s.rec_lists) != L or len(s.purchases) != L or (
                s.q_d is not None and len(s.q_d) != L):
            _bad_session(i, s)
        lengths.append(L)
        count = min(int(randint(pad_min, high, dtype=dtype)), limit)
        counts.append(count)
        if count > 0:
            if 4 * count > n_items:
                shuffle(perms[i])
            else:
                samples[i, :count] = _sparse_sample(rng, count, n_items_vocab)
    counts = np.asarray(counts, dtype=np.int64)
    if dense:
        drawn = 4 * counts > n_items
        samples[drawn] = perms[drawn, :cap] + N_SPECIAL
    return lengths, counts, samples


def _bad_session(i, s):
    L = len(s.clicks)
    if L < 1:
        raise ValueError("session %d of the batch has no steps" % i)
    raise ValueError("session %d of the batch: clicks, rec_lists, purchases (and q_d) must have "
                     "one length, got %d, %d, %d, %s" % (i, L, len(s.rec_lists), len(s.purchases),
                                                         None if s.q_d is None else len(s.q_d)))


def _fill_body(body, widths, body_mask, targets, rec_lists, rec_mask, target_index):
    """The candidates (list + [_EOS]) and target index (first occurrence) of every position
    before an end step: body[j] is the list of the j-th True entry of body_mask ([B, n], in
    row-major order), targets[j] its target. Lists of any lengths in one numpy pass."""
    P, width = len(body), int(widths.max())
    flat = np.fromiter(chain.from_iterable(body), dtype=np.int64, count=int(widths.sum()))
    if flat.size == P * width:   # one width (the simulators'): no padding inside the rows
        rows = np.empty((P, width + 1), dtype=np.int64)
        rows[:, :width] = flat.reshape(P, width)
        rows[:, width] = EOS
        inside = 1.0
        hit = rows == targets[:, None]
    else:                        # lists of several widths (CIKM's 10..100)
        columns = np.arange(width + 1)[None, :]
        inside = columns <= widths[:, None]          # the list and its _EOS
        rows = np.full((P, width + 1), PAD, dtype=np.int64)
        rows[columns < widths[:, None]] = flat
        rows[np.arange(P), widths] = EOS
        hit = (rows == targets[:, None]) & inside
    found = hit.any(axis=1)
    if not found.all():
        j = int(np.argmin(found))
        i, t = np.argwhere(body_mask)[j]
        _missing_target(i, t, targets[j], rows[j, :widths[j] + 1].tolist())
    rec_lists[body_mask, :width + 1] = rows
    rec_mask[body_mask, :width + 1] = inside
    target_index[body_mask] = hit.argmax(axis=1)


def _missing_target(i, t, target, row):
    raise ValueError("session %d of the batch, position %d: target %d is not among its "
                     "candidates %r" % (i, t, target, row))


def iterate_batches(sessions, batch_size, rng=None, bucket_window=0):
    """Yield lists of at most `batch_size` sessions covering `sessions` once (the last batch may
    be smaller): in the given order, or in the order `rng.permutation` gives when `rng` (a
    `np.random.RandomState`) is passed.

    bucket_window > 0 (with `rng`): length bucketing. The shuffled sessions are cut into windows
    of `bucket_window * batch_size`, each window is sorted by session length (stable) and cut
    into batches, and the order of all batches is shuffled. Batches then hold sessions of similar
    length, so far fewer padded positions are computed; every session is still seen once per
    pass and the batch order is random.
    """
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1, got %d" % batch_size)
    order = range(len(sessions)) if rng is None else rng.permutation(len(sessions))
    order = list(order)
    if rng is None or bucket_window <= 0:
        for start in range(0, len(order), batch_size):
            yield [sessions[j] for j in order[start:start + batch_size]]
        return
    window = int(bucket_window) * batch_size
    batches = []
    for begin in range(0, len(order), window):
        part = sorted(order[begin:begin + window], key=lambda j: len(sessions[j].clicks))
        batches.extend(part[start:start + batch_size] for start in range(0, len(part), batch_size))
    for b in rng.permutation(len(batches)):
        yield [sessions[j] for j in batches[b]]


def position_scales(batches):
    """Per-batch loss factors that keep every predicting position at the same weight.

    The models' losses are means over a batch's predicting positions (sum over the batch / P_b),
    so a batch of short sessions gives each of its positions more weight than a batch of long
    ones; length bucketing makes such batches common. Scaling batch b's loss by
    `P_b / mean_b' P_b'` turns the pass's objective into sum over all positions / mean P, the
    same however the sessions are grouped into the same number of batches.
    `batches`: a list of lists of sessions. Returns a list of floats (1.0 for empty input)."""
    positions = [float(sum(len(s.clicks) for s in batch)) for batch in batches]
    if not positions:
        return []
    mean = sum(positions) / len(positions)
    return [p / mean if mean > 0 else 1.0 for p in positions]


def length_bucketed_pairs(pairs, real_lengths, fake_lengths, window, rng):
    """D's batches of similar lengths (`d_bucket_window`, issue 33): `pairs` is a list of
    (real indices, generated indices) batches; per window of `window` consecutive batches the
    window's real and its generated indices are each sorted by length (stable; `real_lengths` /
    `fake_lengths` map an index to its session's length) and cut again into the same batch sizes,
    so the i-th batch pairs the window's i-th shortest reals with its i-th shortest generated
    sessions; the batches of all windows then come in `rng.permutation` order. Every index stays
    in its window and is used as often as before; far fewer padded positions are computed."""
    out = []
    for begin in range(0, len(pairs), int(window)):
        part = pairs[begin:begin + int(window)]
        reals = sorted([i for p in part for i in p[0]], key=lambda i: real_lengths[i])
        fakes = sorted([i for p in part for i in p[1]], key=lambda i: fake_lengths[i])
        r = f = 0
        for real, fake in part:
            out.append((reals[r:r + len(real)], fakes[f:f + len(fake)]))
            r, f = r + len(real), f + len(fake)
    return [out[b] for b in rng.permutation(len(out))]
