"""The models' heads against numpy recomputed from the fetched variables, and the samplers'
distributions (chi-square over many stateless seeds)."""
import numpy as np
import pytest

from irecgan.models import common
from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import tf

from test_models import TINY, V, hand_batch

# chi-square critical values at p = 0.001 (df -> value), from the chi-square table
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 7: 24.32, 9: 27.88, 11: 31.26}


def chi_square(counts, probs):
    counts = np.asarray(counts, np.float64)
    expected = counts.sum() * np.asarray(probs, np.float64)
    return float(((counts - expected) ** 2 / expected).sum())


def build_with_table_path(path, **kwargs):
    """A ModelGraph whose candidate scores (common.candidate_dots) take `path`: "whole" (the
    whole embedding table scored, candidates picked: the simulators' small vocabularies) or
    "gathered" (the candidates' rows gathered: large vocabularies such as CIKM's)."""
    assert V <= common.SMALL_TABLE_ROWS  # the default takes "whole" here
    return ModelGraph(small_table_rows={"whole": V, "gathered": V - 1}[path], **kwargs)


@pytest.fixture(scope="module", params=["whole", "gathered"])
def fetched(request):
    """One tiny graph with a purchase head, its variables and the per-position tensors (once
    per candidate-scoring path)."""
    models = build_with_table_path(request.param, vocab_size=V, purchase_head=True, seed=11,
                                   **TINY)
    batch = hand_batch(np.random.RandomState(4), purchase=True)
    batch["purchase"][1, 1] = 1
    sess = tf.Session(graph=models.graph)
    sess.run(models.init_op)
    d, u, a = models.disc, models.user, models.agent
    variables = {
        "d_emb": d.encoder.embedding, "wq": d.query.kernel, "bq": d.query.bias,
        "wc": d.cand.kernel, "bc": d.cand.bias, "wp": d.w_p, "bp": d.b_p,
        "u_emb": u.encoder.embedding, "w_pref": u.pref_layer.kernel,
        "b_pref": u.pref_layer.bias, "w_s": u.purchase_state.kernel,
        "w_e": u.purchase_item.kernel, "w_2": u.purchase_out.kernel,
        "b_2": u.purchase_out.bias}
    values = sess.run(variables)
    feed = {}
    feed.update(models.disc_feed(batch, 1.0))
    feed.update(models.user_feed(batch))
    feed.update(models.agent_feed(batch))
    out = sess.run({"d_states": d.states, "terms": d.terms, "u_states": u.states,
                    "click_log_probs": u.click_log_probs, "purchase_prob": u.purchase_prob,
                    "purchase_nll": u.purchase_nll, "pi": tf.exp(a.log_pi),
                    "cand_probs": a.cand_probs}, feed)
    values.update(out)
    yield models, batch, values
    sess.close()


def test_discriminator_head_is_the_references(fetched):
    models, _, v = fetched
    h = models.config["hidden"]
    # hidden-sized projections with biases (SPEC 3.3)
    assert v["wq"].shape == (h, h) and v["bq"].shape == (h,)
    assert v["wc"].shape == (models.config["embed_dim"], h) and v["bc"].shape == (h,)
    # the purchase weight and bias are not the fixed 0 / 1 of a plain mean
    assert v["wp"] != 0.0 and v["bp"] != 1.0
    assert abs(v["wp"]) <= 3 ** 0.5 and abs(v["bp"]) <= 3 ** 0.5


def test_discriminator_purchase_init_is_uniform_on_plus_minus_sqrt3():
    draws = []
    for seed in range(30):
        models = ModelGraph(V, purchase_head=True, seed=seed, build=("discriminator",),
                            **TINY)
        with tf.Session(graph=models.graph) as sess:
            sess.run(models.init_op)
            draws += sess.run([models.disc.w_p, models.disc.b_p])
    draws = np.array(draws)
    assert np.all(np.abs(draws) <= 3 ** 0.5)
    # 60 draws of U(-1.732, 1.732) in 4 equal bins: chi-square with 3 degrees of freedom
    counts = np.histogram(draws, bins=4, range=(-3 ** 0.5, 3 ** 0.5))[0]
    assert chi_square(counts, [0.25] * 4) < CHI2_999[3], counts


def test_discriminator_terms_match_numpy(fetched):
    _, batch, v = fetched
    q = v["d_states"] @ v["wq"] + v["bq"]                                  # [B, n, H]
    c = v["d_emb"][batch["rec_lists"]] @ v["wc"] + v["bc"]                 # [B, n, K, H]
    scores = (c * q[:, :, None, :]).sum(-1) / 0.1
    scores = np.where(batch["rec_mask"] > 0, scores, -1e9)
    scores -= scores.max(-1, keepdims=True)
    choice = np.exp(scores)
    choice /= choice.sum(-1, keepdims=True)
    m = (choice[..., None] * c).sum(-2)
    a = np.take_along_axis(c, batch["target_index"][:, :, None, None], 2)[:, :, 0]
    w = v["wp"] * batch["purchase"] + v["bp"]
    expected = (m * a).sum(-1) * w
    real = batch["mask"] > 0
    np.testing.assert_allclose(v["terms"][real], expected[real], rtol=2e-4, atol=1e-4)


def test_user_click_logits_and_purchase_head_match_numpy(fetched):
    models, batch, v = fetched
    e = models.config["embed_dim"]
    pref = v["u_states"] @ v["w_pref"] + v["b_pref"]                       # [B, n, E]
    cand = v["u_emb"][batch["rec_lists"]]                                  # [B, n, K, E]
    logits = (cand * pref[:, :, None, :]).sum(-1) / e                      # mean over d
    logits = np.where(batch["rec_mask"] > 0, logits, -1e9)
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1,
                                                                              keepdims=True))
    logp -= logits.max(-1, keepdims=True)
    real = batch["rec_mask"] > 0
    np.testing.assert_allclose(v["click_log_probs"][real], logp[real], rtol=1e-4, atol=1e-4)
    # purchase: softmax(W_2 ((W_s s) * (W_e e_target)) + b_2)[1]
    target = v["u_emb"][batch["clicks"][:, 1:]]
    joint = (v["u_states"] @ v["w_s"]) * (target @ v["w_e"])
    z = joint @ v["w_2"] + v["b_2"]
    p_buy = 1.0 / (1.0 + np.exp(z[..., 0] - z[..., 1]))
    mask = batch["mask"] > 0
    np.testing.assert_allclose(v["purchase_prob"][mask], p_buy[mask], rtol=1e-4, atol=1e-5)
    # the purchase cross-entropy weighs a purchase label by the reference's 2 ** 5.3
    p = batch["purchase"]
    nll = np.where(p == 1, 2.0 ** 5.3 * -np.log(p_buy), -np.log(1.0 - p_buy))
    np.testing.assert_allclose(v["purchase_nll"][mask], nll[mask], rtol=1e-4)


def test_purchase_weight_is_a_constructor_argument():
    models = ModelGraph(V, purchase_head=True, seed=0, purchase_weight=3.0,
                        build=("user",), **TINY)
    batch = hand_batch(np.random.RandomState(4), purchase=True)
    u = models.user
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        prob, nll = sess.run([u.purchase_prob, u.purchase_nll], models.user_feed(batch))
    p = batch["purchase"]
    expected = np.where(p == 1, 3.0 * -np.log(prob), -np.log(1.0 - prob))
    np.testing.assert_allclose(nll, expected, rtol=1e-4)


def test_agent_candidate_probs_are_pi_gathered_at_the_candidates(fetched):
    _, batch, v = fetched
    pi = v["pi"]                                                           # [B, n, V]
    B, n, K = batch["rec_lists"].shape
    for b in range(B):
        for t in range(n):
            for j in range(K):
                assert v["cand_probs"][b, t, j] == pytest.approx(
                    pi[b, t, batch["rec_lists"][b, t, j]], rel=1e-6)


# -- samplers ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sampler_graph():
    models = ModelGraph(V, purchase_head=False, seed=0, build=("user", "agent"), k=2,
                        embed_dim=6, hidden=8, layers=1)
    with models.graph.as_default():
        log_probs = tf.placeholder(tf.float32, [None, None])
        logits = tf.placeholder(tf.float32, [None, V])
        seed = tf.placeholder(tf.int64, [2])
        click = models.user.sample_click(log_probs, seed)
        top = models.agent.recommend(logits, greedy=False, seed=seed)
    sess = tf.Session(graph=models.graph)
    yield sess, log_probs, logits, seed, click, top
    sess.close()


def test_gumbel_max_click_follows_the_click_distribution(sampler_graph):
    sess, log_probs, _, seed, click, _ = sampler_graph
    probs = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    rows = np.log(np.tile(probs, (500, 1))).astype(np.float32)
    counts = np.zeros(5)
    for s in range(20):  # 20 stateless seeds x 500 rows
        picked = sess.run(click, {log_probs: rows, seed: [s, 99]})
        counts += np.bincount(picked, minlength=5)
    assert chi_square(counts, probs) < CHI2_999[4], counts
    # the same seed draws the same clicks
    np.testing.assert_array_equal(sess.run(click, {log_probs: rows, seed: [3, 4]}),
                                  sess.run(click, {log_probs: rows, seed: [3, 4]}))


def test_gumbel_top_k_draws_without_replacement_in_proportion_to_pi(sampler_graph):
    sess, _, logits, seed, _, top = sampler_graph
    # pi over the 20 items: three heavy items and 17 light ones; specials get huge logits,
    # which must never be recommended
    item_logits = np.full(V - 4, -1.0)
    item_logits[:3] = [2.0, 1.5, 1.0]
    pi = np.exp(item_logits) / np.exp(item_logits).sum()
    row = np.concatenate([[50.0] * 4, item_logits]).astype(np.float32)
    rows = np.tile(row, (500, 1))
    first = np.zeros(4)  # first pick: item 0, 1, 2, any other
    pairs = {}
    for s in range(20):
        picked = sess.run(top, {logits: rows, seed: [s, 7]}) - 4
        assert picked.min() >= 0 and np.all(picked[:, 0] != picked[:, 1])
        for a, b in picked:
            first[min(a, 3)] += 1
            key = (min(a, b), max(a, b)) if max(a, b) < 3 else None
            pairs[key] = pairs.get(key, 0) + 1
    assert chi_square(first, [pi[0], pi[1], pi[2], 1 - pi[:3].sum()]) < CHI2_999[3], first

    # unordered pairs among the heavy items: Plackett-Luce P({a, b}) = pi_a pi_b / (1 - pi_a)
    # + pi_b pi_a / (1 - pi_b)
    def pair(a, b):
        return pi[a] * pi[b] / (1 - pi[a]) + pi[b] * pi[a] / (1 - pi[b])
    keys = [(0, 1), (0, 2), (1, 2)]
    probs = [pair(a, b) for a, b in keys]
    counts = [pairs.get(k, 0) for k in keys] + [pairs.get(None, 0)]
    assert chi_square(counts, probs + [1 - sum(probs)]) < CHI2_999[3], counts


def test_generated_purchase_is_the_half_threshold_of_the_purchase_probability():
    # StepGraph: purchase = p > 0.5 (deterministic) and never on _EOS
    from irecgan.models.step_graph import StepGraph
    models = ModelGraph(V, purchase_head=True, seed=5, build=("user", "agent"), k=3,
                        embed_dim=6, hidden=8, layers=1)
    step = StepGraph(models)
    with models.graph.as_default():
        p_buy_op = models.user.purchase_prob_for(step.user_output, step.next_click)
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        rows = 400
        rng = np.random.RandomState(0)
        click = rng.randint(4, V, rows).astype(np.int32)
        out, _, _ = step.run(sess, click, step.zero_states(rows), np.array([1, 2]),
                             np.zeros(rows, bool))
        feed = {step.click: click, step.seed: [1, 2], step.force_eos: np.zeros(rows, bool)}
        for placeholders, arrays in zip(step.in_states, step.zero_states(rows)):
            feed.update(zip(placeholders, arrays))
        p_buy = sess.run(p_buy_op, feed)
    is_item = out["next_click"] != 3
    np.testing.assert_array_equal(out["purchase"], (is_item & (p_buy > 0.5)).astype(int))
    assert 0 < out["purchase"].sum() < rows  # both outcomes occur at this initialisation


def test_loss_scale_multiplies_the_update_gradient():
    models = ModelGraph(V, seed=0, build=("agent",), **TINY)
    batch = hand_batch(np.random.RandomState(1))
    t = models.agent.trainer
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        feed = models.agent_feed(batch)
        one = sess.run(t.grad_norm, feed)
        feed[t.loss_scale] = 2.5
        scaled = sess.run(t.grad_norm, feed)
    assert scaled == pytest.approx(2.5 * one, rel=1e-5)


def test_both_candidate_paths_give_the_same_losses_and_gradients():
    # the same seed gives the same variables; D's and U's losses and their gradients with
    # respect to every variable (the embeddings and W_c, b_c among them) must agree
    batch = hand_batch(np.random.RandomState(4), purchase=True)
    batch["purchase"][1, 1] = 1
    results, initial = [], []
    for path in ("whole", "gathered"):
        models = build_with_table_path(path, vocab_size=V, purchase_head=True, seed=3,
                                       build=("user", "discriminator"), **TINY)
        with tf.Session(graph=models.graph) as sess:
            sess.run(models.init_op)
            initial.append(dict((v.op.name, sess.run(v)) for v in models.graph.get_collection(
                tf.GraphKeys.GLOBAL_VARIABLES)))
        d, u = models.disc, models.user
        with models.graph.as_default():
            grads = {"d": tf.gradients(d.loss, d.variables),
                     "u": tf.gradients(u.mle_loss, u.variables)}
            grads = dict((k, [tf.convert_to_tensor(g) for g in v]) for k, v in grads.items())
        feed = models.disc_feed(batch, np.array([1.0, 0.0], np.float32))
        feed.update(models.user_feed(batch))
        with tf.Session(graph=models.graph) as sess:
            sess.run(models.init_op)
            results.append(sess.run({"d_loss": d.loss, "u_loss": u.mle_loss,
                                     "terms": d.terms, "grads": grads}, feed))
    # the same variables first (a difference below is then one of the functions): on TF 1.15 the
    # two graphs' initial values differed before tfcompat.next_op_seed
    assert sorted(initial[0]) == sorted(initial[1])
    for name in initial[0]:
        np.testing.assert_array_equal(initial[0][name], initial[1][name], err_msg=name)
    whole, gathered = results
    assert whole["d_loss"] == pytest.approx(gathered["d_loss"], rel=1e-5)
    assert whole["u_loss"] == pytest.approx(gathered["u_loss"], rel=1e-5)
    np.testing.assert_allclose(whole["terms"], gathered["terms"], rtol=1e-4, atol=1e-5)
    for key in ("d", "u"):
        assert len(whole["grads"][key]) == len(gathered["grads"][key]) >= 5
        for g1, g2 in zip(whole["grads"][key], gathered["grads"][key]):
            assert np.abs(g1).max() > 0 or np.abs(g2).max() == 0
            np.testing.assert_allclose(g1, g2, rtol=1e-3, atol=1e-6)
