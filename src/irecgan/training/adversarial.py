"""IRecGAN training after pretraining (SPEC 5): D pretraining, then adversarial epochs.

The schedule is a flat list of units (`plan`), executed in order; after each unit the runner
checkpoints the variables, the numpy RandomState, the unit counter and the generated-session
pool, so a run killed in any phase resumes at the unit it was in and, because every random draw
(batch order, offline samples, generation seeds) comes from that RandomState, finishes with the
same numbers.

Schedules:
  paper     (Algorithm 1) per epoch: g_steps x [generate m sessions with q_D; update A on them
            mixed with round(offline_ratio * m) offline sessions; update U with the q_D-weighted
            loss on the generated sessions and MLE on the offline ones], then d_steps x d-step,
            then evaluation.
  reference (the authors' released loop, src/main.py) per round: 3 x (3 x [generate m sessions
            into a pool of at most `pool_size`; one agent epoch over the offline training set,
            then over the pool], one adversarial U epoch over the pool and one MLE U epoch over
            the offline set (only with D: the authors leave U untouched when D is off)), then one
            d-step, then evaluation. D pretraining uses `d_pretrain_sessions` (the authors:
            1,000) and the pool starts empty after it.
A d-step trains D for d_epochs epochs (`d_data`):
  authors   the reference's D epoch (discriminator.py `train`): every offline training session
            once (shuffled per epoch), in batches of batch_size real + batch_size generated
            sessions taken in turn from the (once shuffled) generated pool: the sessions the
            g-steps / agent steps generated since D pretraining plus, in the paper schedule, m
            freshly generated ones; D pretraining uses its own generated sessions as the pool.
  m         Algorithm 1 literally: m fresh generated vs m sampled offline sessions, shuffled.
After D pretraining and every d-step, D is measured on held-out data: validation sessions
(label 1) against freshly generated ones (label 0), never its training batches
(`d_heldout_accuracy`, `d_heldout_auc`).
With use_disc=False (irecgan_nod) q_D = 1 everywhere and there is no D. With agent_q_d=False
(an ablation, not the paper) the agent's returns on generated sessions carry no q_D while U's
adversarial update and D keep it: D then shapes U only.
"""
import numpy as np

from irecgan.data.batching import iterate_batches, length_bucketed_pairs, position_scales
from irecgan.data.shown import shown_lists
from irecgan.evaluation.metrics import roc_auc
from irecgan.numeric import sigmoid
from irecgan.training.generation import Generator, generation_cap

SCHEDULES = ("paper", "reference")
D_DATA = ("authors", "m")
REFERENCE_D_PRETRAIN_SESSIONS = 1000  # the authors' interact(1000) before dis_train(3)
HELDOUT_SEED_SALT = 104729  # keeps the held-out draws apart from the training RandomState


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
                if use_disc:  # the authors update U only inside `if FLAGS.use_dis`
                    units.append(("ref_u", epoch, a))
            if use_disc:
                units.append(("d", epoch, 1))
        else:
            raise ValueError("unknown schedule %r" % schedule)
        units.append(("eval", epoch))
    return units


class AdversarialTraining(object):
    """Runs the adversarial phase of IRecGAN / IRecGAN-noD on an open runner. evaluate_epoch(epoch)
    -> dict of metrics (offline valid P@k, online reward, ...), logged with each epoch's record."""

    trains_user = True  # the g-steps update U (TrueWorldTraining has no U)

    def __init__(self, runner, models, data, batch_maker, evaluate_epoch, use_disc=True,
                 log=None, *, schedule, adv_epochs, g_steps, d_steps, d_epochs, d_data,
                 gen_sessions, d_pretrain_sessions, d_heldout_sessions, offline_ratio,
                 pool_size, n_rollouts, max_len, batch_size, bucket_window, position_weighted,
                 heldout_seed, d_bucket_window=0, agent_q_d=True):
        """The keyword-only arguments are the configuration keys of the same names (module doc,
        irecgan.config), except: max_len 0 = 2 * floor(the data's mean session length), at
        least 2; position_weighted: batch_weighting=positions; heldout_seed: the run's seed,
        which with the unit seeds D's held-out draws (`heldout_disc`)."""
        self.runner = runner
        self.models = models
        self.data = data
        self.batch_maker = batch_maker
        self.use_disc = bool(use_disc)
        self.evaluate_epoch = evaluate_epoch
        self.log = log or runner.log
        self.schedule = schedule
        self.adv_epochs = adv_epochs
        self.g_steps = g_steps
        self.d_steps = d_steps
        self.d_epochs = d_epochs
        self.d_data = d_data
        self.gen_sessions = gen_sessions
        self.d_pretrain_n = d_pretrain_sessions   # 0: the schedule's (d_pretrain_sessions())
        self.d_heldout_sessions = d_heldout_sessions
        self.offline_ratio = offline_ratio
        self.pool_size = pool_size
        self.n_rollouts = n_rollouts
        self.batch_size = batch_size
        self.bucket_window = bucket_window
        self.d_bucket_window = d_bucket_window   # d_data=authors: D batches of similar lengths
        self.agent_q_d = bool(agent_q_d)   # False: the agent's returns without q_D
        self.position_weighted = bool(position_weighted)
        self.heldout_seed = heldout_seed
        self.max_len = generation_cap(max_len, data)
        self.session = runner.session
        self.generator = self.make_generator()
        self.epoch_stats = {}

    # -- building blocks --------------------------------------------------------------------
    def make_generator(self):
        """What `generate` draws sessions from: U and A (with D for q_D)."""
        return Generator(self.models, self.session, self.max_len, n_rollouts=self.n_rollouts)

    def generate(self, n, rng, with_q_d):
        first = rng.choice(np.asarray(self.data.first_clicks), size=n)
        return self.generator.generate(first, rng, with_q_d=with_q_d and self.use_disc)

    def offline_sample(self, n, rng):
        train = self.data.train
        index = rng.choice(len(train), size=n, replace=n > len(train))
        return [train[i] for i in index]

    def n_offline(self, m):
        """Offline sessions mixed with m generated ones in a paper g-step (offline_ratio may be
        a fraction: 0.1 = one offline session per ten generated)."""
        return int(round(float(self.offline_ratio) * m))

    def _train_pass(self, passes, trainer, loss, feed_fn, rng, generated=(), own_feed=False):
        """Shuffled passes over each list of sessions in `passes`, in order (each pass's batches
        shuffled / bucketed on their own). Each batch's loss is scaled by its positions over the
        mean positions per batch of all the passes (batch_weighting=positions).

        Returns (position-weighted mean loss, share of the REINFORCE weight carried by the
        sessions in `generated`): a row's weight in the update is its summed `returns` times its
        batch's loss scale over the batch's positions. `own_feed`: feed_fn(batch, lists) also
        takes data.shown.shown_lists (the sessions of `generated` the agent's own)."""
        batches = []
        for sessions in passes:
            batches.extend(iterate_batches(sessions, self.batch_size, rng,
                                           self.bucket_window))
        scales = position_scales(batches) if self.position_weighted else [1.0] * len(batches)
        gen_ids = set(id(s) for s in generated)
        total, weight, gen_w, all_w = 0.0, 0.0, 0.0, 0.0
        for chunk, scale in zip(batches, scales):
            batch = self.batch_maker(chunk, rng)
            if own_feed:
                feed = feed_fn(batch, shown_lists(chunk, [id(s) in gen_ids for s in chunk],
                                                  batch["mask"].shape[1], self.models.agent.k))
            else:
                feed = feed_fn(batch)
            feed[trainer.loss_scale] = scale
            value, _ = self.session.run([loss, trainer.train_op], feed)
            w = float(batch["mask"].sum())
            total += float(value) * w
            weight += w
            rows = batch["returns"].sum(axis=1) * scale / max(w, 1.0)
            all_w += float(rows.sum())
            gen_w += float(sum(r for r, s in zip(rows, chunk) if id(s) in gen_ids))
        return total / max(weight, 1.0), (gen_w / all_w if all_w > 0 else 0.0)

    def update_agent(self, passes, rng, generated=()):
        if not self.agent_q_d:   # the same sessions, their returns without D's q_D
            plain = dict((id(s), s if s.q_d is None else s._replace(q_d=None))
                         for p in passes for s in p)
            passes = [[plain[id(s)] for s in p] for p in passes]
            generated = [plain[id(s)] for s in generated]
        a = self.models.agent
        own = a.objective != "paper"   # the objectives beyond the paper's read the own lists
        feed = ((lambda b, lists: self.models.agent_feed(b, "returns", lists)) if own
                else (lambda b: self.models.agent_feed(b, "returns")))
        return self._train_pass(passes, a.trainer, a.loss, feed, rng, generated, own_feed=own)

    def update_user(self, generated, offline, rng):
        u = self.models.user
        adv, _ = self._train_pass([generated], u.adv, u.adv_loss, self.models.user_feed, rng)
        mle, _ = self._train_pass([offline], u.mle, u.mle_loss, self.models.user_feed, rng)
        return adv, mle

    def _disc_step(self, sessions, labels, rng):
        d = self.models.disc
        batch = self.batch_maker(sessions, rng)
        loss, acc, _ = self.session.run([d.loss, d.accuracy, d.trainer.train_op],
                                        self.models.disc_feed(batch, labels))
        return float(loss), float(acc)

    def train_disc(self, generated, offline, rng, epochs):
        """d_data=m (Algorithm 1): `epochs` shuffled passes over offline (label 1) + generated
        (label 0) sessions in batches of batch_size. Returns the last epoch's mean loss and
        accuracy (per session) and the number of D updates."""
        sessions = list(offline) + list(generated)
        labels = np.array([1.0] * len(offline) + [0.0] * len(generated), np.float32)
        stats, steps = {}, 0
        for _ in range(epochs):
            order = rng.permutation(len(sessions))
            total = {"loss": 0.0, "accuracy": 0.0}
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                loss, acc = self._disc_step([sessions[i] for i in idx], labels[idx], rng)
                total["loss"] += loss * len(idx)
                total["accuracy"] += acc * len(idx)
                steps += 1
            stats = dict((k, v / len(order)) for k, v in total.items())
        stats["steps"] = steps
        return stats

    def train_disc_authors(self, pool, rng, epochs):
        """d_data=authors (the reference's D epoch): per epoch every offline training session
        once, shuffled, in batches of batch_size real sessions (label 1) each joined by as many
        generated sessions (label 0) taken in turn from `pool`, shuffled once per call and
        cycled (d_bucket_window > 0: `batching.length_bucketed_pairs`). Returns the last epoch's
        mean loss and accuracy (per batch, as the reference reports) and the number of updates."""
        if not pool:
            raise ValueError("the generated pool is empty: nothing to train D against")
        train = self.data.train
        pool_order = rng.permutation(len(pool))
        size = self.batch_size
        stats, steps = {}, 0
        for _ in range(epochs):
            order = rng.permutation(len(train))
            losses, accs = [], []
            pairs = [(order[i:i + size], pool_order[np.arange(i, min(i + size, len(order)))
                                                    % len(pool)])
                     for i in range(0, len(order), size)]
            if self.d_bucket_window:
                pairs = length_bucketed_pairs(pairs, [len(s.clicks) for s in train], [
                    len(s.clicks) for s in pool], self.d_bucket_window, rng)
            for real_idx, fake_idx in pairs:
                real, fake = [train[i] for i in real_idx], [pool[i] for i in fake_idx]
                labels = np.array([1.0] * len(real) + [0.0] * len(fake), np.float32)
                loss, acc = self._disc_step(real + fake, labels, rng)
                losses.append(loss)
                accs.append(acc)
                steps += 1
            stats = {"loss": float(np.mean(losses)), "accuracy": float(np.mean(accs))}
        stats["steps"] = steps
        return stats

    def disc_scores(self, sessions, rng):
        """D(tau) of each session (no training), in batches of batch_size."""
        d = self.models.disc
        out = []
        for start in range(0, len(sessions), self.batch_size):
            batch = self.batch_maker(sessions[start:start + self.batch_size], rng)
            out.append(self.session.run(d.logit, self.models.disc_feed(batch, 0.0)))
        return sigmoid(np.concatenate(out)) if out else np.zeros(0)

    def heldout_disc(self, unit_index):
        """D on held-out data: the first d_heldout_sessions validation sessions (label 1) vs as
        many freshly generated ones (label 0), from a RandomState of its own (seeded by the
        run's seed and the unit), so measuring changes no training draw. Returns accuracy (D > 1/2
        on real, < 1/2 on generated) and ROC AUC."""
        real = list(self.data.valid[:self.d_heldout_sessions])
        if not real:
            return {}
        rng = np.random.RandomState([int(self.heldout_seed) % (2 ** 31), HELDOUT_SEED_SALT,
                                     int(unit_index)])
        fake = self.generate(len(real), rng, False)
        scores = np.concatenate([self.disc_scores(real, rng), self.disc_scores(fake, rng)])
        labels = np.array([1] * len(real) + [0] * len(fake))
        accuracy = float(np.mean((scores > 0.5) == (labels > 0)))
        return {"d_heldout_accuracy": accuracy, "d_heldout_auc": roc_auc(scores, labels),
                "d_heldout_q_real": float(np.mean(scores[:len(real)])),
                "d_heldout_q_generated": float(np.mean(scores[len(real):]))}

    def _add_to_pool(self, state, sessions):
        pool = state.setdefault("pool", [])
        pool.extend(sessions)
        del pool[:max(0, len(pool) - self.pool_size)]
        return pool

    def d_pretrain_sessions(self):
        """Generated sessions of D pretraining: d_pretrain_sessions, or when 0 the authors'
        1,000 (the reference schedule, and the authors' D data in either schedule: their pool
        for D pretraining) or m (Algorithm 1's m vs m)."""
        n = self.d_pretrain_n
        if n:
            return n
        if self.schedule == "reference" or self.d_data == "authors":
            return REFERENCE_D_PRETRAIN_SESSIONS
        return self.gen_sessions

    # -- units -----------------------------------------------------------------------------
    def run_unit(self, unit, rng, state, index=0):
        kind = unit[0]
        m = self.gen_sessions
        st = self.epoch_stats
        if kind == "d_pretrain":
            n = self.d_pretrain_sessions()
            generated = self.generate(n, rng, False)
            if self.d_data == "authors":
                stats = self.train_disc_authors(generated, rng, self.d_epochs)
            else:
                stats = self.train_disc(generated, self.offline_sample(n, rng), rng,
                                        self.d_epochs)
            state["pool"] = []  # the authors empty the pool after D pretraining
            record = dict(phase="d_pretrain", d_loss=stats["loss"],
                          d_accuracy=stats["accuracy"], d_updates=stats["steps"], sessions=n)
            record.update(self.heldout_disc(index))
            self.runner.log_metrics(record)
            self.log("D pretraining: %d updates, train loss %.4f, accuracy %.3f; held-out "
                     "accuracy %.3f, AUC %.3f" % (stats["steps"], stats["loss"],
                                                  stats["accuracy"],
                                                  record.get("d_heldout_accuracy", np.nan),
                                                  record.get("d_heldout_auc", np.nan)))
        elif kind == "g":
            generated = self.generate(m, rng, True)
            offline = self.offline_sample(self.n_offline(m), rng)
            loss, share = self.update_agent([generated + offline], rng, generated)
            st.setdefault("agent_loss", []).append(loss)
            st.setdefault("gen_weight_share", []).append(share)
            if self.trains_user:
                adv, mle = self.update_user(generated, offline, rng)
                st.setdefault("user_adv_loss", []).append(adv)
                st.setdefault("user_mle_loss", []).append(mle)
            if self.use_disc and self.d_data == "authors":
                self._add_to_pool(state, generated)  # D's generated pool
            self._note_generated(generated)
        elif kind == "ref_a":
            generated = self.generate(m, rng, True)
            pool = self._add_to_pool(state, generated)
            # the authors' agent epoch: the offline training set, then the pool
            loss, share = self.update_agent([list(self.data.train), list(pool)], rng, pool)
            st.setdefault("agent_loss", []).append(loss)
            st.setdefault("gen_weight_share", []).append(share)
            self._note_generated(generated)
        elif kind == "ref_u":
            adv, mle = self.update_user(list(state.get("pool", [])), list(self.data.train), rng)
            st.setdefault("user_adv_loss", []).append(adv)
            st.setdefault("user_mle_loss", []).append(mle)
        elif kind == "d":
            if self.d_data == "authors":
                if self.schedule == "paper":
                    self._add_to_pool(state, self.generate(m, rng, False))
                stats = self.train_disc_authors(state["pool"], rng, self.d_epochs)
            else:
                stats = self.train_disc(self.generate(m, rng, False),
                                        self.offline_sample(m, rng), rng, self.d_epochs)
            st.setdefault("d_loss", []).append(stats["loss"])
            st.setdefault("d_accuracy", []).append(stats["accuracy"])
            st.setdefault("d_updates", []).append(stats["steps"])
            for key, value in self.heldout_disc(index).items():
                st.setdefault(key, []).append(value)
        elif kind == "eval":
            record = {"phase": "adversarial", "epoch": unit[1],
                      "log_purchase_rate": float(self.data.purchase_rate)}
            for key, values in sorted(st.items()):
                record[key] = float(np.mean(values))
            record.update(self.evaluate_epoch(unit[1]))
            self.runner.log_metrics(record)
            self.log("adversarial epoch %d: %s" % (unit[1], ", ".join(
                "%s %.4g" % (k, v) for k, v in sorted(record.items())
                if isinstance(v, float) and ("loss" in k or "P@1" == k[-3:] or "reward_mean" in k
                                             or "q_d" in k or "heldout" in k
                                             or "share" in k))))
            st.clear()
        else:
            raise ValueError("unknown unit %r" % (unit,))

    def _note_generated(self, generated):
        st = self.epoch_stats
        st.setdefault("gen_length", []).append(np.mean([len(s.clicks) for s in generated]))
        positions = sum(len(s.clicks) for s in generated)
        bought = sum(sum(1 for p in s.purchases[1:] if p) for s in generated)
        st.setdefault("gen_purchase_rate", []).append(bought / float(max(positions, 1)))
        if self.use_disc:
            st.setdefault("gen_q_d", []).append(np.mean([q for s in generated for q in s.q_d]))

    def run(self, seed):
        units = plan(self.schedule, self.adv_epochs, self.g_steps,
                     self.d_steps, self.use_disc)
        state = self.runner.state
        done = state.get("adv/units", 0)
        rng = np.random.RandomState(seed)
        if "adv/rng" in state:
            rng.set_state(state["adv/rng"])
        self.epoch_stats = state.get("adv/epoch_stats", {})
        sub = state.setdefault("adv/sub", {})
        for index in range(done, len(units)):
            self.run_unit(units[index], rng, sub, index)
            self.runner.save("adversarial unit %d/%d %s" % (index + 1, len(units), units[index]),
                             **{"adv/units": index + 1, "adv/rng": rng.get_state(),
                                "adv/epoch_stats": self.epoch_stats, "adv/sub": sub})
