"""Epoch loops over offline sessions: training steps, losses and offline P@k."""
import sys

import numpy as np

from irecgan.data.batching import iterate_batches, make_batch, position_scales
from irecgan.evaluation.metrics import PrecisionAccumulator

try:  # progress bars are a convenience, not a requirement
    from tqdm import tqdm
except ImportError:  # pragma: no cover
    tqdm = None


def progress(iterable, total, desc, enabled=True):
    """A tqdm bar on stderr when it is a terminal; in log files the per-epoch lines suffice."""
    if not enabled or tqdm is None or not sys.stderr.isatty():
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr)


class BatchMaker(object):
    """Turns lists of EncodedSession into batch dicts with fixed gamma / lambda_r."""

    def __init__(self, vocab_size, gamma=0.9, lambda_r=3.0):
        self.vocab_size = int(vocab_size)
        self.gamma = float(gamma)
        self.lambda_r = float(lambda_r)

    def __call__(self, sessions, rng):
        return make_batch(sessions, rng, self.vocab_size, gamma=self.gamma,
                          lambda_r=self.lambda_r)


def n_batches(n_sessions, batch_size):
    return (n_sessions + batch_size - 1) // batch_size


def run_epoch(session, sessions, batch_size, batch_maker, feed_fn, fetches, rng,
              train_op=None, desc=None, show_progress=True, bucket_window=0, loss_scale=None):
    """One pass over `sessions` (shuffled by `rng` when training).

    feed_fn(batch) -> feed_dict; fetches: dict name -> scalar tensor (a loss averaged over the
    batch's predicting positions). Returns name -> mean over the epoch, each batch weighted by its
    number of predicting positions, plus `positions` and `sessions`. bucket_window: length
    bucketing of training batches (see data.batching.iterate_batches). loss_scale: the train
    op's loss-scale placeholder (models.common.Trainer.loss_scale); when given, each training
    batch's loss is scaled by data.batching.position_scales so every position weighs the same.
    """
    order_rng = rng if train_op is not None else None
    total = dict((k, 0.0) for k in fetches)
    positions = 0.0
    batches = list(iterate_batches(sessions, batch_size, order_rng, bucket_window))
    scales = position_scales(batches)
    for b, chunk in enumerate(progress(batches, len(batches), desc, show_progress)):
        batch = batch_maker(chunk, rng)
        ops = dict(fetches)
        feed = feed_fn(batch)
        if train_op is not None:
            ops["_train"] = train_op
            if loss_scale is not None:
                feed[loss_scale] = scales[b]
        values = session.run(ops, feed)
        weight = float(batch["mask"].sum())
        positions += weight
        for k in fetches:
            total[k] += float(values[k]) * weight
    out = dict((k, v / max(positions, 1.0)) for k, v in total.items())
    out["positions"] = int(positions)
    out["sessions"] = len(sessions)
    return out


def offline_precision(session, sessions, batch_size, batch_maker, scores, feed_fn, rng,
                      ks=(1, 3, 5, 10)):
    """P@k (SPEC 7) of `scores` ([B, n, K] candidate scores) over `sessions`.

    Returns the accumulator's result: P@k (micro), P@k_batch_avg, evaluated.
    """
    acc = PrecisionAccumulator(ks=ks)
    for chunk in iterate_batches(sessions, batch_size, None):
        batch = batch_maker(chunk, rng)
        cand_scores = session.run(scores, feed_fn(batch))
        acc.add(np.asarray(cand_scores), batch["rec_lists"], batch["rec_mask"],
                batch["target_index"], batch["mask"], batch["lengths"])
    return acc.result()
