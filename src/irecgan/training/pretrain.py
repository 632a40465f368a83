"""Maximum-likelihood training of the agent or the user model on offline sessions.

This is the whole of the `lstm` and `pg` baselines (SPEC 6), and step 1 of IRecGAN (SPEC 5).
Each epoch is checkpointed with the RandomState, so a killed run resumes at the right epoch and
continues with the same random draws.
"""
import numpy as np

from irecgan.evaluation.metrics import EVAL_SEED
from irecgan.training.offline import offline_precision, run_epoch


class Task(object):
    """What to train: a train op, its loss, how to feed a batch, and what ranks candidates."""

    def __init__(self, name, train_op, loss, feed_fn, scores, decay_op=None, loss_scale=None):
        self.name = name
        self.loss_scale = loss_scale  # the trainer's per-batch loss factor (None: not fed)
        self.train_op = train_op
        self.loss = loss
        self.feed_fn = feed_fn
        self.scores = scores
        self.decay_op = decay_op


def agent_task(models, weighting, position_weighted=True):
    """`weighting`: "mle" (the lstm baseline, all weights 1) or "returns" (pg, REINFORCE).
    `position_weighted`: scale each batch's loss by its positions over the mean (see
    data.batching.position_scales); False: every batch weighs the same."""
    agent = models.agent
    return Task("agent_" + weighting, agent.trainer.train_op, agent.loss,
                lambda batch: models.agent_feed(batch, weighting), agent.cand_probs,
                loss_scale=agent.trainer.loss_scale if position_weighted else None)


def user_task(models, position_weighted=True):
    """MLE of the user model; its learning rate decays by 0.95 when an epoch's loss exceeds the
    maximum of the previous 3 (SPEC 3.1)."""
    user = models.user
    return Task("user_mle", user.mle.train_op, user.mle_loss, models.user_feed,
                user.click_probs, decay_op=user.mle.decay_op,
                loss_scale=user.mle.loss_scale if position_weighted else None)


def should_decay(losses, window=3):
    """True when the last loss exceeds the max of the `window` before it."""
    if len(losses) <= window:
        return False
    return losses[-1] > max(losses[-1 - window:-1])


def evaluate(session, task, sessions, batch_size, batch_maker, ks=(1, 3, 5, 10)):
    """Loss and P@k of `task` on `sessions` (no training; deterministic)."""
    rng = np.random.RandomState(EVAL_SEED)
    stats = run_epoch(session, sessions, batch_size, batch_maker, task.feed_fn,
                      {"loss": task.loss}, rng, train_op=None, show_progress=False)
    rng = np.random.RandomState(EVAL_SEED)
    prec = offline_precision(session, sessions, batch_size, batch_maker, task.scores,
                             task.feed_fn, rng, ks=ks)
    out = {"loss": stats["loss"]}
    out.update(prec)
    return out


def pretrain(runner, task, train, valid, epochs, batch_size, batch_maker, seed, phase,
             show_progress=True, extra_metrics=None, bucket_window=0):
    """Train `task` for `epochs` epochs, resuming from the runner's state.

    Logs one metrics record per epoch (phase, epoch, train loss, valid loss and P@k, plus
    `extra_metrics(epoch)` when given, e.g. online reward) and checkpoints after each. The state
    keys are prefixed with `phase`.
    """
    key = phase + "/"
    state = runner.state
    done = state.get(key + "epoch", 0)
    rng = np.random.RandomState(seed)
    if key + "rng" in state:
        rng.set_state(state[key + "rng"])
    losses = list(state.get(key + "losses", []))
    for epoch in range(done, epochs):
        stats = run_epoch(runner.session, train, batch_size, batch_maker, task.feed_fn,
                          {"loss": task.loss}, rng, train_op=task.train_op,
                          desc="%s %d/%d" % (phase, epoch + 1, epochs),
                          show_progress=show_progress, bucket_window=bucket_window,
                          loss_scale=task.loss_scale)
        losses.append(stats["loss"])
        decayed = False
        if task.decay_op is not None and should_decay(losses):
            runner.session.run(task.decay_op)
            decayed = True
        record = {"phase": phase, "epoch": epoch + 1, "train_loss": stats["loss"],
                  "lr_decayed": decayed}
        if valid:
            for k, v in evaluate(runner.session, task, valid, batch_size, batch_maker).items():
                record["valid_" + k] = v
        if extra_metrics is not None:
            record.update(extra_metrics(epoch + 1))
        runner.log_metrics(record)
        runner.log("%s epoch %d/%d: train loss %.4f%s" % (
            phase, epoch + 1, epochs, stats["loss"],
            (", valid loss %.4f, valid P@1 %.2f" % (record["valid_loss"], record["valid_P@1"]))
            if valid else ""))
        state[key + "losses"] = losses
        runner.save("%s epoch %d" % (phase, epoch + 1), **{key + "epoch": epoch + 1,
                                                          key + "rng": rng.get_state()})
