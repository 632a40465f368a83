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
sum are carried into its continuations instead of re-reading the prefix. The first step of a
prefix's rollouts is sampled in the same `session.run` as the main step that reaches the prefix
(`spawn`), from the LSTM outputs that run computed, so no [rows, V] logits ever leave the graph.

`ReferenceGenerator` reproduces the reference's one-sequence-at-a-time loop (one `session.run`
per agent step, per user step with the whole prefix re-encoded, and per discriminator call),
for the benchmark and the equivalence tests.
"""
import numpy as np

from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, PAD
from irecgan.tfcompat import flatten_state, pick_per_row, tf

SEED_MAX = 2 ** 31 - 1
ACT_FETCHES = ("rec", "choice", "next_click", "purchase", "term")


class StepGraph(object):
    """The one-step interaction op set (built into `models.graph`).

    A step has two halves. "Advance": the three LSTMs consume the current click (fed states in,
    new states out) and give their outputs: the agent's logits [R, V], the user model's
    preference [R, E] and LSTM output [R, H], the discriminator's LSTM output [R, H]. "Act": from
    those outputs alone, the agent recommends k items, the user model picks one of them or
    `_EOS` and a purchase flag, and D scores the position. Feeding the outputs (`act`) instead of
    the click and states (`run`) skips the LSTMs. The act half is built a second time on the rows
    of the outputs that `spawn` picks (with its own noise): the first step of the N rollouts of
    every prefix ending at this step, whose LSTM work the main step has just done, sampled in the
    same run.

    Feeds: click [R], the flattened LSTM states, seed [2] (stateless noise), force_eos [R] (the
      user must pick `_EOS`: the sequence is at max_len), greedy (agent top-k, no sampling);
      optionally spawn [S] (row indices, e.g. each row N times) and spawn_force_eos [S]; when
      D's head reads them (`reads_context`, the sequence head), click_purchase [R] (the
      purchase flag of the click, 0 for a first click) and position [R] (its index, 0 first).
    Fetches: rec [R, k], cands [R, k+1] (rec + `_EOS`), user_log_probs [R, k+1], choice [R]
      (index into cands), next_click [R], purchase [R], term [R] (D's per-position term; 0
      without D), the advance outputs and the new flattened states; the same act fetches for
      the spawned rows ([S, ...]).
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
            self.reads_context = disc is not None and disc.reads_context
            self.click_purchase = self.position = None
            if self.reads_context:
                self.click_purchase = tf.placeholder(tf.int32, [None], name="click_purchase")
                self.position = tf.placeholder(tf.int32, [None], name="position")
            if disc is not None:
                self.disc_state = disc.encoder.cell.state_placeholders("disc_state")
                self.disc_output, disc_next = disc.advance(self.click, self.disc_state,
                                                           self.click_purchase, self.position)
                self.in_states.append(flatten_state(self.disc_state))
                self.out_states.append(flatten_state(disc_next))
                self.outputs.append(self.disc_output)

            # act (depends on the advance outputs only)
            act = self._build_act(self.outputs, self.seed, self.force_eos)
            self.rec, self.cands = act["rec"], act["cands"]
            self.user_log_probs, self.choice = act["user_log_probs"], act["choice"]
            self.next_click, self.purchase, self.term = (act["next_click"], act["purchase"],
                                                         act["term"])
            # spawn: the act half on picked rows of the same outputs, with other noise
            self.spawn = tf.placeholder_with_default(tf.zeros([0], tf.int32), [None],
                                                     name="spawn")
            self.spawn_force_eos = tf.placeholder_with_default(tf.zeros([0], tf.bool), [None],
                                                               name="spawn_force_eos")
            spawned = self._build_act([tf.gather(o, self.spawn) for o in self.outputs],
                                      self.seed + [1, 0], self.spawn_force_eos)
        self.n_models = len(self.in_states)
        self.hidden = [agent.encoder.hidden, user.encoder.hidden] + (
            [disc.encoder.hidden] if disc is not None else [])
        self._act_fetches = dict((key, act[key]) for key in ACT_FETCHES)
        self._spawn_fetches = dict((key, spawned[key]) for key in ACT_FETCHES)

    def _build_act(self, outputs, seed, force_eos):
        """The act ops on advance outputs [agent logits, user preference, user output (, D
        output)] of R rows; `seed` an int64 [2] tensor. Returns a dict of tensors (class doc)."""
        agent, user, disc = self.models.agent, self.models.user, self.models.disc
        agent_logits, user_pref, user_output = outputs[:3]
        rows = tf.shape(agent_logits)[0]
        rec = agent.recommend(agent_logits, self.greedy, seed=seed)
        eos = tf.fill(tf.stack([rows, 1]), EOS)
        cands = tf.concat([rec, eos], axis=1)
        cand_mask = tf.ones(tf.shape(cands), tf.float32)
        user_log_probs = user.click_log_probs_for(user_pref, cands, cand_mask)
        sampled = user.sample_click(user_log_probs, seed=seed + [0, 1])
        eos_index = tf.fill(tf.stack([rows]), agent.k)
        choice = tf.where_v2(force_eos, eos_index, sampled)
        next_click = pick_per_row(cands, choice)
        is_item = tf.not_equal(next_click, EOS)
        p_buy = user.purchase_prob_for(user_output, next_click)
        purchase = tf.cast(tf.logical_and(is_item, p_buy > 0.5), tf.int32)
        if disc is not None:
            term = disc.position_terms(outputs[3], cands, cand_mask, choice, purchase)
        else:
            term = tf.zeros(tf.stack([rows]), tf.float32)
        return {"rec": rec, "cands": cands, "user_log_probs": user_log_probs, "choice": choice,
                "next_click": next_click, "purchase": purchase, "term": term}

    def zero_states(self, rows):
        """Zero LSTM states for `rows` sequences: a list (one per model) of flat arrays."""
        return [[np.zeros((rows, h), np.float32) for _ in flat]
                for flat, h in zip(self.in_states, self.hidden)]

    def run(self, session, click, states, seed, force_eos, greedy=False, spawn=None,
            spawn_force_eos=None, fetch_outputs=True, click_purchase=None, position=None):
        """One whole step for all rows. Returns (act outputs, advance outputs, new states); with
        `spawn` (row indices [S]) the act outputs hold "spawn": the act outputs of those rows
        with other noise ([S, ...]); `fetch_outputs=False` leaves the advance outputs (the
        agent's [R, V] logits among them) in the graph and returns None for them.
        `click_purchase` / `position` [R]: needed when `reads_context`, ignored otherwise."""
        feed = {self.click: click, self.seed: seed, self.force_eos: force_eos,
                self.greedy: greedy}
        if self.reads_context:
            if click_purchase is None or position is None:
                raise ValueError("D's sequence head needs each click's purchase flag and "
                                 "position")
            feed.update({self.click_purchase: click_purchase, self.position: position})
        for placeholders, arrays in zip(self.in_states, states):
            feed.update(zip(placeholders, arrays))
        fetches = dict(self._act_fetches)
        if fetch_outputs:
            fetches["_outputs"] = self.outputs
        fetches["_states"] = self.out_states
        if spawn is not None:
            feed.update({self.spawn: spawn, self.spawn_force_eos: spawn_force_eos})
            fetches["spawn"] = self._spawn_fetches
        out = session.run(fetches, feed)
        return out, out.pop("_outputs", None), out.pop("_states")

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


def merge_acts(acts):
    """Concatenate act-output dicts along rows."""
    return dict((k, np.concatenate([a[k] for a in acts])) for k in acts[0])


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
    its next step, so the first rollout step reuses those LSTM outputs: that main step also
    samples the N rollouts' first step (`StepGraph.run(spawn=...)`, each row's outputs picked N
    times, so the main step's chunks hold max_rows // (N + 1) rows); rollouts then step normally
    until `_EOS` or max_len.
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

    def _step(self, rows, rng, spawn=False):
        """A whole step (advance + act) for `rows`, in chunks of at most max_rows rows. Returns
        (act outputs, new states, spawned act outputs: with `spawn`, N rows per row in row
        order, the first step of each row's rollouts; else None)."""
        force = rows.lengths >= self.max_len
        reps = self.n_rollouts if spawn else 0
        size = max(1, self.max_rows // (1 + reps))
        acts, spawned, states = [], [], []
        for start in range(0, len(rows.click), size):
            part = slice(start, start + size)
            extra = {}
            if self.step_graph.reads_context:
                extra = dict(click_purchase=rows.purchase[part], position=rows.lengths[part] - 1)
            if spawn:
                n = len(rows.click[part])
                extra.update(spawn=np.repeat(np.arange(n, dtype=np.int32), reps),
                             spawn_force_eos=np.repeat(force[part], reps))
            act, _, st = self.step_graph.run(
                self.session, rows.click[part], [[a[part] for a in flat] for flat in rows.states],
                new_seed(rng), force[part], fetch_outputs=False, **extra)
            self.calls += 1
            if spawn:
                spawned.append(act.pop("spawn"))
            acts.append(act)
            states.append(st)
        return merge_acts(acts), concat_states(states), merge_acts(spawned) if spawn else None

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
        # prefix t = p - 1 with the click they now consume; kept: (session, t, the sampled first
        # step of its N rollouts, states after consuming it, length, D partial sum and count
        # through position t)
        prefixes = []

        # purchase: the flag of the click each row consumes next (a first click: 0)
        rows = _Rows(session=np.arange(n), click=np.array(first_clicks, np.int32),
                     states=self.step_graph.zero_states(n), lengths=np.ones(n, np.int64),
                     dsum=np.zeros(n), dcount=np.zeros(n), purchase=np.zeros(n, np.int32))
        while len(rows.session):
            spawn = with_q_d and rows.lengths[0] > 1
            act, states, spawned = self._step(rows, rng, spawn=spawn)
            if spawn:
                prefixes.append((rows.session, rows.lengths - 2, spawned, states, rows.lengths,
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
            rows.purchase = act["purchase"]
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
        act = merge_acts([p[2] for p in prefixes])  # first step: sampled by the main steps
        rows = _Rows(rollout=np.arange(len(owner)), click=np.zeros(len(owner), np.int32),
                     states=take_states(concat_states([p[3] for p in prefixes]), owner),
                     lengths=np.concatenate([p[4] for p in prefixes])[owner],
                     dsum=np.concatenate([p[5] for p in prefixes])[owner],
                     dcount=np.concatenate([p[6] for p in prefixes])[owner],
                     purchase=np.zeros(len(owner), np.int32))
        scores = np.zeros(len(owner))
        trails = [[] for _ in owner] if self.record_rollouts else None
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
            rows.purchase = act["purchase"]
            rows.lengths = rows.lengths + 1
            rows.keep(np.nonzero(~ended)[0])
            if not len(rows.rollout):
                break
            act, rows.states, _ = self._step(rows, rng)
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
