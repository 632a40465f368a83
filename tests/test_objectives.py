"""The agent's objectives beyond the paper's (issue 34, src/irecgan/models/objectives.py,
docs/OBJECTIVES.md): hand-computed formulas, gradient isolation of the heads, a two-arm bandit,
the own lists of generated sessions, the configuration, and runs that repeat, resume and
export."""
import json
import os

import numpy as np
import pytest

from irecgan.config import DEFAULTS, resolve
from irecgan.data.shown import no_own_lists, shown_lists
from irecgan.data.types import encoded
from irecgan.data.vocab import N_SPECIAL, PAD
from irecgan.errors import UserError
from irecgan.export import INFO, export_agent
from irecgan.models import objectives
from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import tf
from test_crash import Server, read_bytes
from test_models import V, hand_batch
from tiny_logs import TINY_IRECGAN, write_mdp_log

K = 3
SMALL = dict(embed_dim=4, hidden=8, layers=1, k=K, build=("agent",), seed=5)


def lse(x):
    x = np.asarray(x, np.float64)
    return float(x.max() + np.log(np.exp(x - x.max()).sum()))


def evaluate(fn):
    """fn() builds tensors in a fresh graph; returns their values."""
    with tf.Graph().as_default():
        out = fn()
        with tf.Session() as sess:
            return sess.run(out)


# -- formulas ------------------------------------------------------------------------------------
def test_plackett_luce_log_prob_is_the_closed_form():
    scores = np.array([[2.0, 1.0, 0.0, -1.0], [0.5, 0.5, 0.5, 0.5], [3.0, 1.0, -2.0, 0.0]],
                      np.float32)
    lists = np.array([[1, 3, 2], [0, 1, 2], [2, 0, 3]], np.int32)
    got = evaluate(lambda: objectives.plackett_luce_log_prob(tf.constant(scores),
                                                             tf.constant(lists)))
    expected = [(1 - lse([2, 1, 0, -1])) + (-1 - lse([2, 0, -1])) + (0 - lse([2, 0])),
                -np.log(24.0),
                (-2 - lse([3, 1, -2, 0])) + (3 - lse([3, 1, 0])) + (0 - lse([1, 0]))]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # a list of every item: the last draw is certain
    whole = evaluate(lambda: objectives.plackett_luce_log_prob(
        tf.constant([[3.0, 1.0]]), tf.constant([[1, 0]], tf.int32)))
    np.testing.assert_allclose(whole, [1 - lse([3, 1])], rtol=1e-6)


def test_lambda_k_and_the_capped_weight_match_the_formula():
    pi = np.array([0.2, 0.05, 0.5], np.float32)
    beta = np.array([0.1, 0.1, 0.1], np.float32)
    lam, w = evaluate(lambda: (objectives.topk_multiplier(tf.constant(pi), 3),
                               objectives.capped_weight(tf.constant(pi), tf.constant(beta), 3.0)))
    np.testing.assert_allclose(lam, [3 * 0.8 ** 2, 3 * 0.95 ** 2, 3 * 0.5 ** 2], rtol=1e-6)
    np.testing.assert_allclose(w, [2.0, 0.5, 3.0], rtol=1e-6)   # 5.0 capped at 3


def own_feed(models, batch, own_rows):
    """shown lists for `own_rows` of a hand batch: K distinct items per position."""
    rows, n = batch["mask"].shape
    rng = np.random.RandomState(9)
    own = np.zeros(rows, np.float32)
    shown = np.full((rows, n, K), PAD, np.int32)
    mask = np.zeros((rows, n), np.float32)
    for i in own_rows:
        own[i] = 1.0
        for t in range(int(batch["lengths"][i])):
            shown[i, t] = rng.permutation(V - N_SPECIAL)[:K] + N_SPECIAL
            mask[i, t] = 1.0
    return models.agent_feed(batch, "returns", (own, shown, mask))


@pytest.mark.parametrize("propensity", ["uniform", "estimated"])
def test_topk_weights_in_the_graph(propensity):
    """weights = R * lambda_K(pi) * min(pi / beta, cap), pi the agent's probability of the
    clicked item; beta = 1 / items (uniform), the behaviour head's softmax at the click
    (estimated), and pi itself on the agent's own sessions (weight min(1, cap))."""
    cap = 0.3
    models = ModelGraph(V, agent_options=dict(objective="topk_correction", weight_cap=cap,
                                              propensity=propensity), **SMALL)
    batch = hand_batch(np.random.RandomState(4))
    a = models.agent
    h = a.objective_heads
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        sess.run(tf.assign(a.output_layer.bias, np.linspace(-1, 2, V).astype(np.float32)))
        out = sess.run({"w": h.weights, "nll": a.real_nll, "beta": h.beta,
                        "R": tf.gather_nd(a.returns, a.real), "row": a.real[:, 0]},
                       own_feed(models, batch, [1]))
    pi = np.exp(-out["nll"].astype(np.float64))
    own = out["row"] == 1
    if propensity == "uniform":
        beta = np.where(own, pi, 1.0 / (V - N_SPECIAL))
        np.testing.assert_allclose(out["beta"], beta, rtol=1e-5)
    else:
        np.testing.assert_allclose(out["beta"][own], pi[own], rtol=1e-5)
        assert ((out["beta"] > 0) & (out["beta"] < 1)).all()
    expected = out["R"] * K * (1 - pi) ** (K - 1) * np.minimum(pi / out["beta"], cap)
    np.testing.assert_allclose(out["w"], expected, rtol=1e-5, atol=1e-7)
    if propensity == "uniform":   # the cap is reached and not everywhere
        ratio = pi[~own] / out["beta"][~own]
        assert (ratio > cap).any() and (ratio < cap).any()


def test_slate_term_reads_the_plackett_luce_log_prob_of_the_shown_list():
    """The slate objective's pl_log_prob at each position of an own session is the closed form
    of the list shown there under softmax(logits / T); logged rows carry the per-click term."""
    temperature = 0.7
    models = ModelGraph(V, agent_options=dict(objective="slate", gen_temperature=temperature),
                        **SMALL)
    batch = hand_batch(np.random.RandomState(4))
    a = models.agent
    feed = own_feed(models, batch, [1])
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        out = sess.run({"pl": a.objective_heads.pl_log_prob, "logits": a.real_logits,
                        "real": a.real}, feed)
    checked = 0
    for j, (i, t) in enumerate(out["real"]):
        if i != 1:
            continue
        z = out["logits"][j, N_SPECIAL:].astype(np.float64) / temperature
        items = list(feed[a.shown][i, t] - N_SPECIAL)
        expected, left = 0.0, list(range(len(z)))
        for item in items:
            expected += z[item] - lse(z[left])
            left.remove(item)
        np.testing.assert_allclose(out["pl"][j], expected, rtol=1e-5)
        checked += 1
    assert checked == int(batch["lengths"][1])


@pytest.mark.parametrize("objective,own_clicks", [("advantage", "none"), ("slate", "none"),
                                                  ("slate", "paper")])
@pytest.mark.parametrize("logged_term", ["objective", "paper"])
def test_logged_rows_carry_the_advantage_or_the_paper_return(objective, own_clicks, logged_term):
    """The per-click factor of -log pi: on logged rows R_t - V(s_t) (logged_term objective) or
    R_t (paper); on own rows the advantage (advantage objective), 0 (slate: its list term) or
    R_t (slate with own_clicks paper: the list term and the paper's click term); the policy
    loss is the mean of factor * nll (+ slate's -A * log PL on own rows)."""
    models = ModelGraph(V, agent_options=dict(objective=objective, logged_term=logged_term,
                                              own_clicks=own_clicks), **SMALL)
    a, h = models.agent, models.agent.objective_heads
    batch = hand_batch(np.random.RandomState(4))
    feed = own_feed(models, batch, [1])
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        out = sess.run({"w": h.weights, "v": h.value, "nll": a.real_nll, "real": a.real,
                        "loss": h.policy_loss, "pl": h.pl_log_prob if h.pl_log_prob is not None
                        else a.real_nll}, feed)
    returns = batch["returns"][out["real"][:, 0], out["real"][:, 1]].astype(np.float64)
    own = out["real"][:, 0] == 1
    advantage = returns - out["v"]
    logged = advantage if logged_term == "objective" else returns
    if objective == "advantage":
        on_own = advantage
    else:
        on_own = returns if own_clicks == "paper" else np.zeros_like(advantage)
    expected = np.where(own, on_own, logged)
    np.testing.assert_allclose(out["w"], expected, rtol=1e-5, atol=1e-6)
    terms = expected * out["nll"]
    if objective == "slate":
        terms = terms + np.where(own, -advantage * out["pl"], 0.0)
    np.testing.assert_allclose(out["loss"], terms.mean(), rtol=1e-5)
    assert own.any() and (~own).any()


def test_logged_term_paper_needs_advantage_or_slate():
    with pytest.raises(ValueError, match="logged_term='paper' needs the advantage or slate"):
        ModelGraph(V, agent_options=dict(objective="topk_correction", logged_term="paper"),
                   **SMALL)
    with pytest.raises(UserError, match="--logged_term=paper needs --agent_objective=advantage"):
        resolve(dict(data="x.log", logged_term="paper"))
    assert resolve(dict(data="x.log", agent_objective="slate", logged_term="paper"))[
        "logged_term"] == "paper"
    with pytest.raises(ValueError, match="own_clicks='paper' needs the slate objective"):
        ModelGraph(V, agent_options=dict(objective="advantage", own_clicks="paper"), **SMALL)
    with pytest.raises(UserError, match="--own_clicks=paper needs --agent_objective=slate"):
        resolve(dict(data="x.log", agent_objective="topk_correction", own_clicks="paper"))
    assert resolve(dict(data="x.log", agent_objective="slate", own_clicks="paper"))[
        "own_clicks"] == "paper"


# -- gradient isolation ------------------------------------------------------------------------
@pytest.mark.parametrize("objective,propensity", [("advantage", "estimated"),
                                                  ("slate", "estimated"),
                                                  ("topk_correction", "estimated")])
def test_heads_and_policy_do_not_move_each_other(objective, propensity):
    models = ModelGraph(V, agent_options=dict(objective=objective, propensity=propensity),
                        **SMALL)
    a, h = models.agent, models.agent.objective_heads
    policy, heads = a.policy_vars, h.head_vars
    assert heads and set(v.name for v in policy).isdisjoint(v.name for v in heads)
    assert set(v.name for v in policy + heads) == set(v.name for v in a.variables)
    with models.graph.as_default():
        assert all(g is None for g in tf.gradients(h.policy_loss, heads))
        assert all(g is None for g in tf.gradients(h.aux_loss, policy))
        assert all(g is not None for g in tf.gradients(h.aux_loss, heads))
        assert any(g is not None for g in tf.gradients(h.policy_loss, policy))
    # one update: the heads' trainer alone moves the heads, the policy's alone the policy
    batch = hand_batch(np.random.RandomState(4))
    feed = own_feed(models, batch, [1])
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        before = sess.run(policy + heads)
        sess.run(a.aux_trainer.train_op, feed)
        middle = sess.run(policy + heads)
        sess.run(a.trainer.train_op, feed)   # both
        after = sess.run(policy + heads)
    n = len(policy)
    assert all((x == y).all() for x, y in zip(before[:n], middle[:n]))
    assert any((x != y).any() for x, y in zip(before[n:], middle[n:]))
    assert any((x != y).any() for x, y in zip(middle[:n], after[:n]))


# -- the two-arm bandit ---------------------------------------------------------------------------
def bandit_gradients(returns_of, normalize=False, batches=40, size=200, seed=3):
    """Mean gradient of the advantage objective's policy loss with respect to the policy's bias
    of the two arms (items 4 and 5; the special tokens at logit -30), per batch of `size` arms
    drawn from the agent's own policy after one start click; returns_of(arm) the return."""
    models = ModelGraph(N_SPECIAL + 2, agent_options=dict(objective="advantage",
                                                          normalize_advantage=normalize),
                        **dict(SMALL, k=1))
    a = models.agent
    with models.graph.as_default():
        grad = tf.gradients(a.objective_heads.policy_loss, a.output_layer.bias)[0]
    rng = np.random.RandomState(seed)
    with tf.Session(graph=models.graph) as sess:
        sess.run(models.init_op)
        sess.run(tf.assign(a.output_layer.bias, [-30.0] * N_SPECIAL + [0.4, -0.3]))
        start = np.array([[N_SPECIAL, PAD]], np.int32)
        pi, value = sess.run([tf.exp(a.log_pi[0, 0]), a.objective_heads.value],
                             {a.clicks: start, a.lengths: [1], a.mask: [[1.0]],
                              a.returns: [[0.0]]})
        grads = []
        for _ in range(batches):
            arms = rng.choice(2, size=size, p=pi[N_SPECIAL:] / pi[N_SPECIAL:].sum())
            clicks = np.stack([np.full(size, N_SPECIAL), arms + N_SPECIAL], 1).astype(np.int32)
            returns = np.array([[returns_of(x)] for x in arms], np.float32)
            feed = models.agent_feed({"clicks": clicks, "lengths": np.ones(size, np.int32),
                                      "mask": np.ones((size, 1), np.float32),
                                      "returns": returns,
                                      "rec_lists": np.full((size, 1, 1), PAD, np.int32)})
            grads.append(sess.run(grad, feed)[N_SPECIAL:])
    return np.array(grads), pi[N_SPECIAL:], float(value[0])


def test_advantage_gradient_is_zero_in_expectation_with_equal_returns():
    grads, _, _ = bandit_gradients(lambda arm: 2.5)
    mean, se = grads.mean(0), grads.std(0, ddof=1) / np.sqrt(len(grads))
    assert (se > 0).all()
    assert (np.abs(mean) < 4 * se).all(), (mean, se)
    # normalised per batch, equal advantages are 0: no gradient at all
    grads, _, _ = bandit_gradients(lambda arm: 2.5, normalize=True, batches=2)
    assert (grads == 0).all()


def test_advantage_gradient_matches_the_expectation_with_unequal_returns():
    """Arm 0 pays 2, arm 1 pays 1: the expected gradient of the loss with respect to logit j is
    sum_a pi_a (R_a - V)(pi_j - [a = j]), which the batch means match within 4 standard
    errors and which is clearly non-zero (the same test rejects a zero gradient)."""
    grads, pi, value = bandit_gradients(lambda arm: 2.0 if arm == 0 else 1.0)
    mean, se = grads.mean(0), grads.std(0, ddof=1) / np.sqrt(len(grads))
    pi = pi / pi.sum()
    adv = np.array([2.0, 1.0]) - value
    expected = [sum(pi[x] * adv[x] * (pi[j] - (x == j)) for x in range(2)) for j in range(2)]
    assert (np.abs(mean - expected) < 4 * se).all(), (mean, expected, se)
    assert (np.abs(expected) > 8 * se).all()


# -- the own lists -----------------------------------------------------------------------------
def test_shown_lists_of_own_sessions():
    """Position t reads rec_lists[t + 1], the last position the end list; logged sessions and a
    session cut without an end list get zeros there."""
    own_done = encoded([4, 5, 6], [[], [5, 7, 8], [9, 6, 4]], [0, 0, 0], end_list=[4, 5, 9])
    own_cut = encoded([4, 7], [[], [8, 7, 9]], [0, 0])
    logged = encoded([5, 6], [[], [6, 7, 8]], [0, 0], end_list=[4, 5, 6])
    own, shown, mask = shown_lists([own_done, logged, own_cut], [True, False, True], 4, 3)
    assert own.tolist() == [1.0, 0.0, 1.0]
    assert shown[0, :3].tolist() == [[5, 7, 8], [9, 6, 4], [4, 5, 9]]
    assert mask.tolist() == [[1, 1, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0]]
    assert shown[2, 0].tolist() == [8, 7, 9] and (shown[1] == PAD).all()
    assert (shown[0, 3] == PAD).all() and (shown[2, 1:] == PAD).all()
    with pytest.raises(ValueError, match="not k = 3"):
        shown_lists([encoded([4, 5], [[], [5, 6]], [0, 0])], [True], 2, 3)
    zeros = no_own_lists((2, 3), 4)
    assert [z.shape for z in zeros] == [(2,), (2, 3, 4), (2, 3)]
    assert not any(z.any() for z in zeros)


# -- configuration, the paper's objective --------------------------------------------------------
def test_configuration_keys_and_the_paper_default():
    assert DEFAULTS["agent_objective"] == "paper" and DEFAULTS["gen_temperature"] == 1.0
    config = resolve(dict(data="x.log", agent_objective="slate", gen_temperature="0.5"))
    assert config["gen_temperature"] == 0.5
    with pytest.raises(UserError, match="--agent_objective=advantage needs returns"):
        resolve(dict(data="x.log", method="lstm", agent_objective="advantage"))
    with pytest.raises(UserError, match="--gen_temperature must be a number > 0"):
        resolve(dict(data="x.log", gen_temperature=0.0))
    with pytest.raises(UserError, match="--agent_objective must be one of paper"):
        resolve(dict(data="x.log", agent_objective="ppo"))


def test_the_paper_objective_builds_todays_graph():
    """The paper's objective at temperature 1 (the defaults) builds no head, no placeholder and
    no op beyond the graph built without agent options: the same GraphDef."""
    from irecgan.experiment import agent_options
    assert agent_options(resolve(dict(data="x.log"))) is None
    plain = ModelGraph(V, **dict(SMALL, build=("user", "agent", "discriminator")))
    explicit = ModelGraph(V, agent_options=dict(objective="paper", gen_temperature=1.0),
                          **dict(SMALL, build=("user", "agent", "discriminator")))
    assert explicit.agent.objective_heads is None and explicit.agent.aux_trainer is None
    # bytes, not protos: a NaN constant (clip_by_global_norm's) is unequal to itself
    assert (plain.graph.as_graph_def().SerializeToString(deterministic=True)
            == explicit.graph.as_graph_def().SerializeToString(deterministic=True))
    other = ModelGraph(V, agent_options=dict(objective="advantage"), **SMALL)
    assert any(v.name.startswith("agent/value/") for v in other.agent.variables)


# -- runs: repeat, resume, export ----------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("objectives"))


RUNS = {   # name: (overrides, kill point, a head's variable prefix, run it twice)
    "true_slate": (dict(method="irecgan_true", agent_objective="slate", gen_temperature=0.7,
                        normalize_advantage=True, online_every=0), "run@generate:3",
                   "agent/value/", True),
    "nod_reference_topk": (dict(method="irecgan_nod", schedule="reference",
                                agent_objective="topk_correction", pool_size=20, adv_epochs=1,
                                online_every=0), "run@update_agent:5", "agent/behaviour/",
                           False),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_runs_repeat_resume_and_export(sim_files, tmp_path, name):
    """The same seed twice gives the same bytes, a run killed in the adversarial phase resumes
    to them; the heads are in the checkpoints; irecgan-export writes the policy of the newest
    checkpoint and names the objective."""
    overrides, fault, head, twice = RUNS[name]
    log, params = sim_files
    config = resolve(dict(TINY_IRECGAN, data=log, env_params=params, **overrides))
    server = Server(str(tmp_path))
    runs = dict((r, str(tmp_path / r)) for r in ("a", "b", "killed"))
    try:
        for r in ("a", "b") if twice else ("a",):
            assert server.run(runs[r], config)["exit"] == 0
        killed = server.run(runs["killed"], config, fault=fault)
        assert killed["signal"] == 9, killed["log"]
        assert not os.path.exists(os.path.join(runs["killed"], "results.json"))
        assert server.run(runs["killed"], config)["exit"] == 0
    finally:
        server.close()
    if not twice:
        runs["b"] = runs["a"]
    for file_name in ("results.json", "metrics.jsonl"):
        reference = read_bytes(os.path.join(runs["a"], file_name))
        assert read_bytes(os.path.join(runs["b"], file_name)) == reference, file_name
        assert read_bytes(os.path.join(runs["killed"], file_name)) == reference, file_name
    checkpoints = os.path.join(runs["a"], "checkpoints")
    newest = max(int(d.split("-")[1]) for d in os.listdir(checkpoints) if d.startswith("ckpt-"))
    ckpt = os.path.join(checkpoints, "ckpt-%d" % newest, "model")
    names = [n for n, _ in tf.train.list_variables(ckpt)]
    assert any(n.startswith(head) for n in names)
    out = export_agent(runs["a"], str(tmp_path / "export"))
    exported = os.path.join(out, "variables", "variables")
    listed = [n for n, _ in tf.train.list_variables(exported)]
    assert "agent/policy/bias" in listed and not any(n.startswith(head) for n in listed)
    for n in listed:
        np.testing.assert_array_equal(tf.train.load_variable(exported, n),
                                      tf.train.load_variable(ckpt, n))
    info = json.loads(read_bytes(os.path.join(out, INFO)).decode("utf-8"))
    assert info["agent_objective"] == overrides["agent_objective"]


def test_own_lists_reach_the_agent_update(sim_files, tmp_path, monkeypatch):
    """In an irecgan_true slate run, every agent batch marks exactly the generated sessions as
    own, and their lists (the end list included) reach the feed."""
    from irecgan import experiment
    from irecgan.training import adversarial
    seen = []

    def recording(sessions, own, n, k):
        out = shown_lists(sessions, own, n, k)
        seen.append((list(sessions), list(own), out))
        return out

    calls = []
    update = adversarial.AdversarialTraining.update_agent

    def updating(self, passes, rng, generated=()):
        calls.append(set(id(g) for g in generated))
        return update(self, passes, rng, generated)

    monkeypatch.setattr(adversarial, "shown_lists", recording)
    monkeypatch.setattr(adversarial.AdversarialTraining, "update_agent", updating)
    log, params = sim_files
    config = resolve(dict(TINY_IRECGAN, data=log, env_params=params, method="irecgan_true",
                          agent_objective="slate", online_every=0, adv_epochs=1))
    experiment.run(str(tmp_path / "run"), config, show_progress=False, log=lambda m: None)
    assert len(calls) == 1 and calls[0]
    ended = 0
    for sessions, own, (flags, shown, mask) in seen:
        assert own == [id(s) in calls[0] for s in sessions]
        for i, s in enumerate(sessions):
            if own[i]:
                L = len(s.clicks)
                assert [shown[i, t].tolist() for t in range(L - 1)] == s.rec_lists[1:]
                if s.end_list is not None:
                    assert shown[i, L - 1].tolist() == s.end_list and mask[i, L - 1] == 1
                    ended += 1
    assert sum(sum(own) for _, own, _ in seen) == len(calls[0]) and ended > 0


def test_generation_temperature_samples_softmax_of_logits_over_t():
    """recommend's first item (k = 1) over 6,000 rows of the same logits follows softmax(logits
    / T) (chi-square, p = 0.001) and not softmax(logits); T = 1 adds no op."""
    logits = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 0.2, -0.5], np.float32)
    rows, temperature = 6000, 0.5
    models = ModelGraph(len(logits), **dict(SMALL, k=1))
    with models.graph.as_default():
        fed = tf.constant(np.tile(logits, (rows, 1)))
        seed = tf.constant([7, 11], tf.int64)
        before = len(models.graph.get_operations())
        models.agent.recommend(fed, greedy=False, seed=seed)
        plain_ops = len(models.graph.get_operations()) - before
        before = len(models.graph.get_operations())
        top = models.agent.recommend(fed, greedy=False, seed=seed, temperature=temperature)
        assert len(models.graph.get_operations()) - before == plain_ops + 2  # the division
        with tf.Session() as sess:
            picked = sess.run(top)[:, 0] - N_SPECIAL
    counts = np.bincount(picked, minlength=3)

    def chi2(z):
        p = np.exp(z - z.max())
        expected = rows * p / p.sum()
        return float(((counts - expected) ** 2 / expected).sum())

    assert chi2(logits[N_SPECIAL:] / temperature) < 13.82      # df 2, p = 0.001
    assert chi2(logits[N_SPECIAL:]) > 13.82
