"""IRecGAN training after pretraining (SPEC 5): D pretraining, then adversarial epochs.

The schedule is a flat list of units (`plan`), executed in order; after each unit the runner
checkpoints the variables, the numpy RandomState and the unit counter, so a run killed in any
phase resumes at the unit it was in and, because every random draw (batch order, offline
samples, generation seeds) comes from that RandomState, finishes with the same numbers.

Schedules:
  paper     (Algorithm 1) per epoch: g_steps x [generate m sessions with q_D; update A on them
            plus offline_ratio * m offline sessions; update U with the q_D-weighted loss on the
            generated sessions and MLE on the offline ones], then d_steps x [generate m fresh
            sessions, sample m offline, train D for d_epochs epochs], then evaluation.
  reference (the authors' released loop) per round: 3 x (3 x [generate m, one agent epoch over
            the offline training set plus a pool of at most `pool_size` generated sessions],
            one adversarial U epoch over the pool, one MLE U epoch over the offline set), then
            d_epochs D epochs on m fresh generated vs m offline sessions, then evaluation.
With use_disc=False (irecgan_nod) q_D = 1 everywhere and there is no D.
"""
import numpy as np

from irecgan.data.batching import iterate_batches
from irecgan.generation import Generator

SCHEDULES = ("paper", "reference")


def plan(schedule, epochs, g_steps=3, d_steps=1, use_disc=True, ref_inner=3, ref_gens=3):
    """The ordered list of units (tuples) of a schedule."""
    units = [("d_pretrain",)] if use_disc else []
    for epoch in range(1, epochs + 1):
        if schedule == "paper":
            units += [("g", epoch, j) for j in range(1, g_steps + 1)]
            if use_disc:
                units += [("d", epoch, j) for j in range(1, d_steps + 1)]
        elif schedule == "reference":
            for a in range(1, ref_inner + 1):
                units += [("ref_a", epoch, a, b) for b in range(1, ref_gens + 1)]
                units.append(("ref_u", epoch, a))
            if use_disc:
                units.append(("d", epoch, 1))
        else:
            raise ValueError("unknown schedule %r" % schedule)
        units.append(("eval", epoch))
    return units


class AdversarialTraining(object):
    """Runs the adversarial phase of IRecGAN / IRecGAN-noD on an open runner.

    evaluate_epoch(epoch) -> dict of metrics (offline valid P@k, online reward, ...), logged with
    each epoch's record.
    """

    def __init__(self, runner, models, data, batch_maker, config, evaluate_epoch,
                 use_disc=True, log=None):
        self.runner = runner
        self.models = models
        self.data = data
        self.batch_maker = batch_maker
        self.c = config
        self.use_disc = bool(use_disc)
        self.evaluate_epoch = evaluate_epoch
        self.log = log or runner.log
        self.max_len = config["max_len"] or max(2, 2 * int(data.mean_length))
        self.generator = Generator(models, runner.session, self.max_len,
                                   n_rollouts=config["n_rollouts"])
        self.session = runner.session
        self.epoch_stats = {}

    # -- building blocks --------------------------------------------------------------------
    def generate(self, n, rng, with_q_d):
        first = rng.choice(np.asarray(self.data.first_clicks), size=n)
        return self.generator.generate(first, rng, with_q_d=with_q_d and self.use_disc)

    def offline_sample(self, n, rng):
        train = self.data.train
        index = rng.choice(len(train), size=n, replace=n > len(train))
        return [train[i] for i in index]

    def _train_pass(self, sessions, train_op, loss, feed_fn, rng):
        """One shuffled pass; returns the position-weighted mean loss."""
        total, weight = 0.0, 0.0
        for chunk in iterate_batches(sessions, self.c["batch_size"], rng,
                                     self.c["bucket_window"]):
            batch = self.batch_maker(chunk, rng)
            value, _ = self.session.run([loss, train_op], feed_fn(batch))
            w = float(batch["mask"].sum())
            total += float(value) * w
            weight += w
        return total / max(weight, 1.0)

    def update_agent(self, sessions, rng):
        a = self.models.agent
        return self._train_pass(sessions, a.trainer.train_op, a.loss,
                                lambda b: self.models.agent_feed(b, "returns"), rng)

    def update_user(self, generated, offline, rng):
        u = self.models.user
        adv = self._train_pass(generated, u.adv.train_op, u.adv_loss, self.models.user_feed, rng)
        mle = self._train_pass(offline, u.mle.train_op, u.mle_loss, self.models.user_feed, rng)
        return adv, mle

    def train_disc(self, generated, offline, rng, epochs):
        """`epochs` shuffled passes over offline (label 1) + generated (label 0) sessions."""
        d = self.models.disc
        sessions = list(offline) + list(generated)
        labels = np.array([1.0] * len(offline) + [0.0] * len(generated), np.float32)
        stats = {}
        for _ in range(epochs):
            order = rng.permutation(len(sessions))
            total = {"loss": 0.0, "accuracy": 0.0}
            for start in range(0, len(order), self.c["batch_size"]):
                idx = order[start:start + self.c["batch_size"]]
                batch = self.batch_maker([sessions[i] for i in idx], rng)
                loss, acc, _ = self.session.run([d.loss, d.accuracy, d.trainer.train_op],
                                                self.models.disc_feed(batch, labels[idx]))
                total["loss"] += float(loss) * len(idx)
                total["accuracy"] += float(acc) * len(idx)
            stats = dict((k, v / len(order)) for k, v in total.items())
        return stats

    # -- units -----------------------------------------------------------------------------
    def run_unit(self, unit, rng, state):
        kind = unit[0]
        m = self.c["gen_sessions"]
        st = self.epoch_stats
        if kind == "d_pretrain":
            n = self.c["d_pretrain_sessions"] or m
            stats = self.train_disc(self.generate(n, rng, False), self.offline_sample(n, rng),
                                    rng, self.c["d_epochs"])
            self.runner.log_metrics(dict(phase="d_pretrain", d_loss=stats["loss"],
                                         d_accuracy=stats["accuracy"], sessions=n))
            self.log("D pretraining: loss %.4f, accuracy %.3f" % (stats["loss"],
                                                                 stats["accuracy"]))
        elif kind == "g":
            generated = self.generate(m, rng, True)
            offline = self.offline_sample(self.c["offline_ratio"] * m, rng)
            st.setdefault("agent_loss", []).append(self.update_agent(generated + offline, rng))
            adv, mle = self.update_user(generated, offline, rng)
            st.setdefault("user_adv_loss", []).append(adv)
            st.setdefault("user_mle_loss", []).append(mle)
            self._note_generated(generated)
        elif kind == "ref_a":
            generated = self.generate(m, rng, True)
            pool = state.setdefault("pool", [])
            pool.extend(generated)
            del pool[:max(0, len(pool) - self.c["pool_size"])]
            st.setdefault("agent_loss", []).append(
                self.update_agent(list(self.data.train) + pool, rng))
            self._note_generated(generated)
        elif kind == "ref_u":
            adv, mle = self.update_user(list(state.get("pool", [])), list(self.data.train), rng)
            st.setdefault("user_adv_loss", []).append(adv)
            st.setdefault("user_mle_loss", []).append(mle)
        elif kind == "d":
            stats = self.train_disc(self.generate(m, rng, False), self.offline_sample(m, rng),
                                    rng, self.c["d_epochs"])
            st.setdefault("d_loss", []).append(stats["loss"])
            st.setdefault("d_accuracy", []).append(stats["accuracy"])
        elif kind == "eval":
            record = {"phase": "adversarial", "epoch": unit[1]}
            for key, values in sorted(st.items()):
                record[key] = float(np.mean(values))
            record.update(self.evaluate_epoch(unit[1]))
            self.runner.log_metrics(record)
            self.log("adversarial epoch %d: %s" % (unit[1], ", ".join(
                "%s %.4g" % (k, v) for k, v in sorted(record.items())
                if isinstance(v, float) and ("loss" in k or "P@1" == k[-3:] or "reward_mean" in k
                                             or "q_d" in k))))
            st.clear()
        else:
            raise ValueError("unknown unit %r" % (unit,))

    def _note_generated(self, generated):
        st = self.epoch_stats
        st.setdefault("gen_length", []).append(np.mean([len(s.clicks) for s in generated]))
        if self.use_disc:
            st.setdefault("gen_q_d", []).append(np.mean([q for s in generated for q in s.q_d]))

    def run(self, seed):
        units = plan(self.c["schedule"], self.c["adv_epochs"], self.c["g_steps"],
                     self.c["d_steps"], self.use_disc)
        state = self.runner.state
        done = state.get("adv/units", 0)
        rng = np.random.RandomState(seed)
        if "adv/rng" in state:
            rng.set_state(state["adv/rng"])
        self.epoch_stats = state.get("adv/epoch_stats", {})
        sub = state.setdefault("adv/sub", {})
        for index in range(done, len(units)):
            self.run_unit(units[index], rng, sub)
            self.runner.save("adversarial unit %d/%d %s" % (index + 1, len(units), units[index]),
                             **{"adv/units": index + 1, "adv/rng": rng.get_state(),
                                "adv/epoch_stats": self.epoch_stats, "adv/sub": sub})
