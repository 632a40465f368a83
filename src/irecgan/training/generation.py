"""Batched interaction generation with Monte-Carlo discriminator scoring (SPEC 4).

`Generator` drives `irecgan.models.step_graph.StepGraph` (one interaction step of agent, user
model and discriminator for any number of sequences) from Python: a batch of sessions is
generated with one `session.run` per time step; then every (session, position) prefix is
continued by N rollouts, all of them in one batch, and `q_D(t)` is the mean of D over the
completed rollouts (D of the session itself at the last position). D's logit is a masked mean
of per-step terms, so a prefix's D state and partial sum are carried into its continuations
instead of re-reading the prefix. The first step of a prefix's rollouts is sampled in the same
`session.run` as the main step that reaches the prefix (`spawn`), from the LSTM outputs that run
computed, so no [rows, V] logits ever leave the graph.

The reference implementation's one-sequence-at-a-time loop, for the benchmark and the
equivalence tests, is `irecgan.training.reference_generator.ReferenceGenerator`.
"""
import numpy as np

from irecgan.data.types import encoded
from irecgan.data.vocab import EOS
from irecgan.models.step_graph import StepGraph
from irecgan.numeric import new_seed, sigmoid


def generation_cap(max_len, data):
    """The longest generated session in clicks: `max_len`, or for 0 (the default) 2 *
    floor(the training data's mean session length), at least 2 (SPEC 4)."""
    return max_len or max(2, 2 * int(data.mean_length))


def take_states(states, index):
    return [[a[index] for a in flat] for flat in states]


def concat_states(chunks):
    """Concatenate lists of per-model flat state arrays along rows."""
    return [[np.concatenate([c[m][j] for c in chunks]) for j in range(len(chunks[0][m]))]
            for m in range(len(chunks[0]))]


def merge_acts(acts):
    """Concatenate act-output dicts along rows."""
    return dict((k, np.concatenate([a[k] for a in acts])) for k in acts[0])


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
