"""Offline reranking metrics, P@k (SPEC 7), and `roc_auc` (D's held-out AUC). Pure numpy: no
TensorFlow.

A position t of session i is *evaluated* when all of these hold:

* `mask[i, t] == 1`;
* `t < lengths[i] - 1` (the end-of-session step, whose target is `_EOS`, is not evaluated);
* its candidate list, counting the appended `_EOS`, has more than 10 entries:
  `rec_mask[i, t].sum() >= min_candidates` (11 by default).

The candidates of an evaluated position are ranked by the model's scores, with `_PAD` and `_UNK`
entries scored 0 and `_EOS` removed from the ranking (entries with `rec_mask == 0` are padding
and are not ranked either). Ties are broken deterministically: of two candidates with equal
scores, the one earlier in the list ranks first (a stable sort by descending score). It is a hit
at k when the target, `rec_lists[i, t, target_index[i, t]]`, is among the top k. A `_UNK` target
(an item outside the vocabulary) is evaluated but never a hit; so is a target that is `_EOS`,
`_PAD` or not a real candidate (none of these happens in well-formed batches).

P@k = hits / evaluated, in percent, micro-averaged over all evaluated positions. The reference
implementation averages the per-batch ratios instead; `PrecisionAccumulator` reports both.
"""
import numpy as np

from irecgan.data.vocab import EOS, PAD, UNK

DEFAULT_KS = (1, 3, 5, 10)
EVAL_SEED = 12345  # batches for validation/test use their own fixed RandomState
MIN_CANDIDATES = 11  # more than 10 entries, the appended _EOS included


def _check_ks(ks):
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError("ks must be positive integers, got %r" % (ks,))
    return ks


def evaluated_positions(rec_mask, mask, lengths, min_candidates=MIN_CANDIDATES):
    """Boolean [B, n]: the positions that P@k evaluates (see the module docstring)."""
    rec_mask = np.asarray(rec_mask)
    mask = np.asarray(mask)
    lengths = np.asarray(lengths)
    if mask.ndim != 2 or rec_mask.shape[:2] != mask.shape or lengths.shape != mask.shape[:1]:
        raise ValueError("rec_mask %s, mask %s and lengths %s must be [B, n, K], [B, n], [B]"
                         % (rec_mask.shape, mask.shape, lengths.shape))
    t = np.arange(mask.shape[1])[None, :]
    return ((mask > 0) & (t < lengths[:, None] - 1)
            & ((rec_mask > 0).sum(axis=2) >= int(min_candidates)))


def target_ranks(cand_scores, rec_lists, rec_mask, target_index):
    """The 0-based rank of each position's target among its ranked candidates, [B, n] int64.

    -1 where the target can never be a hit (`_UNK`, `_EOS`, `_PAD` or a padding entry).
    rank = #{ranked j: s_j > s_target} + #{ranked j before the target: s_j == s_target}.
    """
    scores = np.asarray(cand_scores, dtype=np.float64)
    rec_lists = np.asarray(rec_lists)
    real = np.asarray(rec_mask) > 0
    target_index = np.asarray(target_index, dtype=np.int64)
    if not (scores.shape == rec_lists.shape == real.shape):
        raise ValueError("cand_scores %s, rec_lists %s and rec_mask %s must have the same shape "
                         "[B, n, K]" % (scores.shape, rec_lists.shape, real.shape))
    if scores.ndim != 3 or target_index.shape != scores.shape[:2]:
        raise ValueError("target_index %s must be [B, n] for candidates %s"
                         % (target_index.shape, scores.shape))
    n_cand = scores.shape[2]
    if target_index.size and (target_index.min() < 0 or target_index.max() >= n_cand):
        raise ValueError("target_index out of range [0, %d)" % n_cand)

    scores = np.where((rec_lists == PAD) | (rec_lists == UNK), 0.0, scores)
    ranked = real & (rec_lists != EOS)
    tpos = target_index[:, :, None]
    t_score = np.take_along_axis(scores, tpos, axis=2)
    t_item = np.take_along_axis(rec_lists, tpos, axis=2)[:, :, 0]
    earlier = np.arange(n_cand)[None, None, :] < tpos
    ahead = ranked & ((scores > t_score) | ((scores == t_score) & earlier))
    rank = ahead.sum(axis=2).astype(np.int64)
    can_hit = (np.take_along_axis(ranked, tpos, axis=2)[:, :, 0]
               & (t_item != UNK) & (t_item != PAD))
    return np.where(can_hit, rank, -1)


def precision_counts(cand_scores, rec_lists, rec_mask, target_index, mask, lengths,
                     ks=DEFAULT_KS, min_candidates=MIN_CANDIDATES):
    """Evaluated positions and hits at each k for one batch.

    cand_scores [B, n, K] float: the model's score of each candidate (e.g. pi gathered at
    rec_lists); rec_lists [B, n, K] int vocabulary indices; rec_mask [B, n, K] (1 on real
    candidates); target_index [B, n] int; mask [B, n]; lengths [B] int.
    Returns {"evaluated": int, "hits": {k: int for k in ks}}.
    """
    ks = _check_ks(ks)
    evaluated = evaluated_positions(rec_mask, mask, lengths, min_candidates)
    ranks = target_ranks(cand_scores, rec_lists, rec_mask, target_index)
    real = (np.asarray(rec_mask) > 0)[evaluated]  # [E, K]
    if np.isnan(np.asarray(cand_scores, dtype=np.float64)[evaluated][real]).any():
        raise ValueError("NaN score of a candidate at an evaluated position")
    ranks = ranks[evaluated]
    hits = dict((k, int(((ranks >= 0) & (ranks < k)).sum())) for k in ks)
    return {"evaluated": int(evaluated.sum()), "hits": hits}


class PrecisionAccumulator(object):
    """Sums `precision_counts` over batches; `result()` gives P@k in percent.

    result(): {"evaluated": int, "P@k": micro average over all evaluated positions,
    "P@k_batch_avg": the mean over batches of each batch's ratio (the reference's figure;
    batches with no evaluated position are skipped)}. A P@k with nothing evaluated is NaN.
    """

    def __init__(self, ks=DEFAULT_KS, min_candidates=MIN_CANDIDATES):
        self.ks = _check_ks(ks)
        self.min_candidates = int(min_candidates)
        self.reset()

    def reset(self):
        self.evaluated = 0
        self.hits = dict((k, 0) for k in self.ks)
        self._batch_ratios = dict((k, []) for k in self.ks)

    def add(self, cand_scores, rec_lists, rec_mask, target_index, mask, lengths):
        """Adds one batch (arguments as `precision_counts`); returns that batch's counts."""
        counts = precision_counts(cand_scores, rec_lists, rec_mask, target_index, mask,
                                  lengths, self.ks, self.min_candidates)
        n = counts["evaluated"]
        self.evaluated += n
        for k in self.ks:
            self.hits[k] += counts["hits"][k]
            if n > 0:
                self._batch_ratios[k].append(100.0 * counts["hits"][k] / n)
        return counts

    def result(self):
        out = {"evaluated": self.evaluated}
        for k in self.ks:
            out["P@%d" % k] = (100.0 * self.hits[k] / self.evaluated if self.evaluated
                               else float("nan"))
            ratios = self._batch_ratios[k]
            out["P@%d_batch_avg" % k] = float(np.mean(ratios)) if ratios else float("nan")
        return out


def roc_auc(scores, labels):
    """Area under the ROC curve of `scores` for binary `labels` (1 positive): the probability
    that a random positive scores above a random negative, ties counting 1/2 (Mann-Whitney with
    mid-ranks). 0.5 when one class is absent."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels) > 0
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # mid-ranks of tied runs
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
