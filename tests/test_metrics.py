"""Offline P@k (SPEC 7): hand-computed cases for every rule, and a brute-force cross-check."""
import math

import numpy as np
import pytest

from irecgan.data.vocab import EOS, PAD, UNK
from irecgan.evaluation.metrics import PrecisionAccumulator, precision_counts

ITEMS = list(range(10, 20))  # ten item indices (>= 4, so none is a special token)


def batch(steps, lengths, n=None):
    """Arrays for `precision_counts` from `steps[i][t] = (rec_list, scores, target_pos)` or None.

    None leaves position t as padding (mask 0). Candidate lists are padded with _PAD to the
    longest one; padding entries get rec_mask 0 and the score 99 (so a bug that ranks padding
    would show). mask[i, t] = 1 for t < lengths[i].
    """
    n = n or max(len(s) for s in steps)
    k = max(len(st[0]) for s in steps for st in s if st is not None)
    b = len(steps)
    scores = np.full([b, n, k], 99.0)
    rec_lists = np.full([b, n, k], PAD, dtype=np.int32)
    rec_mask = np.zeros([b, n, k], dtype=np.float32)
    target_index = np.zeros([b, n], dtype=np.int32)
    for i, s in enumerate(steps):
        for t, st in enumerate(s):
            if st is None:
                continue
            items, sc, tpos = st
            rec_lists[i, t, :len(items)] = items
            scores[i, t, :len(items)] = sc
            rec_mask[i, t, :len(items)] = 1.0
            target_index[i, t] = tpos
    lengths = np.asarray(lengths, dtype=np.int32)
    mask = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float32)
    return scores, rec_lists, rec_mask, target_index, mask, lengths


def counts(steps, lengths, **kwargs):
    return precision_counts(*batch(steps, lengths), **kwargs)


def step(target_score, target_pos=0, eos_score=0.0, items=ITEMS):
    """Ten items scored 0.10, 0.11, ..., 0.19 (item ITEMS[j] scores 0.10 + 0.01 j), then _EOS;
    the item at `target_pos` gets `target_score` instead; _EOS gets `eos_score`."""
    sc = [0.10 + 0.01 * j for j in range(len(items))]
    sc[target_pos] = target_score
    return (list(items) + [EOS], sc + [eos_score], target_pos)


def test_rank_of_target_gives_hits_at_each_k():
    # Target ITEMS[0] scored 0.165: items ahead of it are those scoring 0.17, 0.18, 0.19 (3 of
    # them), so it ranks 4th: no hit at k=1 or 3, a hit at k=5 and 10.
    c = counts([[step(0.165), step(0.5)]], lengths=[3])
    # Position 1 (target 0.5, the top score) is a hit at every k; position 2 is the end step.
    assert c == {"evaluated": 2, "hits": {1: 1, 3: 1, 5: 2, 10: 2}}


def test_end_of_session_step_is_not_evaluated():
    # L = 2: position 0 is evaluated (0 < L-1 = 1); position 1 is the end step (1 < 1 fails),
    # even though its list has 11 entries and its target has the top score.
    c = counts([[step(0.5), step(0.5)]], lengths=[2])
    assert c["evaluated"] == 1
    assert c["hits"][1] == 1
    # A one-step session (L = 1) has nothing to evaluate.
    assert counts([[step(0.5)]], lengths=[1])["evaluated"] == 0


def test_masked_positions_are_not_evaluated():
    args = list(batch([[step(0.5), step(0.5), step(0.5)]], lengths=[3]))
    args[4] = np.array([[1.0, 0.0, 1.0]], dtype=np.float32)  # mask position 1 off
    c = precision_counts(*args)
    assert c["evaluated"] == 1  # position 0 only (1 masked, 2 the end step)


def test_eos_is_removed_from_the_ranking_even_with_the_top_score():
    # _EOS scores 0.9 > target 0.5 > every other item (<= 0.19). With _EOS ranked the target
    # would be 2nd (no hit at 1); with _EOS removed it is 1st.
    c = counts([[step(0.5, eos_score=0.9), step(0.5)]], lengths=[3])
    assert c["hits"][1] == 2 and c["evaluated"] == 2


def test_unk_target_is_evaluated_but_never_a_hit():
    # Items scored as negative logits (-1.0 .. -1.9); the target is _UNK, which scores 0 by rule
    # and would therefore be top-1 if _UNK could be a hit. It is evaluated, never a hit.
    items = [UNK] + ITEMS[1:]
    sc = [5.0] + [-1.0 - 0.1 * j for j in range(1, 10)] + [0.0]
    unk_step = (items + [EOS], sc, 0)
    c = counts([[unk_step, step(0.5)]], lengths=[3])
    assert c == {"evaluated": 2, "hits": {1: 1, 3: 1, 5: 1, 10: 1}}


def test_pad_and_unk_candidates_are_scored_zero():
    # A real _UNK candidate with raw score 0.9 and a _PAD candidate with raw score 0.8 both count
    # as 0: the target (0.5) ranks 1st.
    items = [UNK, PAD] + ITEMS[2:]
    sc = [0.9, 0.8, 0.5] + [0.10 + 0.01 * j for j in range(3, 10)] + [0.0]
    c = counts([[(items + [EOS], sc, 2), step(0.5)]], lengths=[3], ks=(1,))
    assert c == {"evaluated": 2, "hits": {1: 2}}
    # With negative item scores, the zero-scored _UNK and _PAD rank ahead of every item:
    # target -0.5 has _UNK (0) and _PAD (0) ahead of it and nothing else (other items <= -1.3):
    # 3rd place (rank 2) -> no hit at 1 or 2, a hit at 3.
    sc = [-7.0, -7.0, -0.5] + [-1.0 - 0.1 * j for j in range(3, 10)] + [-9.0]
    c = counts([[(items + [EOS], sc, 2)] * 2], lengths=[2], ks=(1, 2, 3))
    assert c == {"evaluated": 1, "hits": {1: 0, 2: 0, 3: 1}}


def test_lists_of_ten_or_fewer_entries_with_eos_are_skipped():
    # 9 items + _EOS = 10 entries: skipped. 10 items + _EOS = 11 entries: evaluated.
    short = step(0.5, items=ITEMS[:9])
    c = counts([[short, step(0.5), step(0.5)]], lengths=[3])
    assert c["evaluated"] == 1  # position 1 only
    # The threshold is a parameter (min_candidates entries, _EOS included).
    c = counts([[short, step(0.5), step(0.5)]], lengths=[3], min_candidates=10)
    assert c["evaluated"] == 2


def test_padding_entries_are_not_ranked():
    # The padding of a short list (rec_mask 0) gets the score 99 from `batch`, far above every
    # real candidate; a 12-entry list beside an 11-entry one pads the latter by one entry.
    long_items = ITEMS + [20]
    long_step = (long_items + [EOS], [0.1] * 11 + [0.0], 10)  # all tie -> target (pos 10) 11th
    c = counts([[step(0.5), long_step, step(0.5)]], lengths=[3], ks=(1, 10, 11))
    # position 0: rank 0 (padding at 99 not counted) -> hit at 1, 10, 11
    # position 1: 10 items with the same score 0.1 ahead in the list -> rank 10 -> hit at 11 only
    assert c == {"evaluated": 2, "hits": {1: 1, 10: 1, 11: 2}}


def test_ties_rank_the_earlier_list_position_first():
    # Every item scores 0.3. Target at list position 4: positions 0..3 tie with it and come
    # earlier -> rank 4 (5th): no hit at 1 or 3, a hit at 5. Target at position 0 -> rank 0.
    flat = [0.3] * 10 + [0.0]
    c = counts([[(ITEMS + [EOS], flat, 4), (ITEMS + [EOS], flat, 0), step(0.5)]], lengths=[3])
    assert c == {"evaluated": 2, "hits": {1: 1, 3: 1, 5: 2, 10: 2}}
    # A later tie does not count: target at position 2 scoring 0.3 with one more item at 0.3
    # (position 7) and the rest at 0.1 -> rank 0.
    sc = [0.1] * 10 + [0.0]
    sc[2] = sc[7] = 0.3
    c = counts([[(ITEMS + [EOS], sc, 2)] * 2], lengths=[2], ks=(1,))
    assert c["hits"][1] == 1


def test_micro_average_and_per_batch_average_differ_on_unequal_batches():
    acc = PrecisionAccumulator(ks=(1, 10))
    # Batch 1: one session, one evaluated position, a hit at 1 -> P@1 100 %.
    acc.add(*batch([[step(0.5), step(0.5)]], lengths=[2]))
    # Batch 2: two sessions, 3 evaluated positions (L = 3 and L = 2), target at 0.05 below all
    # ten items (0.11..0.19 ahead of it: 9 others) -> rank 9: no hit at 1, a hit at 10.
    acc.add(*batch([[step(0.05)] * 3, [step(0.05)] * 2 + [None]], lengths=[3, 2]))
    # Batch 3: nothing evaluated (the end step only); skipped by the per-batch average.
    counts3 = acc.add(*batch([[step(0.5)]], lengths=[1]))
    assert counts3["evaluated"] == 0
    r = acc.result()
    assert r["evaluated"] == 4
    assert r["P@1"] == pytest.approx(25.0)  # 1 hit / 4 evaluated
    assert r["P@1_batch_avg"] == pytest.approx(50.0)  # (100 + 0) / 2 batches
    assert r["P@10"] == pytest.approx(100.0)  # 4 / 4
    assert r["P@10_batch_avg"] == pytest.approx(100.0)  # (100 + 100) / 2


def test_accumulator_with_nothing_evaluated_gives_nan():
    acc = PrecisionAccumulator()
    r = acc.result()
    assert r["evaluated"] == 0
    assert math.isnan(r["P@1"]) and math.isnan(r["P@10_batch_avg"])
    assert sorted(r) == sorted(["evaluated"] + ["P@%d%s" % (k, sfx) for k in (1, 3, 5, 10)
                                                for sfx in ("", "_batch_avg")])


def test_invalid_inputs_raise():
    args = list(batch([[step(0.5), step(0.5)]], lengths=[2]))
    bad = list(args)
    bad[0] = args[0][:, :, :-1]
    with pytest.raises(ValueError):
        precision_counts(*bad)
    bad = list(args)
    bad[3] = args[3] + 11  # target_index past the list
    with pytest.raises(ValueError):
        precision_counts(*bad)
    bad = list(args)
    bad[0] = args[0].copy()
    bad[0][0, 0, 3] = np.nan
    with pytest.raises(ValueError):
        precision_counts(*bad)
    with pytest.raises(ValueError):
        precision_counts(*args, ks=(0,))


def _brute_force(scores, rec_lists, rec_mask, target_index, mask, lengths, ks, min_cand):
    """The rules, one position at a time with Python's stable sort."""
    evaluated, hits = 0, dict((k, 0) for k in ks)
    b, n, _ = scores.shape
    for i in range(b):
        for t in range(n):
            real = [j for j in range(scores.shape[2]) if rec_mask[i, t, j] > 0]
            if mask[i, t] == 0 or t >= lengths[i] - 1 or len(real) < min_cand:
                continue
            evaluated += 1
            ranked = [j for j in real if rec_lists[i, t, j] != EOS]
            score = dict((j, 0.0 if rec_lists[i, t, j] in (PAD, UNK) else scores[i, t, j])
                         for j in ranked)
            order = sorted(ranked, key=lambda j: -score[j])  # stable: earlier first on ties
            tgt = target_index[i, t]
            if rec_lists[i, t, tgt] in (UNK, PAD) or tgt not in order:
                continue
            for k in ks:
                hits[k] += int(tgt in order[:k])
    return {"evaluated": evaluated, "hits": hits}


def test_matches_brute_force_on_random_batches():
    rng = np.random.RandomState(7)
    for _ in range(20):
        b, n, k = rng.randint(1, 5), rng.randint(1, 6), rng.randint(8, 16)
        lengths = rng.randint(1, n + 1, size=b)
        mask = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float32)
        sizes = rng.randint(1, k + 1, size=(b, n))
        rec_mask = (np.arange(k)[None, None, :] < sizes[:, :, None]).astype(np.float32)
        rec_lists = rng.randint(0, 9, size=(b, n, k)).astype(np.int32)  # specials and items
        rec_lists = np.where(rec_mask > 0, rec_lists, PAD)
        # Coarse scores so ties are common.
        scores = rng.randint(-3, 4, size=(b, n, k)).astype(np.float32) / 2.0
        target_index = (rng.randint(0, 1000, size=(b, n)) % sizes).astype(np.int32)
        args = (scores, rec_lists, rec_mask, target_index, mask, lengths)
        ks = (1, 2, 3, 5)
        got = precision_counts(*args, ks=ks, min_candidates=6)
        assert got == _brute_force(*args, ks=ks, min_cand=6)
