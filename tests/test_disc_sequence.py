"""D's heads (issue 22): the sequence head (`d_head=sequence`) beside the authors' (SPEC 3.3).

Both score a session by a masked mean of per-position terms; the generation engine advances D
one click at a time and carries a prefix's state and partial sum into its rollouts, so the
one-step path must give the batch graph's logit. The sequence head must also see what the
authors' cannot (the rank of the click in the list) and no more than the data hold (two halves
of one log stay apart only by chance). Tiny sizes, seeded.
"""
import json
import os
import sys
import threading

import numpy as np
import pytest

from irecgan.data.batching import make_batch
from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, N_SPECIAL
from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import flatten_state, tf
from irecgan.evaluation.metrics import roc_auc
from irecgan.training.generation import Generator
from tiny_logs import train_tiny, write_mdp_log

V = 54          # 4 specials + 50 items
K = 4
TINY = dict(embed_dim=6, hidden=8, layers=2, k=K)
TOL = 1e-5
HEADS = ("authors", "sequence")


def random_sessions(rng, n, ranks=None, buy=0.3, min_len=1, max_len=6):
    """`n` sessions of min_len..max_len clicks over lists of K distinct items; the click of a
    step is at a rank drawn from `ranks` (probabilities over the K slots; uniform when None),
    and bought with probability `buy` (the first click never)."""
    out = []
    for _ in range(n):
        length = rng.randint(min_len, max_len + 1)
        clicks, lists, bought = [int(rng.randint(N_SPECIAL, V))], [[]], [0]
        for _ in range(length - 1):
            shown = (rng.permutation(V - N_SPECIAL)[:K] + N_SPECIAL).tolist()
            clicks.append(shown[rng.choice(K, p=ranks)])
            lists.append(shown)
            bought.append(int(rng.rand() < buy))
        out.append(encoded(clicks, lists, bought))
    return out


class Stepper(object):
    """D's one-step path (`step_term`, as models.step_graph.StepGraph uses it) beside its batch graph."""

    def __init__(self, head, seed=5):
        self.models = ModelGraph(V, purchase_head=True, seed=seed, d_head=head,
                                 build=("discriminator",), **TINY)
        d = self.models.disc
        with self.models.graph.as_default():
            self.click = tf.placeholder(tf.int32, [None])
            self.state = d.encoder.cell.state_placeholders("test_state")
            self.cands = tf.placeholder(tf.int32, [None, None])
            self.cand_mask = tf.placeholder(tf.float32, [None, None])
            self.target = tf.placeholder(tf.int32, [None])
            self.purchase = tf.placeholder(tf.int32, [None])
            self.click_purchase = tf.placeholder(tf.int32, [None])
            self.position = tf.placeholder(tf.int32, [None])
            self.term, new_state = d.step_term(self.click, self.state, self.cands, self.cand_mask,
                                               self.target, self.purchase, self.click_purchase,
                                               self.position)
            self.new_state = flatten_state(new_state)
        self.sess = tf.Session(graph=self.models.graph)
        self.sess.run(self.models.init_op)
        if head == "authors":   # w_p starts near 0 for some seeds: make purchases count
            d.w_p.load(0.8, self.sess)
            d.b_p.load(0.6, self.sess)
        # every embedding row (specials too) away from its initial value, so that a list or
        # an _EOS that reaches a term changes it
        table = np.random.RandomState(seed).normal(size=d.encoder.embedding.shape.as_list())
        d.encoder.embedding.load(table.astype(np.float32), self.sess)

    def batch_logit(self, batch):
        return self.sess.run(self.models.disc.logit, self.models.disc_feed(batch, 1.0))

    def zero_state(self, rows):
        return [np.zeros((rows, self.models.config["hidden"]), np.float32)
                for _ in flatten_state(self.state)]

    def step(self, state, click, cands, target, purchase, click_purchase, position):
        feed = dict(zip(flatten_state(self.state), state))
        feed.update({self.click: click, self.cands: cands,
                     self.cand_mask: (cands > 0).astype(np.float32), self.target: target,
                     self.purchase: purchase, self.click_purchase: click_purchase,
                     self.position: position})
        return self.sess.run([self.term, self.new_state], feed)

    def walk(self, batch):
        """Step D through every position of `batch`: (terms [B, n], states before each step)."""
        rows, n = batch["mask"].shape
        state, terms, before = self.zero_state(rows), np.zeros((rows, n)), []
        for t in range(n):
            bought = batch["purchase"][:, t - 1] if t else np.zeros(rows, np.int32)
            before.append(state)
            terms[:, t], state = self.step(state, batch["clicks"][:, t], batch["rec_lists"][:, t],
                                           batch["target_index"][:, t], batch["purchase"][:, t],
                                           bought, np.full(rows, t, np.int32))
        return terms, before

    def close(self):
        self.sess.close()


@pytest.fixture(scope="module")
def steppers():
    """One Stepper per head, built when first asked for."""
    built = {}

    def get(head):
        if head not in built:
            built[head] = Stepper(head)
        return built[head]
    yield get
    for s in built.values():
        s.close()


@pytest.fixture(params=HEADS)
def stepper(request, steppers):
    return steppers(request.param)


@pytest.fixture(scope="module")
def sessions():
    out = random_sessions(np.random.RandomState(3), 24)
    assert len(set(len(s.clicks) for s in out)) > 3 and any(sum(s.purchases) for s in out)
    return out


def test_step_path_equals_the_batch_logit(stepper, sessions):
    batch = make_batch(sessions, np.random.RandomState(0), V)
    terms, _ = stepper.walk(batch)
    mask = batch["mask"]
    stepped = (terms * mask).sum(1) / mask.sum(1)
    want = stepper.batch_logit(batch)
    np.testing.assert_allclose(stepped, want, atol=TOL)
    assert np.std(want) > 1e-3   # the sessions are told apart: not a constant


def test_prefix_score_equals_the_full_score_of_the_truncated_session(stepper, sessions):
    """A prefix's state and partial sum, carried from the whole session's walk, end in the
    logit of the session cut there: the prefix's clicks, its end step at position t."""
    batch = make_batch(sessions, np.random.RandomState(0), V)
    terms, before = stepper.walk(batch)
    for t in (1, 3):
        keep = [i for i, s in enumerate(sessions) if len(s.clicks) > t + 1]
        cut = [sessions[i]._replace(clicks=sessions[i].clicks[:t + 1],
                                    rec_lists=sessions[i].rec_lists[:t + 1],
                                    purchases=sessions[i].purchases[:t + 1]) for i in keep]
        short = make_batch(cut, np.random.RandomState(1), V)
        state = [a[keep] for a in before[t]]
        last, _ = stepper.step(state, short["clicks"][:, t], short["rec_lists"][:, t],
                               short["target_index"][:, t], short["purchase"][:, t],
                               short["purchase"][:, t - 1], np.full(len(keep), t, np.int32))
        prefix = (terms[keep, :t].sum(1) + last) / (t + 1.0)
        np.testing.assert_allclose(prefix, stepper.batch_logit(short), atol=TOL)


def test_sequence_head_end_step_does_not_read_the_list(steppers):
    """make_batch pads an end step with a random sample ([_EOS] + items, target index 0) and
    generation scores it on the agent's list (items + [_EOS], target index k): the sequence
    head's end-step term is the same for both, the authors' is not."""
    rng = np.random.RandomState(4)
    rows = 6
    padded = np.concatenate([np.full((rows, 1), EOS), rng.randint(N_SPECIAL, V, (rows, 7))], 1)
    shown = np.concatenate([rng.randint(N_SPECIAL, V, (rows, K)), np.full((rows, 1), EOS)], 1)
    click = rng.randint(N_SPECIAL, V, rows)
    for head in HEADS:
        s = steppers(head)
        state = [rng.normal(size=a.shape).astype(np.float32) for a in s.zero_state(rows)]
        zeros, pos = np.zeros(rows, np.int32), np.full(rows, 2, np.int32)
        a, _ = s.step(state, click, padded, zeros, zeros, zeros, pos)
        b, _ = s.step(state, click, shown, np.full(rows, K, np.int32), zeros, zeros, pos)
        if head == "sequence":
            np.testing.assert_allclose(a, b, atol=TOL)
        else:
            assert np.max(np.abs(a - b)) > 1e-3


def test_gradients_reach_every_variable_of_the_sequence_head(steppers, sessions):
    s = steppers("sequence")
    d = s.models.disc
    with s.models.graph.as_default():
        grads = tf.gradients(d.loss, d.variables)
    assert all(g is not None for g in grads)
    batch = make_batch(sessions, np.random.RandomState(0), V)
    labels = np.random.RandomState(1).randint(0, 2, len(sessions))
    values = s.sess.run(grads, s.models.disc_feed(batch, labels))
    names = [v.op.name for v in d.variables]
    # embedding, LSTM kernel and bias x 2 layers, term_hidden and term_out kernel and bias
    assert len(names) == 9, names
    for name, g in zip(names, values):
        g = g.values if hasattr(g, "values") else g   # IndexedSlices of the embedding
        assert np.abs(g).max() > 0, name


# -- what the sequence head sees ---------------------------------------------------------------
TOP = [0.7, 0.3, 0.0, 0.0]   # the "real" law: the click is one of the first two shown


def heldout_auc(real, fake, seed=0, epochs=8, n_train=200):
    """Train a tiny sequence D on the first `n_train` of `real` (label 1) and of `fake` (label
    0); its AUC on the rest (held out)."""
    models = ModelGraph(V, seed=seed, d_head="sequence", build=("discriminator",),
                        disc_lr=1e-2, embed_dim=6, hidden=8, layers=1, k=K)
    d = models.disc
    sess = tf.Session(graph=models.graph)
    sess.run(models.init_op)
    rng = np.random.RandomState(seed)
    cut_r = cut_f = n_train
    train = list(real[:cut_r]) + list(fake[:cut_f])
    labels = np.array([1.0] * cut_r + [0.0] * cut_f)
    for _ in range(epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(order), 32):
            idx = order[start:start + 32]
            batch = make_batch([train[i] for i in idx], rng, V)
            sess.run(d.trainer.train_op, models.disc_feed(batch, labels[idx]))
    test = list(real[cut_r:]) + list(fake[cut_f:])
    batch = make_batch(test, np.random.RandomState(seed + 1), V)
    scores = sess.run(d.logit, models.disc_feed(batch, 0.0))
    sess.close()
    return roc_auc(scores, [1] * (len(real) - cut_r) + [0] * (len(fake) - cut_f))


@pytest.fixture(scope="module")
def log_sessions():
    sessions = random_sessions(np.random.RandomState(21), 1000, ranks=TOP, min_len=2)
    return sessions[:500], sessions[500:]   # 200 + 300 held out each


def test_two_halves_of_one_log_stay_at_chance(log_sessions):
    auc = heldout_auc(*log_sessions)
    assert 0.4 <= auc <= 0.6, auc


def test_another_rank_law_is_told_apart(log_sessions):
    """The second half with each click moved to one of the last two ranks of its list (drawn
    uniformly): the same clicks, items, lists (as sets) and purchases, another order. (Moved to
    any rank, a session's clicks may all stay in the first two, and with 1 to 5 clicks per
    session even the Bayes-optimal held-out AUC is about 0.84.)"""
    real, other = log_sessions
    rng = np.random.RandomState(22)
    moved = []
    for s in other:
        lists = [[]]
        for click, shown in zip(s.clicks[1:], s.rec_lists[1:]):
            rest = [x for x in shown if x != click]
            at = rng.randint(K - 2, K)
            lists.append(rest[:at] + [click] + rest[at:])
        moved.append(s._replace(rec_lists=lists))
    auc = heldout_auc(real, moved)
    assert auc > 0.9, auc


# -- end to end ---------------------------------------------------------------------------------
def test_generation_scores_are_d_of_the_generated_sessions():
    """The engine feeds the sequence head each click's purchase flag and position: its q_D of
    a whole session and of every rollout equal D's batch graph on the same sessions, with
    purchases inside the sessions (which the LSTM reads)."""
    models = ModelGraph(V, purchase_head=True, seed=8, d_head="sequence", **TINY)
    sess = tf.Session(graph=models.graph)
    sess.run(models.init_op)
    table = np.random.RandomState(8).normal(size=models.disc.encoder.embedding.shape.as_list())
    models.disc.encoder.embedding.load(table.astype(np.float32), sess)
    gen = Generator(models, sess, 6, n_rollouts=3, record_rollouts=True)
    rng = np.random.RandomState(11)
    generated = gen.generate(rng.randint(N_SPECIAL, V, size=24), rng)
    assert any(sum(s.purchases[1:-1]) for s in generated)   # a bought click read by the LSTM

    def batch_d(seqs):
        batch = make_batch(seqs, np.random.RandomState(0), V)
        return sess.run(models.disc.prob, models.disc_feed(batch, 0.0))
    np.testing.assert_allclose([s.q_d[-1] for s in generated], batch_d(generated), atol=TOL)
    seqs, scores = [r[2] for r in gen.rollouts], [r[3] for r in gen.rollouts]
    np.testing.assert_allclose(scores, batch_d(seqs), atol=TOL)
    sess.close()


@pytest.fixture(scope="module")
def mdp_log(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("dseq"))


def test_a_tiny_irecgan_run_with_the_sequence_head_is_deterministic(mdp_log, tmp_path):
    """Two runs of one configuration (in parallel, as test_determinism shows that is safe):
    the same metrics.jsonl and results.json, with D's held-out AUC logged."""
    small = dict(agent_epochs=1, user_epochs=1, adv_epochs=1, online_sessions=10,
                 d_head="sequence")
    codes = {}

    def one(name):
        codes[name] = train_tiny(sys.executable, tmp_path / name, *mdp_log, **small)
    threads = [threading.Thread(target=one, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out = []
    for name in ("a", "b"):
        rc, err = codes[name]
        assert rc == 0, err[-3000:]
        with open(os.path.join(str(tmp_path / name), "config.json")) as handle:
            assert json.load(handle)["d_head"] == "sequence"
        files = {}
        for f in ("metrics.jsonl", "results.json"):
            with open(os.path.join(str(tmp_path / name), f), "rb") as handle:
                files[f] = handle.read()
        out.append(files)
    assert out[0] == out[1]
    records = [json.loads(line) for line in out[0]["metrics.jsonl"].splitlines()]
    aucs = [r["d_heldout_auc"] for r in records if "d_heldout_auc" in r]
    assert aucs and all(0.0 <= x <= 1.0 for x in aucs)
    assert "offline" in json.loads(out[0]["results.json"].decode("utf-8"))
