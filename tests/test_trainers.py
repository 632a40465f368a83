"""Every trainer trains all of its model's weights and nothing else.

The end-to-end tests compare a run with another run of the same code, so a trainer that stopped
updating some weights (a variable dropped from an optimizer's var_list, a layer built outside
its scope or made non-trainable) would leave them green. Here one step of each trainer on a tiny
batch must move some element of EVERY trainable variable of its model (named below, so a
variable leaving the list or the trainable collection fails too) and move NO other variable of
the graph: the other models', and the other trainers' optimizer state. The trainer's own
optimizer state (its step counter, Adam's moments and beta powers, under the trainer's scope)
is the only other thing a step writes.
"""
import numpy as np
import pytest

from irecgan.models.graph import ModelGraph
from irecgan.tfcompat import tf
from test_models import TINY, V, hand_batch

LSTM = ["embedding", "rnn/cell_0/kernel", "rnn/cell_0/bias", "rnn/cell_1/kernel",
        "rnn/cell_1/bias"]
AGENT = ["agent/" + name for name in LSTM + ["policy/kernel", "policy/bias"]]
USER = ["user/" + name for name in LSTM + ["preference/kernel", "preference/bias",
                                           "purchase_state/kernel", "purchase_item/kernel",
                                           "purchase_out/kernel", "purchase_out/bias"]]
AUTHORS_D = ["discriminator/" + name
             for name in LSTM + ["query/kernel", "query/bias", "candidate/kernel",
                                 "candidate/bias", "purchase_weight", "purchase_bias"]]
SEQUENCE_D = ["discriminator/" + name
              for name in LSTM + ["term_hidden/kernel", "term_hidden/bias", "term_out/kernel",
                                  "term_out/bias"]]

# name -> (d_head, trainer of the graph, feed of the graph and a batch, the variables it trains)
CASES = {
    "agent_mle": ("authors", lambda g: g.agent.trainer,
                  lambda g, b: g.agent_feed(b, "mle"), AGENT),
    "agent_reinforce": ("authors", lambda g: g.agent.trainer,
                        lambda g, b: g.agent_feed(b, "returns"), AGENT),
    "user_mle": ("authors", lambda g: g.user.mle, lambda g, b: g.user_feed(b), USER),
    "user_adversarial": ("authors", lambda g: g.user.adv, lambda g, b: g.user_feed(b), USER),
    "disc_authors": ("authors", lambda g: g.disc.trainer,
                     lambda g, b: g.disc_feed(b, [1.0, 0.0]), AUTHORS_D),
    "disc_sequence": ("sequence", lambda g: g.disc.trainer,
                      lambda g, b: g.disc_feed(b, [1.0, 0.0]), SEQUENCE_D),
}


@pytest.fixture(scope="module")
def graphs():
    """The three models in one graph (purchase heads on) with the authors' discriminator, and
    the sequence head alone (what it does not touch in the other models is the same graph code,
    checked with the authors' head; building them again would double the test's time)."""
    return {"authors": ModelGraph(V, purchase_head=True, seed=4, **TINY),
            "sequence": ModelGraph(V, purchase_head=True, seed=4, d_head="sequence",
                                   build=("discriminator",), **TINY)}


def optimizer_state(trainer, graph):
    """The variables a step of `trainer` writes besides its var_list: everything under the
    trainer's scope (step counter, Adam's slots and beta powers) but its learning rate."""
    scope = trainer.step.op.name.rsplit("/", 1)[0] + "/"
    return set(v.op.name for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)
               if v.op.name.startswith(scope) and v is not trainer.learning_rate)


def moved_variables(models, trainer, feed):
    """Names of the graph's variables that one `trainer` step on `feed` changes."""
    with models.graph.as_default():
        variables = tf.global_variables()
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    with tf.Session(graph=models.graph, config=config) as sess:
        sess.run(models.init_op)
        before = sess.run(variables)
        sess.run(trainer.train_op, feed)
        after = sess.run(variables)
    return set(v.op.name for v, b, a in zip(variables, before, after)
               if not np.array_equal(b, a))


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_step_moves_every_trained_variable_and_nothing_else(graphs, case):
    head, get_trainer, get_feed, trained = CASES[case]
    models = graphs[head]
    trainer = get_trainer(models)
    batch = hand_batch(np.random.RandomState(1), purchase=True)
    scope = trained[0].split("/")[0]
    trainables = [v.op.name for v in models.graph.get_collection(
        tf.GraphKeys.TRAINABLE_VARIABLES) if v.op.name.startswith(scope + "/")]
    assert sorted(trainables) == sorted(trained)

    moved = moved_variables(models, trainer, get_feed(models, batch))
    state = optimizer_state(trainer, models.graph)
    still = sorted(set(trained) - moved)
    assert not still, "not trained by %s: %s" % (case, ", ".join(still))
    stray = sorted(moved - set(trained) - state)
    assert not stray, "moved by %s, not its to move: %s" % (case, ", ".join(stray))
