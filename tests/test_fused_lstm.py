"""The opt-in fused LSTM lever (issue 33, `fused_lstm`): off by default (today's graph, today's
numbers), and when on the same shapes and, forward, the same values to the bit as dynamic_rnn;
one training step differs from dynamic_rnn's only in the last bits. Tiny sizes, seeded."""
import types

import numpy as np
import pytest

from irecgan import config as config_module
from irecgan.experiment import build_models
from irecgan.models.graph import ModelGraph
from irecgan.report.runs import method_label
from irecgan.tfcompat import tf

V = 24   # 4 specials + 20 items
TINY = dict(embed_dim=6, hidden=8, layers=2, k=3)
HEADS = ("authors", "sequence")


def batch(rng, rows=5, n=4, k=6):
    """`rows` sessions of 1..n positions (the first of length n), candidate lists of k items with
    the target among them, padding past each length (as data.batching.make_batch pads)."""
    lengths = np.concatenate([[n], rng.randint(1, n + 1, rows - 1)]).astype(np.int32)
    mask = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float32)
    clicks = rng.randint(4, V, (rows, n + 1)).astype(np.int32) * np.concatenate(
        [np.ones((rows, 1)), mask], axis=1).astype(np.int32)
    rec_lists = rng.randint(4, V, (rows, n, k)).astype(np.int32)
    target_index = rng.randint(0, k, (rows, n)).astype(np.int32)
    return dict(clicks=clicks, lengths=lengths, mask=mask, rec_lists=rec_lists,
                rec_mask=np.repeat(mask[:, :, None], k, axis=2), target_index=target_index,
                purchase=(rng.rand(rows, n) < 0.3).astype(np.int32) * mask.astype(np.int32),
                q_d=mask * 0.5, returns=mask * 1.5)


def fetches(models):
    d, u, a = models.disc, models.user, models.agent
    return {"d_states": d.states, "d_terms": d.terms, "d_logit": d.logit, "d_loss": d.loss,
            "u_states": u.states, "u_log_probs": u.click_log_probs, "u_mle": u.mle_loss,
            "a_logits": a.logits, "a_loss": a.loss}


def feed_of(models, b):
    feed = dict(models.agent_feed(b))
    feed.update(models.user_feed(b))
    feed.update(models.disc_feed(b, [1.0, 0.0, 1.0, 0.0, 1.0]))
    return feed


def run_both(head, train_steps=0):
    """The fetches (after `train_steps` D updates) of the same seeded models without and with
    fused LSTMs."""
    out = []
    for fused in (False, True):
        models = ModelGraph(V, purchase_head=True, seed=7, d_head=head, fused_lstm=fused, **TINY)
        rng = np.random.RandomState(0)
        with tf.Session(graph=models.graph) as session:
            session.run(models.init_op)
            feed = feed_of(models, batch(rng))
            for _ in range(train_steps):
                session.run(models.disc.trainer.train_op, feed)
            out.append(session.run(fetches(models), feed))
    return out


def op_types(models):
    return [op.type for op in models.graph.get_operations()]


def test_off_by_default_and_the_default_graph_has_no_fused_op():
    assert config_module.DEFAULTS["fused_lstm"] is False
    assert config_module.ADDED_KEYS["fused_lstm"] is False   # older run directories: off
    default = ModelGraph(V, seed=1, **TINY)
    assert default.config["fused_lstm"] is False
    assert "BlockLSTM" not in op_types(default)
    assert any("rnn_unroll/while" in op.name for op in default.graph.get_operations())
    fused = ModelGraph(V, seed=1, fused_lstm=True, **TINY)
    assert op_types(fused).count("BlockLSTM") == 3 * TINY["layers"]   # U, A, D
    assert not any("rnn_unroll" in op.name for op in fused.graph.get_operations())


def test_build_models_reads_the_key():
    data = types.SimpleNamespace(vocab=types.SimpleNamespace(size=V), has_purchase=False)
    config = dict(config_module.DEFAULTS, method="irecgan", embed_dim=6, hidden=8, layers=1)
    assert "BlockLSTM" not in op_types(build_models(config, data))
    config["fused_lstm"] = True
    assert op_types(build_models(config, data)).count("BlockLSTM") == 3


@pytest.mark.parametrize("head", HEADS)
def test_fused_forward_is_dynamic_rnns_to_the_bit_with_the_same_shapes(head):
    plain, fused = run_both(head)
    for key in plain:
        assert plain[key].shape == fused[key].shape, key
        assert np.array_equal(plain[key], fused[key]), key
    # outputs past a session's length are zero, as dynamic_rnn's
    lengths = batch(np.random.RandomState(0))["lengths"]
    assert np.all(fused["d_states"][1, lengths[1]:] == 0.0)


@pytest.mark.parametrize("head", HEADS)
def test_fused_training_step_differs_only_in_the_last_bits(head):
    plain, fused = run_both(head, train_steps=3)
    for key in plain:
        np.testing.assert_allclose(plain[key], fused[key], rtol=1e-4, atol=1e-5, err_msg=key)


def test_fused_runs_get_their_own_report_label():
    assert method_label({"method": "irecgan"}) == "irecgan"
    assert method_label({"method": "irecgan", "fused_lstm": False}) == "irecgan"
    assert method_label({"method": "irecgan", "fused_lstm": True}) == "irecgan@fused"
    assert method_label({"method": "irecgan", "fused_lstm": True, "d_bucket_window": 20}) == (
        "irecgan@fused+bucket20")
    assert method_label({"method": "irecgan", "d_bucket_window": 0}) == "irecgan"
