"""The three models in one graph: shapes, gradient isolation, distributions, learning, seeds."""
import numpy as np
import pytest

from irecgan.models.agent import reinforce_loss
from irecgan.models.common import masked_log_softmax
from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import tf

V = 24  # 4 specials + 20 items
TINY = dict(embed_dim=6, hidden=8, layers=2, k=3)


def hand_batch(rng, purchase=False):
    """Two sessions (lengths 3 and 2), candidate lists of up to 5 with padding in session 2."""
    B, n, K = 2, 3, 5
    clicks = rng.randint(4, V, (B, n + 1)).astype(np.int32)
    clicks[0, 3] = 3                   # _EOS after 3 clicks
    clicks[1, 2], clicks[1, 3] = 3, 0  # _EOS after 2 clicks, then _PAD
    rec_lists = rng.randint(4, V, (B, n, K)).astype(np.int32)
    rec_mask = np.ones((B, n, K), np.float32)
    rec_mask[1, :, 3:] = 0.0           # session 2 shows 3 candidates
    rec_lists[1, :, 3:] = 0
    rec_mask[1, 2] = 0.0               # padding position
    target_index = rng.randint(0, 3, (B, n)).astype(np.int32)
    mask = np.array([[1, 1, 1], [1, 1, 0]], np.float32)
    p = np.zeros((B, n), np.int32)
    if purchase:
        p[0, 0] = 1
    return dict(clicks=clicks, lengths=np.array([3, 2], np.int32), mask=mask,
                rec_lists=rec_lists, rec_mask=rec_mask, target_index=target_index,
                purchase=p, q_d=np.array([[0.5, 1.0, 0.2], [1.0, 0.3, 0.0]], np.float32),
                returns=np.array([[2.0, 1.0, 0.5], [1.5, 1.0, 0.0]], np.float32))


def full_feed(models, batch):
    feed = {}
    feed.update(models.agent_feed(batch))
    feed.update(models.user_feed(batch))
    feed.update(models.disc_feed(batch, 1.0))
    return feed


@pytest.fixture(scope="module")
def models():
    return ModelGraph(V, purchase_head=True, seed=3, **TINY)


def test_static_shapes_keep_none_batch_and_time(models):
    assert models.agent.logits.shape.as_list() == [None, None, V]
    assert models.agent.cand_probs.shape.as_list() == [None, None, None]
    assert models.user.click_log_probs.shape.as_list() == [None, None, None]
    assert models.user.click_nll.shape.as_list() == [None, None]
    assert models.user.purchase_prob.shape.as_list() == [None, None]
    assert models.disc.terms.shape.as_list() == [None, None]
    assert models.disc.prob.shape.as_list() == [None]
    for loss in (models.agent.loss, models.user.mle_loss, models.user.adv_loss, models.disc.loss):
        assert loss.shape.as_list() == []


def test_variable_scopes_are_the_checkpoint_format(models):
    for scope, vars_ in models.scope_vars.items():
        assert vars_ and all(v.name.startswith(scope + "/") for v in vars_)
    all_vars = set(v.name for vs in models.scope_vars.values() for v in vs)
    with models.graph.as_default():
        assert all_vars == set(v.name for v in tf.global_variables())


def test_each_loss_sends_gradient_only_into_its_own_scope(models):
    losses = {"agent": [models.agent.loss], "user": [models.user.mle_loss, models.user.adv_loss],
              "discriminator": [models.disc.loss]}
    trainables = {"agent": models.agent.variables, "user": models.user.variables,
                  "discriminator": models.disc.variables}
    with models.graph.as_default():
        for owner, owner_losses in losses.items():
            for loss in owner_losses:
                for scope, variables in trainables.items():
                    grads = tf.gradients(loss, variables)
                    if scope == owner:
                        # its own embedding and LSTM do receive gradient
                        assert grads[0] is not None and grads[1] is not None
                    else:
                        assert all(g is None for g in grads), (owner, scope)


def test_purchase_head_receives_no_gradient_from_state_or_target_embedding(models):
    u = models.user
    with models.graph.as_default():
        purchase_only = tf.reduce_sum(u.purchase_nll)
        grads = tf.gradients(purchase_only, [u.encoder.embedding] + u.encoder.cell.variables)
    assert all(g is None for g in grads)


def test_click_distribution_sums_to_one_over_real_candidates(models):
    batch = hand_batch(np.random.RandomState(0))
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        probs = sess.run(models.user.click_probs, models.user_feed(batch))
    real = batch["rec_mask"].sum(-1) > 0
    np.testing.assert_allclose(probs.sum(-1)[real], 1.0, atol=1e-5)
    assert np.all(probs[batch["rec_mask"] == 0] == 0.0)
    assert np.all(probs[batch["rec_mask"] == 1] > 0.0)


def test_masked_log_softmax_matches_numpy_and_never_nans():
    logits = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]], np.float32)
    mask = np.array([[1, 1, 0], [0, 0, 0]], np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        out = sess.run(masked_log_softmax(tf.constant(logits), tf.constant(mask)))
    # row 0: softmax over [1, 2] only: log(e^1 / (e^1 + e^2)) = -1.3132617, log(e^2/...) = -0.3132617
    np.testing.assert_allclose(out[0, :2], [-1.3132617, -0.3132617], atol=1e-6)
    assert np.exp(out[0, 2]) == 0.0
    assert np.all(np.isfinite(out[1]))  # an all-masked (padding) row stays finite


def test_reinforce_loss_hand_computed():
    nll = np.array([[1.0, 2.0, 4.0], [0.5, 3.0, 9.0]], np.float32)
    w = np.array([[2.0, 1.0, 0.5], [1.0, 2.0, 7.0]], np.float32)
    mask = np.array([[1, 1, 1], [1, 1, 0]], np.float32)
    # (2*1 + 1*2 + 0.5*4 + 1*0.5 + 2*3) / 5 = (2 + 2 + 2 + 0.5 + 6) / 5 = 2.5
    with tf.Graph().as_default(), tf.Session() as sess:
        loss = sess.run(reinforce_loss(tf.constant(nll), tf.constant(w), tf.constant(mask)))
    assert abs(loss - 2.5) < 1e-6


def test_agent_loss_is_return_weighted_nll_over_real_positions(models):
    batch = hand_batch(np.random.RandomState(4))
    a = models.agent
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        log_pi, loss = sess.run([a.log_pi, a.loss], models.agent_feed(batch))
    targets = batch["clicks"][:, 1:]
    nll = -np.take_along_axis(log_pi, targets[..., None], -1)[..., 0]
    m = batch["mask"]
    # sum_t R_t * nll_t over the 5 real positions / 5; padding (session 2, t = 2) left out
    expected = (batch["returns"] * nll * m).sum() / m.sum()
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_user_losses_match_numpy_recomputation(models):
    batch = hand_batch(np.random.RandomState(1), purchase=True)
    u = models.user
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        logp, pprob, mle, adv = sess.run(
            [u.click_log_probs, u.purchase_prob, u.mle_loss, u.adv_loss], models.user_feed(batch))
    click_nll = -np.take_along_axis(logp, batch["target_index"][..., None], -1)[..., 0]
    p = batch["purchase"]
    # class-weighted purchase NLL: (p + 1) ** 5.3 * -log P(p)
    pur_nll = (p + 1.0) ** 5.3 * -np.log(np.where(p == 1, pprob, 1.0 - pprob))
    m = batch["mask"]
    np.testing.assert_allclose(mle, ((click_nll + pur_nll) * m).sum() / m.sum(), rtol=1e-5)
    np.testing.assert_allclose(adv, (batch["q_d"] * (click_nll + pur_nll) * m).sum() / m.sum(),
                               rtol=1e-5)


def test_discriminator_logit_is_masked_mean_of_terms(models):
    batch = hand_batch(np.random.RandomState(2))
    d = models.disc
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        terms, logit, prob = sess.run([d.terms, d.logit, d.prob], models.disc_feed(batch, 0.0))
    m = batch["mask"]
    np.testing.assert_allclose(logit, (terms * m).sum(1) / m.sum(1), rtol=1e-5)
    np.testing.assert_allclose(prob, 1.0 / (1.0 + np.exp(-logit)), rtol=1e-5)


def _train_losses(seed, steps, purchase_head=True):
    models = ModelGraph(V, purchase_head=purchase_head, seed=seed, **TINY)
    batch = hand_batch(np.random.RandomState(5), purchase=purchase_head)
    feed = full_feed(models, batch)
    losses = []
    ops = [models.agent.trainer.train_op, models.user.mle.train_op, models.disc.trainer.train_op]
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    with tf.Session(graph=models.graph, config=config) as sess:
        sess.run(models.init_op)
        for _ in range(steps):
            values = sess.run([models.agent.loss, models.user.mle_loss, models.disc.loss] + ops,
                              feed)
            losses.append(values[:3])
    return np.array(losses)


def test_training_lowers_every_loss_on_a_fixed_batch():
    losses = _train_losses(seed=0, steps=60)
    assert np.all(losses[-1] < losses[0]), losses[[0, -1]]


def test_same_seed_same_losses_over_20_steps_and_other_seed_differs():
    a = _train_losses(seed=7, steps=20)
    b = _train_losses(seed=7, steps=20)
    c = _train_losses(seed=8, steps=20)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_purchase_head_off_has_zero_purchase_loss_and_unit_weights():
    models = ModelGraph(V, purchase_head=False, seed=0, **TINY)
    batch = hand_batch(np.random.RandomState(3))
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        pnll = sess.run(models.user.purchase_nll, models.user_feed(batch))
    assert np.all(pnll == 0.0)
    assert not hasattr(models.disc, "w_p")
    assert not any("purchase" in v.name for v in models.scope_vars["user"])


def test_agent_only_graph_for_baselines():
    models = ModelGraph(V, seed=0, build=("agent",), **TINY)
    assert models.user is None and models.disc is None
    assert list(models.scope_vars) == ["agent"]
