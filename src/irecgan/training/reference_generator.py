"""The reference implementation's generation loop, one sequence at a time: for the generation
benchmark (benchmarks/generation.py) and the equivalence tests only; training never imports it.
"""
import numpy as np

from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, PAD
from irecgan.numeric import new_seed
from irecgan.tfcompat import flatten_state, tf


class ReferenceGenerator(object):
    """The reference's loop: one sequence at a time, re-encoding the prefix for the user model.

    Per interaction step: one `session.run` for the agent (fed click and state; the k items are
    sampled in the graph, Gumbel top-k as in `StepGraph`, and only they are fetched), one for the
    user model over the whole prefix (the batch graph with B = 1; the click is sampled in the
    graph among the last position's candidates and only its index is fetched), and for q_D, N
    rollouts per position each stepped the same way and scored by one discriminator call on the
    completed sequence. Noise seeds are drawn from `rng` (stateless ops, as in `Generator`), so
    both engines sample from the same distributions and do the same sampling work per row. For
    the benchmark and equivalence tests only.
    """

    def __init__(self, models, session, max_len, n_rollouts=5):
        self.models = models
        self.session = session
        self.max_len = int(max_len)
        self.n_rollouts = int(n_rollouts)
        agent, user = models.agent, models.user
        with models.graph.as_default(), tf.name_scope("reference_step"):
            self.a_click = tf.placeholder(tf.int32, [None], name="click")
            self.a_seed = tf.placeholder(tf.int64, [2], name="agent_seed")
            self.a_state = agent.encoder.cell.state_placeholders("agent_state")
            logits, a_next = agent.step(self.a_click, self.a_state)
            self.a_rec = agent.recommend(logits, False, seed=self.a_seed)        # [1, k]
            self.a_next = flatten_state(a_next)
            # the user model's batch graph re-encodes the prefix; sample at its last position
            self.u_seed = tf.placeholder(tf.int64, [2], name="user_seed")
            self.u_force_eos = tf.placeholder(tf.bool, [], name="force_eos")
            last = user.click_log_probs[:, -1, :]                                 # [1, k+1]
            sampled = user.sample_click(last, seed=self.u_seed)                  # [1]
            eos_index = tf.fill(tf.shape(sampled), tf.shape(last)[1] - 1)
            self.u_choice = tf.where_v2(self.u_force_eos, eos_index, sampled)
        self.a_in = flatten_state(self.a_state)
        self.calls = 0

    def _agent(self, click, state, rng):
        feed = {self.a_click: [click], self.a_seed: new_seed(rng)}
        feed.update(zip(self.a_in, state))
        rec, new_state = self.session.run([self.a_rec, self.a_next], feed)
        self.calls += 1
        return rec[0].tolist(), new_state

    def _user_feed(self, prefix, cands):
        """The user model's batch feed (B = 1) of `prefix` with `cands` at its last position."""
        u = self.models.user
        n = len(prefix)
        clicks = np.array([list(prefix) + [PAD]], np.int32)
        rec = np.zeros((1, n, len(cands)), np.int32)
        rec[0, -1] = cands
        mask = np.zeros((1, n, len(cands)), np.float32)
        mask[0, -1] = 1.0
        return {u.clicks: clicks, u.lengths: [n], u.rec_lists: rec, u.rec_mask: mask}

    def user_log_probs(self, prefix, cands):
        """Re-encode `prefix` (clicks so far) and score `cands`: log-probs [len(cands)]."""
        out = self.session.run(self.models.user.click_log_probs, self._user_feed(prefix, cands))
        self.calls += 1
        return out[0, -1]

    def _user(self, prefix, cands, force_eos, rng):
        """Re-encode `prefix`, sample the index of the click among `cands` (in the graph)."""
        feed = self._user_feed(prefix, cands)
        feed.update({self.u_seed: new_seed(rng), self.u_force_eos: bool(force_eos)})
        choice = self.session.run(self.u_choice, feed)
        self.calls += 1
        return int(choice[0])

    def _continue(self, prefix, lists, state, rng):
        """Step a sequence to its end; returns (clicks, lists incl. the end list)."""
        prefix, lists = list(prefix), list(lists)
        while True:
            rec, state = self._agent(prefix[-1], state, rng)
            cands = rec + [EOS]
            j = self._user(prefix, cands, len(prefix) >= self.max_len, rng)
            lists.append(rec)
            if cands[j] == EOS:
                return prefix, lists, state
            prefix.append(cands[j])

    def _disc(self, clicks, lists):
        d = self.models.disc
        n = len(clicks)
        k1 = len(lists[0]) + 1
        rec = np.zeros((1, n, k1), np.int32)
        target = np.zeros((1, n), np.int32)
        for t in range(n):
            cands = lists[t] + [EOS]
            rec[0, t] = cands
            target[0, t] = cands.index(clicks[t + 1]) if t + 1 < n else k1 - 1
        feed = {d.clicks: np.array([list(clicks) + [EOS]], np.int32), d.lengths: [n],
                d.mask: np.ones((1, n), np.float32), d.rec_lists: rec,
                d.rec_mask: np.ones((1, n, k1), np.float32), d.target_index: target,
                d.purchase: np.zeros((1, n), np.int32)}
        self.calls += 1
        return float(self.session.run(d.prob, feed)[0])

    def generate(self, first_clicks, rng, with_q_d=True):
        zero = [np.zeros((1, h.shape.as_list()[1]), np.float32) for h in self.a_in]
        sessions = []
        for first in first_clicks:
            clicks, lists, state = [int(first)], [], zero
            states = []
            while True:
                rec, state = self._agent(clicks[-1], state, rng)
                cands = rec + [EOS]
                j = self._user(clicks, cands, len(clicks) >= self.max_len, rng)
                lists.append(rec)
                states.append(state)
                if cands[j] == EOS:
                    break
                clicks.append(cands[j])
            q_d = None
            if with_q_d:
                q_d = []
                for t in range(len(clicks) - 1):
                    total = 0.0
                    for _ in range(self.n_rollouts):
                        full, full_lists, _ = self._continue(clicks[:t + 2], lists[:t + 1],
                                                             states[t], rng)
                        total += self._disc(full, full_lists)
                    q_d.append(total / self.n_rollouts)
                q_d.append(self._disc(clicks, lists))
            sessions.append(encoded(clicks, [[]] + lists[:-1], [0] * len(clicks), lists[-1],
                                    q_d))
        return sessions
