"""Interaction generation with Monte-Carlo discriminator scoring (SPEC 4).

`StepGraph` adds to the models' graph ONE op set that advances any number of sequences by one
interaction step: the agent consumes the current click and recommends k items (Gumbel top-k;
`_EOS` is appended), the user model consumes the same click and samples the next one among the
k + 1 candidates plus a purchase flag, and the discriminator consumes the click and scores the
position (its per-step term). LSTM states of the three models are fed in and fetched out, so no
prefix is ever re-encoded. Randomness comes from a fed stateless seed, so a run driven by a
numpy RandomState is reproducible and resumable.

`Generator` drives it from Python: a batch of sessions is generated with one `session.run` per
time step; then every (session, position) prefix is continued by N rollouts, all of them in one
batch, and `q_D(t)` is the mean of D over the completed rollouts (D of the session itself at the
last position). D's logit is a masked mean of per-step terms, so a prefix's D state and partial
sum are carried into its continuations instead of re-reading the prefix.

`ReferenceGenerator` reproduces the reference's one-sequence-at-a-time loop (one `session.run`
per agent step, per user step with the whole prefix re-encoded, and per discriminator call),
for the benchmark and the equivalence tests.
"""
import numpy as np

from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, PAD
from irecgan.tfcompat import flatten_state, pick_per_row, tf

SEED_MAX = 2 ** 31 - 1


class StepGraph(object):
    """The one-step interaction op set (built into `models.graph`).

    A step has two halves. "Advance": the three LSTMs consume the current click (fed states in,
    new states out) and give their outputs: the agent's logits [R, V], the user model's
    preference [R, E] and LSTM output [R, H], the discriminator's LSTM output [R, H]. "Act": from
    those outputs alone, the agent recommends k items, the user model picks one of them or
    `_EOS` and a purchase flag, and D scores the position. Feeding the outputs (`act`) instead of
    the click and states (`run`) skips the LSTMs: the engine does that for the first step of
    every rollout, whose LSTM work the main trajectory has already done.

    Feeds: click [R], the flattened LSTM states, seed [2] (stateless noise), force_eos [R] (the
      user must pick `_EOS`: the sequence is at max_len), greedy (agent top-k, no sampling).
    Fetches: rec [R, k], cands [R, k+1] (rec + `_EOS`), user_log_probs [R, k+1], choice [R]
      (index into cands), next_click [R], purchase [R], term [R] (D's per-position term; 0
      without D), the advance outputs and the new flattened states.
    """

    def __init__(self, models):
        self.models = models
        agent, user, disc = models.agent, models.user, models.disc
        with models.graph.as_default(), tf.name_scope("interaction_step"):
            self.click = tf.placeholder(tf.int32, [None], name="click")
            self.seed = tf.placeholder(tf.int64, [2], name="seed")
            self.force_eos = tf.placeholder(tf.bool, [None], name="force_eos")
            self.greedy = tf.placeholder_with_default(False, [], name="greedy")
            self.agent_state = agent.encoder.cell.state_placeholders("agent_state")
            self.user_state = user.encoder.cell.state_placeholders("user_state")

            # advance
            self.agent_logits, agent_next = agent.step(self.click, self.agent_state)
            self.user_pref, self.user_output, user_next = user.step(self.click, self.user_state)
            self.in_states = [flatten_state(self.agent_state), flatten_state(self.user_state)]
            self.out_states = [flatten_state(agent_next), flatten_state(user_next)]
            self.outputs = [self.agent_logits, self.user_pref, self.user_output]
            if disc is not None:
                self.disc_state = disc.encoder.cell.state_placeholders("disc_state")
                self.disc_output, disc_next = disc.encoder.step(self.click, self.disc_state)
                self.in_states.append(flatten_state(self.disc_state))
                self.out_states.append(flatten_state(disc_next))
                self.outputs.append(self.disc_output)

            # act (depends on the advance outputs only)
            rows = tf.shape(self.agent_logits)[0]
            self.rec = agent.recommend(self.agent_logits, self.greedy, seed=self.seed)
            eos = tf.fill(tf.stack([rows, 1]), EOS)
            self.cands = tf.concat([self.rec, eos], axis=1)
            cand_mask = tf.ones(tf.shape(self.cands), tf.float32)
            self.user_log_probs = user.click_log_probs_for(self.user_pref, self.cands, cand_mask)
            sampled = user.sample_click(self.user_log_probs, seed=self.seed + [0, 1])
            eos_index = tf.fill(tf.stack([rows]), agent.k)
            self.choice = tf.where_v2(self.force_eos, eos_index, sampled)
            self.next_click = pick_per_row(self.cands, self.choice)
            is_item = tf.not_equal(self.next_click, EOS)
            p_buy = user.purchase_prob_for(self.user_output, self.next_click)
            self.purchase = tf.cast(tf.logical_and(is_item, p_buy > 0.5), tf.int32)
            if disc is not None:
                self.term = disc.position_terms(self.disc_output, self.cands, cand_mask,
                                                self.choice, self.purchase)
            else:
                self.term = tf.zeros(tf.stack([rows]), tf.float32)
        self.n_models = len(self.in_states)
        self.hidden = [agent.encoder.hidden, user.encoder.hidden] + (
            [disc.encoder.hidden] if disc is not None else [])
        self._act_fetches = {"rec": self.rec, "choice": self.choice,
                             "next_click": self.next_click, "purchase": self.purchase,
                             "term": self.term}

    def zero_states(self, rows):
        """Zero LSTM states for `rows` sequences: a list (one per model) of flat arrays."""
        return [[np.zeros((rows, h), np.float32) for _ in flat]
                for flat, h in zip(self.in_states, self.hidden)]

    def run(self, session, click, states, seed, force_eos, greedy=False):
        """One whole step for all rows. Returns (act outputs, advance outputs, new states)."""
        feed = {self.click: click, self.seed: seed, self.force_eos: force_eos,
                self.greedy: greedy}
        for placeholders, arrays in zip(self.in_states, states):
            feed.update(zip(placeholders, arrays))
        fetches = dict(self._act_fetches)
        fetches["_outputs"] = self.outputs
        fetches["_states"] = self.out_states
        out = session.run(fetches, feed)
        return out, out.pop("_outputs"), out.pop("_states")

    def act(self, session, outputs, seed, force_eos, greedy=False):
        """The act half only, from fed advance outputs (no LSTM work)."""
        feed = dict(zip(self.outputs, outputs))
        feed.update({self.seed: seed, self.force_eos: force_eos, self.greedy: greedy})
        return session.run(self._act_fetches, feed)


def take_states(states, index):
    return [[a[index] for a in flat] for flat in states]


def concat_states(chunks):
    """Concatenate lists of per-model flat state arrays along rows."""
    return [[np.concatenate([c[m][j] for c in chunks]) for j in range(len(chunks[0][m]))]
            for m in range(len(chunks[0]))]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def new_seed(rng):
    return np.array([rng.randint(SEED_MAX), rng.randint(SEED_MAX)], np.int64)


class _Rows(object):
    """The live sequences of a loop: numpy columns kept aligned under `keep`."""

    def __init__(self, **columns):
        self.__dict__.update(columns)

    def keep(self, index):
        for name, value in list(vars(self).items()):
            if isinstance(value, list):  # flat states per model
                setattr(self, name, take_states(value, index))
            else:
                setattr(self, name, value[index])


class Generator(object):
    """Batched generation of sessions with per-position q_D.

    models/session: a ModelGraph with user and agent (and discriminator for q_D) and its
    session; max_len: the longest generated session in clicks (SPEC 4: 2 * floor(mean training
    length)); n_rollouts: N continuations per prefix; max_rows: the most sequences advanced by one
    `session.run` (rows beyond it are processed in chunks, each with its own noise seed).

    A prefix ending with position t's target click c_{t+1} is continued from the state after
    consuming c_{t+1}; the main trajectory consumed exactly that click from exactly that state at
    its next step, so the first rollout step reuses those LSTM outputs (`StepGraph.act`) and
    only samples; rollouts then step normally until `_EOS` or max_len.
    """

    def __init__(self, models, session, max_len, n_rollouts=5, max_rows=4096,
                 record_rollouts=False):
        if max_len < 2:
            raise ValueError("max_len must be at least 2, got %d" % max_len)
        self.models = models
        self.session = session
        self.max_len = int(max_len)
        self.n_rollouts = int(n_rollouts)
        self.max_rows = int(max_rows)
        self.step_graph = StepGraph(models)
        self.calls = 0  # session.run calls, for the benchmark
        # record_rollouts: keep every completed rollout (for tests): `self.rollouts` is a list of
        # (session index, position, EncodedSession of the whole rolled-out sequence, D score)
        self.record_rollouts = bool(record_rollouts)
        self.rollouts = []

    def _chunks(self, n):
        return [slice(start, start + self.max_rows) for start in range(0, n, self.max_rows)]

    def _step(self, rows, rng):
        """A whole step (advance + act) for `rows`, in chunks of max_rows."""
        force = rows.lengths >= self.max_len
        acts, outputs, states = [], [], []
        for part in self._chunks(len(rows.click)):
            act, out, st = self.step_graph.run(
                self.session, rows.click[part], [[a[part] for a in flat] for flat in rows.states],
                new_seed(rng), force[part])
            self.calls += 1
            acts.append(act)
            outputs.append(out)
            states.append(st)
        merged = dict((k, np.concatenate([a[k] for a in acts])) for k in acts[0])
        outputs = [np.concatenate([o[j] for o in outputs]) for j in range(len(outputs[0]))]
        return merged, outputs, concat_states(states)

    def _act(self, outputs, lengths, rng):
        """The act half for rows whose advance outputs are known, in chunks of max_rows."""
        force = lengths >= self.max_len
        acts = []
        for part in self._chunks(len(lengths)):
            acts.append(self.step_graph.act(self.session, [o[part] for o in outputs],
                                            new_seed(rng), force[part]))
            self.calls += 1
        return dict((k, np.concatenate([a[k] for a in acts])) for k in acts[0])

    def generate(self, first_clicks, rng, with_q_d=True):
        """Generate one session per entry of `first_clicks` (vocabulary indices).

        Returns a list of EncodedSession with `end_list` (the list shown when the session ended)
        and, when `with_q_d` (needs the discriminator), `q_d` per position; else q_d is None.
        """
        if with_q_d and self.models.disc is None:
            # without D the step graph's per-step term is 0, so q_D would silently be 0.5
            raise ValueError("q_D needs the discriminator; build the ModelGraph with it or pass "
                             "with_q_d=False")
        n = len(first_clicks)
        clicks = [[int(c)] for c in first_clicks]
        rec_lists = [[[]] for _ in range(n)]
        purchases = [[0] for _ in range(n)]
        end_lists = [None] * n
        d_full = np.zeros(n)
        # prefixes to roll out, one chunk per step p >= 1: the rows alive at step p end their
        # prefix t = p - 1 with the click they now consume; kept: (session, t, advance outputs
        # and states after consuming it, length, D partial sum and count through position t)
        prefixes = []

        rows = _Rows(session=np.arange(n), click=np.array(first_clicks, np.int32),
                     states=self.step_graph.zero_states(n), lengths=np.ones(n, np.int64),
                     dsum=np.zeros(n), dcount=np.zeros(n))
        while len(rows.session):
            act, outputs, states = self._step(rows, rng)
            if with_q_d and rows.lengths[0] > 1:
                prefixes.append((rows.session, rows.lengths - 2, outputs, states, rows.lengths,
                                 rows.dsum, rows.dcount))
            rows.states = states
            rows.dsum = rows.dsum + act["term"]
            rows.dcount = rows.dcount + 1
            ended = act["next_click"] == EOS
            for row, i in enumerate(rows.session):
                rec = act["rec"][row].tolist()
                if ended[row]:
                    end_lists[i] = rec
                    d_full[i] = sigmoid(rows.dsum[row] / rows.dcount[row])
                else:
                    clicks[i].append(int(act["next_click"][row]))
                    rec_lists[i].append(rec)
                    purchases[i].append(int(act["purchase"][row]))
            rows.click = act["next_click"].astype(np.int32)
            rows.lengths = rows.lengths + 1
            rows.keep(np.nonzero(~ended)[0])

        q_d = None
        if with_q_d:
            q_d = [[0.0] * len(c) for c in clicks]
            for i in range(n):
                q_d[i][-1] = float(d_full[i])
            if prefixes:
                self._score_prefixes(prefixes, q_d, rng, (clicks, rec_lists, purchases))
        return [encoded(clicks[i], rec_lists[i], purchases[i], end_lists[i],
                        None if q_d is None else q_d[i]) for i in range(n)]

    def _score_prefixes(self, prefixes, q_d, rng, main):
        """Roll out N continuations of every prefix in one batch; q_d[i][t] = mean D."""
        session_of = np.concatenate([p[0] for p in prefixes])
        position = np.concatenate([p[1] for p in prefixes])
        n_prefix = len(session_of)
        reps = self.n_rollouts
        owner = np.repeat(np.arange(n_prefix), reps)
        outputs = [np.concatenate([p[2][j] for p in prefixes])[owner]
                   for j in range(len(prefixes[0][2]))]
        rows = _Rows(rollout=np.arange(len(owner)), click=np.zeros(len(owner), np.int32),
                     states=take_states(concat_states([p[3] for p in prefixes]), owner),
                     lengths=np.concatenate([p[4] for p in prefixes])[owner],
                     dsum=np.concatenate([p[5] for p in prefixes])[owner],
                     dcount=np.concatenate([p[6] for p in prefixes])[owner])
        scores = np.zeros(len(owner))
        trails = [[] for _ in owner] if self.record_rollouts else None
        act = self._act(outputs, rows.lengths, rng)  # first step: the LSTMs already ran
        while True:
            rows.dsum = rows.dsum + act["term"]
            rows.dcount = rows.dcount + 1
            ended = act["next_click"] == EOS
            scores[rows.rollout[ended]] = sigmoid(rows.dsum[ended] / rows.dcount[ended])
            if trails is not None:
                for row, r in enumerate(rows.rollout):
                    trails[r].append((int(act["next_click"][row]), act["rec"][row].tolist(),
                                      int(act["purchase"][row])))
            rows.click = act["next_click"].astype(np.int32)
            rows.lengths = rows.lengths + 1
            rows.keep(np.nonzero(~ended)[0])
            if not len(rows.rollout):
                break
            act, _, rows.states = self._step(rows, rng)
        means = scores.reshape(n_prefix, reps).mean(axis=1)
        for j in range(n_prefix):
            q_d[session_of[j]][position[j]] = float(means[j])
        if trails is not None:
            clicks, rec_lists, purchases = main
            for r, trail in enumerate(trails):
                i, t = session_of[owner[r]], position[owner[r]]
                c, lists, p = clicks[i][:t + 2], rec_lists[i][:t + 2], purchases[i][:t + 2]
                for nxt, rec, buy in trail[:-1]:
                    c, lists, p = c + [nxt], lists + [rec], p + [buy]
                self.rollouts.append((int(i), int(t), encoded(c, lists, p, trail[-1][1]),
                                      float(scores[r])))


class ReferenceGenerator(object):
    """The reference's loop: one sequence at a time, re-encoding the prefix for the user model.

    Per interaction step: one `session.run` for the agent (fed state), one for the user model
    over the whole prefix (the batch graph with B = 1), and for q_D, N rollouts per position each
    stepped the same way and scored by one discriminator call on the completed sequence.
    Sampling uses numpy Gumbel noise from `rng`. For the benchmark and equivalence tests only.
    """

    def __init__(self, models, session, max_len, n_rollouts=5):
        self.models = models
        self.session = session
        self.max_len = int(max_len)
        self.n_rollouts = int(n_rollouts)
        agent = models.agent
        with models.graph.as_default(), tf.name_scope("reference_step"):
            self.a_click = tf.placeholder(tf.int32, [None], name="click")
            self.a_state = agent.encoder.cell.state_placeholders("agent_state")
            logits, a_next = agent.step(self.a_click, self.a_state)
            self.a_log_pi = tf.nn.log_softmax(logits[:, 4:], axis=-1)
            self.a_next = flatten_state(a_next)
        self.a_in = flatten_state(self.a_state)
        self.calls = 0

    def _agent(self, click, state, rng):
        feed = {self.a_click: [click]}
        feed.update(zip(self.a_in, state))
        log_pi, new_state = self.session.run([self.a_log_pi, self.a_next], feed)
        self.calls += 1
        g = -np.log(-np.log(rng.uniform(1e-10, 1.0 - 1e-7, size=log_pi.shape[1])))
        rec = np.argsort(-(log_pi[0] + g), kind="stable")[:self.models.agent.k] + 4
        return rec.tolist(), new_state

    def user_log_probs(self, prefix, cands):
        """Re-encode `prefix` (clicks so far) and score `cands`: log-probs [len(cands)]."""
        u = self.models.user
        n = len(prefix)
        clicks = np.array([list(prefix) + [PAD]], np.int32)
        rec = np.zeros((1, n, len(cands)), np.int32)
        rec[0, -1] = cands
        mask = np.zeros((1, n, len(cands)), np.float32)
        mask[0, -1] = 1.0
        feed = {u.clicks: clicks, u.lengths: [n], u.rec_lists: rec, u.rec_mask: mask}
        out = self.session.run(u.click_log_probs, feed)
        self.calls += 1
        return out[0, -1]

    def _user(self, prefix, cands, force_eos, rng):
        logp = self.user_log_probs(prefix, cands)
        if force_eos:
            return len(cands) - 1
        g = -np.log(-np.log(rng.uniform(1e-10, 1.0 - 1e-7, size=logp.shape)))
        return int(np.argmax(logp + g))

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
