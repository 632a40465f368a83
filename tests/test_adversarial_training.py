"""IRecGAN's adversarial phase: q_D reaches the A and U updates, D's data and labels, D's
held-out measurement, the reference loop end to end with a kill-and-resume, the knobs."""
import numpy as np
import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.batching import discounted_returns
from irecgan.data.dataset import purchase_rate
from irecgan.data.types import encoded
from irecgan.evaluation.metrics import roc_auc
from irecgan.training.adversarial import AdversarialTraining, plan

from test_adversarial import _config, _metrics, _run_killed_at, sim_data  # noqa: F401


class Capture(object):
    """Wraps a tf.Session: records (fetches, feed, the sessions of the last batch made)."""

    def __init__(self, session, trainer):
        self.session = session
        self.trainer = trainer
        self.calls = []

    def run(self, fetches, feed=None):
        self.calls.append((fetches, dict(feed or {}), self.trainer.last_chunk))
        return self.session.run(fetches, feed)


@pytest.fixture
def captured(monkeypatch):
    """Every AdversarialTraining made in the test records its session.run calls, each with the
    sessions its last batch was made of."""
    made = []
    original = AdversarialTraining.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        maker = self.batch_maker
        self.last_chunk = None

        def batch_maker(chunk, rng):
            self.last_chunk = list(chunk)
            return maker(chunk, rng)
        self.batch_maker = batch_maker
        self.session = Capture(self.session, self)
        made.append(self)
    monkeypatch.setattr(AdversarialTraining, "__init__", init)
    return made


def _fetches_op(fetches, op):
    return isinstance(fetches, (list, tuple)) and any(f is op for f in fetches)


def _expected_returns(session, gamma=0.9, lambda_r=3.0):
    """R_t of one session from its purchases and q_D, recomputed in numpy (SPEC 2.4)."""
    L = len(session.clicks)
    reward = np.array([1.0 + lambda_r * p for p in session.purchases[1:]] + [0.0])
    q = np.ones(L) if session.q_d is None else np.array(session.q_d)
    return discounted_returns(reward[None], q[None], np.ones((1, L)), gamma)[0]


def _update_calls(adv):
    """(train ids, the agent's update calls, U's adversarial update calls) of a captured run."""
    models = adv.models
    calls = adv.session.calls
    return (set(id(s) for s in adv.data.train),
            [c for c in calls if _fetches_op(c[0], models.agent.trainer.train_op)],
            [c for c in calls if _fetches_op(c[0], models.user.adv.train_op)])


@pytest.mark.parametrize("method", ["irecgan", "irecgan_nod"])
def test_q_d_reaches_the_agent_and_user_updates(sim_data, tmp_path, captured, method):
    config = _config(sim_data, method, adv_epochs=1)
    experiment.run(str(tmp_path / "r"), config, show_progress=False, log=lambda msg: None)
    adv = captured[0]
    models = adv.models
    train_ids, agent_calls, user_calls = _update_calls(adv)
    assert agent_calls and user_calls
    generated_rows, q_below_one = 0, 0
    for _, feed, chunk in agent_calls:
        returns = feed[models.agent.returns]
        assert feed[models.agent.trainer.loss_scale] > 0
        for row, s in enumerate(chunk):
            L = len(s.clicks)
            np.testing.assert_allclose(returns[row, :L], _expected_returns(s), rtol=1e-5,
                                       atol=1e-6)
            if id(s) not in train_ids:
                generated_rows += 1
                if method == "irecgan":
                    assert s.q_d is not None and all(0.0 < q < 1.0 for q in s.q_d)
                    q_below_one += 1
                else:
                    assert s.q_d is None  # irecgan_nod: q_D = 1
    assert generated_rows > 0
    assert (q_below_one > 0) == (method == "irecgan")
    for _, feed, chunk in user_calls:  # U's adversarial loss weighs positions by q_D
        q_fed = feed[models.user.q_d]
        for row, s in enumerate(chunk):
            expected = np.ones(len(s.clicks)) if s.q_d is None else s.q_d
            np.testing.assert_allclose(q_fed[row, :len(s.clicks)], expected, rtol=1e-6)
    # the share of the REINFORCE weight on generated sessions is logged per epoch
    record = [m for m in _metrics(str(tmp_path / "r")) if m["phase"] == "adversarial"][0]
    assert 0.0 < record["gen_weight_share"] < 1.0


def test_without_agent_q_d_only_u_sees_q_d(sim_data, tmp_path, captured):
    # the ablation agent_q_d=False: the agent's returns on generated sessions carry no q_D
    # (q_D = 1, as irecgan_nod's), while U's adversarial update still weighs them by q_D
    config = _config(sim_data, "irecgan", adv_epochs=1, agent_q_d=False)
    experiment.run(str(tmp_path / "r"), config, show_progress=False, log=lambda msg: None)
    adv = captured[0]
    models = adv.models
    train_ids, agent_calls, user_calls = _update_calls(adv)
    generated = 0
    for _, feed, chunk in agent_calls:
        returns = feed[models.agent.returns]
        for row, s in enumerate(chunk):
            assert s.q_d is None
            generated += id(s) not in train_ids
            np.testing.assert_allclose(returns[row, :len(s.clicks)], _expected_returns(s),
                                       rtol=1e-5, atol=1e-6)
    assert generated > 0
    fed = [feed[models.user.q_d][row, :len(s.clicks)] for _, feed, chunk in user_calls
           for row, s in enumerate(chunk)]
    assert fed and all(0.0 < q < 1.0 for f in fed for q in f)


def test_authors_d_epoch_sees_every_training_session_once_with_its_labels(
        sim_data, tmp_path, captured):
    config = _config(sim_data, "irecgan", adv_epochs=1, d_epochs=2, d_pretrain_sessions=10)
    experiment.run(str(tmp_path / "r"), config, show_progress=False, log=lambda msg: None)
    adv = captured[0]
    d = adv.models.disc
    train_ids = set(id(s) for s in adv.data.train)
    d_calls = [c for c in adv.session.calls if _fetches_op(c[0], d.trainer.train_op)]
    size = config["batch_size"]
    per_epoch = -(-len(adv.data.train) // size)
    # D pretraining and one d-step, 2 epochs each
    assert len(d_calls) == 2 * 2 * per_epoch
    for start in range(0, len(d_calls), per_epoch):
        seen = []
        for _, feed, chunk in d_calls[start:start + per_epoch]:
            labels = feed[d.labels]
            real = [id(s) in train_ids for s in chunk]
            np.testing.assert_array_equal(labels, np.array(real, np.float32))
            assert sum(real) == len(real) - sum(real)  # as many generated as real
            seen += [id(s) for s in chunk if id(s) in train_ids]
        assert sorted(seen) == sorted(train_ids)  # every training session once per epoch
    records = _metrics(str(tmp_path / "r"))
    pre = [m for m in records if m["phase"] == "d_pretrain"][0]
    assert pre["d_updates"] == 2 * per_epoch and pre["sessions"] == 10
    for rec in (pre, [m for m in records if m["phase"] == "adversarial"][0]):
        assert 0.0 <= rec["d_heldout_accuracy"] <= 1.0
        assert 0.0 <= rec["d_heldout_auc"] <= 1.0


def test_m_d_data_trains_on_m_against_m(sim_data, tmp_path, captured):
    config = _config(sim_data, "irecgan", adv_epochs=1, d_data="m", d_epochs=1)
    experiment.run(str(tmp_path / "r"), config, show_progress=False, log=lambda msg: None)
    adv = captured[0]
    d = adv.models.disc
    d_calls = [c for c in adv.session.calls if _fetches_op(c[0], d.trainer.train_op)]
    m, n_pre = config["gen_sessions"], config["d_pretrain_sessions"]
    # D pretraining: n_pre generated vs n_pre offline (32 sessions: 2 batches of 16); the
    # d-step: m vs m (16 sessions: 1 batch)
    assert (n_pre, m, config["batch_size"]) == (16, 8, 16)
    assert len(d_calls) == 3
    train_ids = set(id(s) for s in adv.data.train)
    labels = np.concatenate([feed[d.labels] for _, feed, _ in d_calls])
    real = np.array([id(s) in train_ids for _, _, chunk in d_calls for s in chunk])
    np.testing.assert_array_equal(labels, real.astype(np.float32))
    assert real[:32].sum() == 16 and real[32:].sum() == 8


def test_roc_auc_hand_computed():
    # positives 0.35, 0.8; negatives 0.1, 0.4: pairs (0.35 > 0.1), (0.35 < 0.4), (0.8 > both)
    # -> 3 of 4 = 0.75
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    assert roc_auc([0.5, 0.5], [1, 0]) == 0.5           # a tie counts 1/2
    assert roc_auc([0.9, 0.1], [1, 0]) == 1.0
    assert roc_auc([0.9, 0.1], [0, 1]) == 0.0
    assert roc_auc([0.3, 0.2], [1, 1]) == 0.5           # one class only


def test_reference_plan_freezes_u_without_d():
    units = plan("reference", epochs=1, use_disc=False)
    assert [u[0] for u in units] == ["ref_a"] * 9 + ["eval"]


def test_reference_schedule_runs_and_resumes(sim_data, tmp_path, monkeypatch, captured):
    config = _config(sim_data, "irecgan", schedule="reference", adv_epochs=1, d_epochs=1,
                     d_pretrain_sessions=12, pool_size=20)
    straight = str(tmp_path / "straight")
    expected = experiment.run(straight, config, show_progress=False, log=lambda msg: None)
    adv = captured[0]
    a = adv.models.agent
    train_ids = set(id(s) for s in adv.data.train)
    agent_calls = [c for c in adv.session.calls if _fetches_op(c[0], a.trainer.train_op)]
    # each agent epoch: the offline set first, then the pool (generated sessions only)
    kinds = [all(id(s) in train_ids for s in chunk) for _, _, chunk in agent_calls]
    pure_generated = [not any(id(s) in train_ids for s in chunk) for _, _, chunk in agent_calls]
    assert all(k or g for k, g in zip(kinds, pure_generated))
    per_offline = -(-len(adv.data.train) // config["batch_size"])
    assert kinds[:per_offline] == [True] * per_offline and not kinds[per_offline]
    records = _metrics(straight)
    pre = [m for m in records if m["phase"] == "d_pretrain"][0]
    assert pre["sessions"] == 12
    adv_rec = [m for m in records if m["phase"] == "adversarial"][0]
    assert 0.0 < adv_rec["gen_weight_share"] < 1.0
    # saves: 1 agent epoch, 1 user epoch, then one per unit: d_pretrain (3), ref_a (4), ...
    for kill_at in (4, 8):
        run_dir = str(tmp_path / ("killed_%d" % kill_at))
        _run_killed_at(run_dir, config, kill_at, monkeypatch)
        resumed = experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
        assert _metrics(run_dir) == records, kill_at
        assert resumed["offline"] == expected["offline"]
        assert resumed["online"] == expected["online"]


def test_offline_ratio_accepts_fractions(sim_data):
    config = _config(sim_data, "irecgan", offline_ratio="0.1")
    assert config["offline_ratio"] == 0.1

    class Stub(object):
        offline_ratio = config["offline_ratio"]
    assert AdversarialTraining.n_offline(Stub(), 200) == 20
    Stub.offline_ratio = 10
    assert AdversarialTraining.n_offline(Stub(), 200) == 2000
    with pytest.raises(experiment.UserError):
        _config(sim_data, "irecgan", offline_ratio="many")


def test_purchase_rate_and_auto_purchase_weight():
    # positions: 3 + 2 = 5; purchase labels: steps 1.. of each session: [1, 0] and [1] -> 2
    sessions = [encoded([4, 5, 6], [[], [5], [6]], [1, 1, 0]),
                encoded([7, 8], [[], [8]], [0, 1])]
    assert purchase_rate(sessions) == pytest.approx(2 / 5.0)

    class Data(object):
        purchase_rate = 0.25
    config = {"purchase_weight": "auto"}
    assert experiment.purchase_weight(config, Data()) == pytest.approx(3.0)   # 0.75 / 0.25
    assert experiment.purchase_weight({"purchase_weight": "reference"}, Data()) == \
        pytest.approx(2 ** 5.3)
    assert experiment.purchase_weight({"purchase_weight": "7.5"}, Data()) == 7.5
    Data.purchase_rate = 0.0
    assert experiment.purchase_weight(config, Data()) == 1.0


def test_auto_purchase_weight_reaches_the_model(sim_data, tmp_path):
    log, params = sim_data
    # the MDP log has no purchases: the head is off; write a log with purchases
    from irecgan.data.logfile import read_log, write_sessions
    sessions, _ = read_log(log)
    bought = [s._replace(purchases=[int(i % 3 == 1) for i in range(len(s.purchases))])
              for s in sessions]
    path = str(tmp_path / "bought.log")
    write_sessions(path, bought)
    config = _config((path, params), "irecgan_nod", adv_epochs=1, purchase_weight="auto",
                     agent_epochs=0, user_epochs=0)
    results = experiment.run(str(tmp_path / "r"), config, show_progress=False,
                             log=lambda msg: None)
    p = results["data"]["purchase_rate"]
    assert 0 < p < 1
    assert results["purchase_weight"] == pytest.approx((1 - p) / p)
    record = [m for m in _metrics(str(tmp_path / "r")) if m["phase"] == "adversarial"][0]
    assert record["log_purchase_rate"] == pytest.approx(p)
    assert 0.0 <= record["gen_purchase_rate"] <= 1.0


def test_d_trained_against_copies_of_real_sessions_stays_at_chance():
    """Generated sessions that are copies of real ones (carrying the end list a generated
    session has) reach D exactly like real ones (SPEC 2.4, 3.3), so D trained to separate them
    learns nothing that holds on held-out sessions. If the end step were built from the
    generated session's end list, D would separate them by that alone."""
    from irecgan.data.vocab import Vocabulary
    from irecgan.models.graph import ModelGraph
    from irecgan.sim import mdp as mdp_sim
    from irecgan.tfcompat import tf
    from irecgan.training.offline import BatchMaker
    mdp = mdp_sim.MDP.random(np.random.RandomState(1))
    rng = np.random.RandomState(5)
    sessions, _ = mdp_sim.generate_log(mdp, mdp_sim.logging_policy(mdp, "random", rng), 400,
                                       rng)
    vocab = Vocabulary.numeric(50)
    encoded_sessions = vocab.encode_sessions(sessions)

    def copy(s):  # a "generated" twin: the same steps, plus the list it ended on
        return s._replace(end_list=list(s.rec_lists[-1]))
    train, held = encoded_sessions[:200], encoded_sessions[200:]
    models = ModelGraph(vocab.size, embed_dim=8, hidden=16, layers=1, seed=0, disc_lr=1e-2,
                        build=("discriminator",))
    d = models.disc
    maker = BatchMaker(vocab.size)
    rng = np.random.RandomState(0)
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        for step in range(150):
            real = [train[i] for i in rng.choice(len(train), 16, replace=False)]
            fake = [copy(train[i]) for i in rng.choice(len(train), 16, replace=False)]
            batch = maker(real + fake, rng)
            sess.run(d.trainer.train_op, models.disc_feed(batch, [1.0] * 16 + [0.0] * 16))
        half = len(held) // 2
        batch = maker(held[:half] + [copy(s) for s in held[half:]], rng)
        probs = sess.run(d.prob, models.disc_feed(batch, 0.0))
    labels = [1] * half + [0] * (len(held) - half)
    assert abs(roc_auc(probs, labels) - 0.5) < 0.15


def test_user_learning_rate_decays_when_an_epoch_loss_exceeds_the_previous_three(
        sim_data, tmp_path, monkeypatch):
    # user pretraining losses 3, 2, 1, 5, 4: epoch 4 (5 > max(3, 2, 1)) decays; epoch 5
    # (4 < max(2, 1, 5)) does not -> lr = 5e-4 * 0.95
    from irecgan.training import pretrain
    losses = iter([3.0, 2.0, 1.0, 5.0, 4.0])
    real = pretrain.run_epoch

    def run_epoch(session, sessions, batch_size, batch_maker, feed_fn, fetches, rng,
                  train_op=None, **kwargs):
        out = real(session, sessions, batch_size, batch_maker, feed_fn, fetches, rng,
                   train_op=train_op, **kwargs)
        if train_op is not None and "user" in train_op.name:
            out["loss"] = next(losses)
        return out
    monkeypatch.setattr(pretrain, "run_epoch", run_epoch)
    config = _config(sim_data, "irecgan_nod", adv_epochs=0, user_epochs=5)
    run_dir = str(tmp_path / "r")
    experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    records = [m for m in _metrics(run_dir) if m["phase"] == "user"]
    assert [m["lr_decayed"] for m in records] == [False, False, False, True, False]
    data, models, runner, _ = experiment.open_run(run_dir, config, read_only=True)
    try:
        lr = runner.session.run(models.user.mle.learning_rate)
    finally:
        runner.close()
    assert lr == pytest.approx(5e-4 * 0.95, rel=1e-6)


def test_agent_policy_maps_raw_ids_to_the_vocabulary_and_back():
    # a vocabulary whose indices differ from the raw ids: the policy must encode histories
    # with it and decode its top-k back to raw ids
    from irecgan.data.vocab import Vocabulary
    from irecgan.evaluation.agent_policy import AgentPolicy
    from irecgan.models.graph import ModelGraph
    from irecgan.tfcompat import tf
    vocab = Vocabulary(["30", "10", "20", "40", "50"])   # "30" -> 4, "10" -> 5, ...
    models = ModelGraph(vocab.size, embed_dim=4, hidden=8, layers=1, k=2, seed=0,
                        build=("agent",))
    with models.graph.as_default():
        bias = [v for v in models.scope_vars["agent"] if "policy/bias" in v.name][0]
        # the policy's output bias dominates: index 8 ("50") then index 5 ("10")
        set_bias = tf.assign(bias, [0, 0, 0, 0, 1, 50, 2, 3, 100])
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        sess.run(set_bias)
        policy = AgentPolicy(models, sess, vocab)
        top = policy([[30, 10], [20]], [0, 0])
        a = models.agent
        clicks_seen = []
        real_run = sess.run

        def spy(fetches, feed=None):
            if feed and a.clicks in feed:
                clicks_seen.append(np.array(feed[a.clicks]))
            return real_run(fetches, feed)
        sess.run = spy
        policy([[30, 10], [20]], [0, 0])
    np.testing.assert_array_equal(top, [[50, 10], [50, 10]])
    np.testing.assert_array_equal(clicks_seen[0], [[4, 5, 0], [6, 0, 0]])


def test_lstm_learns_the_max_policy(tmp_path):
    """Any learning at all: next-click MLE on a log of the `max` logging policy (top 10 by true
    reward) recommends, greedily, lists that hold far more of each state's 10 best items than
    random lists (coverage@10 of a random list: 10 / 50 = 0.2)."""
    from irecgan.data.logfile import write_sessions
    from irecgan.sim import mdp as mdp_sim
    mdp = mdp_sim.MDP.random(np.random.RandomState(1))
    rng = np.random.RandomState(2)
    sessions, _ = mdp_sim.generate_log(mdp, mdp_sim.logging_policy(mdp, "max", rng), 2000, rng)
    log = str(tmp_path / "max.log")
    write_sessions(log, sessions)
    params = str(tmp_path / "mdp.npz")
    mdp.save(params)
    config = resolve(dict(method="lstm", data=log, env_params=params, n_items=50,
                          seed=1, embed_dim=16, hidden=32, layers=1, batch_size=32,
                          agent_epochs=4, online_sessions=300, online_every=0,
                          threads=1, agent_lr=3e-3))
    results = experiment.run(str(tmp_path / "r"), config, show_progress=False,
                             log=lambda msg: None)
    assert results["online"]["coverage@10"] > 0.5
