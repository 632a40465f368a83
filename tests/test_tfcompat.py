"""The TF compatibility layer (irecgan.tfcompat) against numpy references.

Each test builds its own tf.Graph with tiny sizes; weights come from seeded initializers and the
biases are overwritten with random values so that a wrong bias (or forget bias) would show.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from irecgan.tfcompat import (Dense, LSTMCell, LSTMState, MultiLSTMCell, dim,  # noqa: E402
                              flatten_state, next_op_seed, tf, unflatten_state)

TOL = 1e-5


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_lstm_step(x, c, h, kernel, bias, forget_bias):
    """One LSTM step in numpy (float64):
        [i, j, f, o] = split([x, h] W + b, 4)            (input, candidate, forget, output)
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)
        h' = tanh(c') * sigmoid(o)
    """
    z = np.concatenate([x, h], axis=1).astype(np.float64).dot(kernel) + bias
    i, j, f, o = np.split(z, 4, axis=1)
    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * np.tanh(j)
    new_h = np.tanh(new_c) * sigmoid(o)
    return new_h, (new_c, new_h)


def np_multi_step(x, states, weights, forget_bias):
    """A stack: layer l's input is layer l-1's new h; the output is the top layer's h."""
    new_states = []
    for (c, h), (kernel, bias) in zip(states, weights):
        x, s = np_lstm_step(x, c, h, kernel, bias, forget_bias)
        new_states.append(s)
    return x, new_states


def randomize_biases(sess, variables, rng):
    """Biases are zero at initialisation; give them random values (numpy RandomState)."""
    for v in variables:
        if v.op.name.endswith("bias"):
            v.load(rng.normal(size=v.shape.as_list()).astype(np.float32), sess)


def run_init(sess, variables, rng):
    sess.run(tf.global_variables_initializer())
    randomize_biases(sess, variables, rng)
    return sess.run(variables)


def test_lstm_cell_one_step_matches_numpy():
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        cell = LSTMCell(3, 4, name="cell", forget_bias=0.7)
        x = tf.placeholder(tf.float32, [None, 3])
        c = tf.placeholder(tf.float32, [None, 4])
        h = tf.placeholder(tf.float32, [None, 4])
        out, state = cell(x, LSTMState(c, h))
        assert [v.op.name for v in cell.variables] == ["cell/kernel", "cell/bias"]
        assert cell.kernel.shape.as_list() == [3 + 4, 16]
        with tf.Session(graph=graph) as sess:
            kernel, bias = run_init(sess, cell.variables, rng)
            feed_x, feed_c, feed_h = (rng.normal(size=[2, n]).astype(np.float32)
                                      for n in (3, 4, 4))
            got_out, got_state = sess.run([out, state], {x: feed_x, c: feed_c, h: feed_h})
    want_out, (want_c, want_h) = np_lstm_step(feed_x, feed_c, feed_h, kernel, bias, 0.7)
    assert isinstance(got_state, LSTMState)
    np.testing.assert_allclose(got_out, want_out, atol=TOL)
    np.testing.assert_allclose(got_state.c, want_c, atol=TOL)
    np.testing.assert_allclose(got_state.h, want_h, atol=TOL)
    np.testing.assert_array_equal(got_out, got_state.h)


def test_multi_lstm_cell_one_step_matches_numpy():
    rng = np.random.RandomState(1)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(2)
        with tf.variable_scope("user"):
            cell = MultiLSTMCell(3, 4, 2, name="rnn", forget_bias=1.0)
        x = tf.placeholder(tf.float32, [None, 3])
        state_ph = cell.state_placeholders()
        out, state = cell(x, state_ph)
        # Variable names are the checkpoint format.
        assert [v.op.name for v in cell.variables] == [
            "user/rnn/cell_0/kernel", "user/rnn/cell_0/bias",
            "user/rnn/cell_1/kernel", "user/rnn/cell_1/bias"]
        assert cell.cells[1].kernel.shape.as_list() == [4 + 4, 16]
        with tf.Session(graph=graph) as sess:
            values = run_init(sess, cell.variables, rng)
            feed_x = rng.normal(size=[3, 3]).astype(np.float32)
            feed_state = [rng.normal(size=[3, 4]).astype(np.float32) for _ in range(4)]
            feed = dict(zip(flatten_state(state_ph), feed_state))
            feed[x] = feed_x
            got_out, got_state = sess.run([out, state], feed)
    weights = [(values[0], values[1]), (values[2], values[3])]
    want_out, want_state = np_multi_step(feed_x, unflatten_state(feed_state), weights, 1.0)
    np.testing.assert_allclose(got_out, want_out, atol=TOL)
    np.testing.assert_allclose(np.stack(flatten_state(got_state)),
                               np.stack(flatten_state(want_state)), atol=TOL)


@pytest.mark.parametrize("fed_initial_state", [False, True])
def test_dynamic_rnn_respects_sequence_lengths(fed_initial_state):
    """Outputs past a session's length are zero and its final state is the state at its length,
    compared with the one-step graph stepped by hand with fed states (as generation does)."""
    rng = np.random.RandomState(2)
    batch, steps = 3, 5
    lengths = np.array([5, 2, 0], dtype=np.int32)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(3)
        cell = MultiLSTMCell(3, 4, 2)
        x = tf.placeholder(tf.float32, [None, None, 3])
        seq_len = tf.placeholder(tf.int32, [None])
        init_ph = cell.state_placeholders("init")
        if fed_initial_state:
            outputs, final = tf.nn.dynamic_rnn(cell, x, sequence_length=seq_len,
                                               initial_state=init_ph)
        else:
            outputs, final = tf.nn.dynamic_rnn(cell, x, sequence_length=seq_len,
                                               dtype=tf.float32)
        # The one-step graph, sharing the same weights.
        x_t = tf.placeholder(tf.float32, [None, 3])
        step_ph = cell.state_placeholders("step")
        step_out, step_state = cell(x_t, step_ph)
        with tf.Session(graph=graph) as sess:
            run_init(sess, cell.variables, rng)
            feed_x = rng.normal(size=[batch, steps, 3]).astype(np.float32)
            if fed_initial_state:
                init = [rng.normal(size=[batch, 4]).astype(np.float32) for _ in range(4)]
            else:
                init = [np.zeros([batch, 4], np.float32) for _ in range(4)]
            feed = dict(zip(flatten_state(init_ph), init))
            feed.update({x: feed_x, seq_len: lengths})
            got_out, got_final = sess.run([outputs, final], feed)
            # Manual stepping, all sessions for all steps; states recorded after each step.
            state = init
            manual_out, manual_states = [], [init]
            for t in range(steps):
                feed = dict(zip(flatten_state(step_ph), state))
                feed[x_t] = feed_x[:, t]
                o, s = sess.run([step_out, step_state], feed)
                state = flatten_state(s)
                manual_out.append(o)
                manual_states.append(state)
    assert got_out.shape == (batch, steps, 4)
    for b in range(batch):
        n = lengths[b]
        for t in range(steps):
            if t < n:
                np.testing.assert_allclose(got_out[b, t], manual_out[t][b], atol=TOL)
            else:
                np.testing.assert_array_equal(got_out[b, t], np.zeros(4))
        for got, want in zip(flatten_state(got_final), manual_states[n]):
            np.testing.assert_allclose(got[b], want[b], atol=TOL)


def test_dense_matches_numpy_on_rank_2_and_rank_3_inputs():
    rng = np.random.RandomState(3)
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(4)
        layer = Dense(3, 5, "dense", activation=tf.tanh)
        no_bias = Dense(3, 2, "no_bias", use_bias=False)
        x2 = tf.placeholder(tf.float32, [None, 3])
        x3 = tf.placeholder(tf.float32, [None, None, 3])
        y2, y3, z3 = layer(x2), layer(x3), no_bias(x3)
        # One layer called twice shares its variables; no_bias has only a kernel.
        assert len(tf.global_variables()) == 3
        assert [v.op.name for v in layer.variables] == ["dense/kernel", "dense/bias"]
        assert y2.shape.as_list() == [None, 5]
        assert y3.shape.as_list() == [None, None, 5]
        assert z3.shape.as_list() == [None, None, 2]
        with tf.Session(graph=graph) as sess:
            kernel, bias = run_init(sess, layer.variables, rng)
            (kernel2,) = sess.run(no_bias.variables)
            f2 = rng.normal(size=[4, 3]).astype(np.float32)
            f3 = rng.normal(size=[2, 3, 3]).astype(np.float32)
            g2, g3, h3 = sess.run([y2, y3, z3], {x2: f2, x3: f3})
    np.testing.assert_allclose(g2, np.tanh(f2.dot(kernel) + bias), atol=TOL)
    np.testing.assert_allclose(g3, np.tanh(np.einsum("btd,du->btu", f3, kernel) + bias),
                               atol=TOL)
    np.testing.assert_allclose(h3, np.einsum("btd,du->btu", f3, kernel2), atol=TOL)


def test_static_shapes_with_unknown_batch_and_time_are_preserved():
    graph = tf.Graph()
    with graph.as_default():
        cell = MultiLSTMCell(3, 4, 2)
        x = tf.placeholder(tf.float32, [None, None, 3])
        outputs, final = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
        assert outputs.shape.as_list() == [None, None, 4]
        assert all(t.shape.as_list() == [None, 4] for t in flatten_state(final))
        # One step with an unknown batch; zero states with a dynamic and a static batch size.
        x_t = x[:, 0]
        out, state = cell(x_t, cell.zero_state(tf.shape(x_t)[0]))
        assert out.shape.as_list() == [None, 4]
        assert all(t.shape.as_list() == [None, 4] for t in flatten_state(state))
        zero = cell.zero_state(2)
        assert all(t.shape.as_list() == [2, 4] for t in flatten_state(zero))
        # Dense keeps a known leading dimension next to an unknown one.
        y = Dense(3, 5, "d")(tf.placeholder(tf.float32, [2, None, 3]))
        assert y.shape.as_list() == [2, None, 5]
        assert dim(x) == 3 and dim(x, 0) is None and dim(y, 0) == 2 and dim(y) == 5
        with tf.Session(graph=graph) as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(zero)
    assert all(np.array_equal(t, np.zeros([2, 4])) for t in flatten_state(got))


def test_state_placeholders_and_flatten_unflatten_round_trip():
    graph = tf.Graph()
    with graph.as_default():
        cell = MultiLSTMCell(3, 4, 3, name="agent_rnn")
        ph = cell.state_placeholders("s")
        assert isinstance(ph, tuple) and len(ph) == 3
        assert all(isinstance(layer, LSTMState) for layer in ph)
        flat = flatten_state(ph)
        # Layer-major, c before h.
        assert [t.op.name for t in flat] == ["s_0_c", "s_0_h", "s_1_c", "s_1_h",
                                             "s_2_c", "s_2_h"]
        assert all(t.shape.as_list() == [None, 4] and t.dtype == tf.float32 for t in flat)
        back = unflatten_state(flat)
        assert all(a.c is b.c and a.h is b.h for a, b in zip(back, ph))
        # The same with numpy values: a fetched state fed back through its placeholders.
        values = [np.full([2, 4], k, dtype=np.float32) for k in range(6)]
        state = unflatten_state(values)
        assert [int(s.c[0, 0]) for s in state] == [0, 2, 4]
        assert [int(s.h[0, 0]) for s in state] == [1, 3, 5]
        with tf.Session(graph=graph) as sess:
            fetched = sess.run(ph, dict(zip(flatten_state(ph), flatten_state(state))))
    assert isinstance(fetched[0], LSTMState)
    for got, want in zip(flatten_state(fetched), values):
        np.testing.assert_array_equal(got, want)


# -- per-row gathers (TF 1.15-valid formulations of gather with batch_dims) ----------------------

from irecgan.tfcompat import gather_per_batch, pick_per_row, take_along_last_axis  # noqa: E402


@pytest.mark.parametrize("lead", [(5,), (3, 4), (2, 3, 2)])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_take_along_last_axis_matches_numpy(lead, dtype):
    """Fed through placeholders of unknown shape, so only the dynamic path can answer."""
    rng = np.random.RandomState(len(lead))
    params = rng.randn(*(lead + (7,))).astype(np.float32)
    indices = rng.randint(0, 7, size=lead + (4,)).astype(dtype)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, None)
        i = tf.placeholder(tf.as_dtype(dtype), None)
        index = rng.randint(0, 7, size=lead).astype(dtype)
        j = tf.placeholder(tf.as_dtype(dtype), None)
        ops = [take_along_last_axis(p, i), pick_per_row(p, j)]
        with tf.Session() as sess:
            many, one = sess.run(ops, {p: params, i: indices, j: index})
    np.testing.assert_array_equal(many, np.take_along_axis(params, indices, axis=-1))
    np.testing.assert_array_equal(
        one, np.take_along_axis(params, index[..., None], axis=-1)[..., 0])


def test_per_row_gathers_keep_static_shapes_and_handle_empty_batches():
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, None, 9])
        i = tf.placeholder(tf.int32, [None, None, 3])
        j = tf.placeholder(tf.int32, [None, None])
        many, one = take_along_last_axis(p, i), pick_per_row(p, j)
        assert many.shape.as_list() == [None, None, 3]
        assert one.shape.as_list() == [None, None]
        with tf.Session() as sess:
            a, b = sess.run([many, one], {p: np.zeros((0, 4, 9)), i: np.zeros((0, 4, 3)),
                                          j: np.zeros((0, 4))})
    assert a.shape == (0, 4, 3) and b.shape == (0, 4)


def test_take_along_last_axis_gradient_counts_each_pick():
    """d sum(picked * w) / d params = w scattered (and summed) at the picked positions."""
    rng = np.random.RandomState(3)
    params = rng.randn(2, 3, 5).astype(np.float32)
    indices = np.array([[[0, 0, 4], [1, 2, 3], [4, 4, 4]],
                        [[2, 1, 2], [0, 3, 0], [1, 1, 1]]], np.int32)
    w = rng.randn(2, 3, 3).astype(np.float32)
    expected = np.zeros_like(params)
    for b in range(2):
        for t in range(3):
            for k in range(3):
                expected[b, t, indices[b, t, k]] += w[b, t, k]
    with tf.Graph().as_default():
        p = tf.constant(params)
        loss = tf.reduce_sum(take_along_last_axis(p, tf.constant(indices)) * w)
        grad = tf.convert_to_tensor(tf.gradients(loss, p)[0])
        with tf.Session() as sess:
            got = sess.run(grad)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_gather_per_batch_matches_numpy():
    rng = np.random.RandomState(4)
    params = rng.randn(4, 6, 5).astype(np.float32)
    index = np.array([5, 0, 2, 3], np.int32)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, None, 5])
        i = tf.placeholder(tf.int32, [None])
        out = gather_per_batch(p, i)
        assert out.shape.as_list() == [None, 5]
        with tf.Session() as sess:
            got = sess.run(out, {p: params, i: index})
    np.testing.assert_array_equal(got, params[np.arange(4), index])


# -- no TF-2-only gather semantics outside tfcompat.py ------------------------------------------

SRC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src", "irecgan")


def calls_with_batch_dims(source, filename="<source>"):
    """(line, callee) of every call that passes a `batch_dims` keyword."""
    import ast
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call) and any(k.arg == "batch_dims" for k in node.keywords):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "?")
            found.append((node.lineno, callee))
    return found


def test_batch_dims_checker_flags_keyword_calls():
    source = ("x = tf.gather(a, b, batch_dims=1)\n"
              "y = tf.gather(a, b)\n"
              "z = gather(a, b, axis=1, batch_dims=2)\n")
    assert calls_with_batch_dims(source) == [(1, "gather"), (3, "gather")]


def test_no_module_outside_tfcompat_passes_batch_dims():
    """TF 1.15 rejects batch_dims == rank(indices) at run time, which TF 2.x accepts; every
    per-row gather goes through tfcompat's helpers instead."""
    offenders = []
    for root, _, files in os.walk(SRC_DIR):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".py") or path == os.path.join(SRC_DIR, "tfcompat.py"):
                continue
            with open(path) as f:
                for line, callee in calls_with_batch_dims(f.read(), path):
                    offenders.append("%s:%d %s(batch_dims=...)" % (path, line, callee))
    assert not offenders, "\n".join(offenders)


def three_argument_wheres(source, filename="<source>"):
    """Lines of `tf.where(cond, x, y)` calls: v1's select, whose semantics differ from where_v2."""
    import ast
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "where" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "tf" and len(node.args) + len(node.keywords) >= 3):
            found.append(node.lineno)
    return found


def test_where_checker_flags_the_select_form_only():
    source = ("i = tf.where(m > 0)\n"
              "s = tf.where(m > 0, a, b)\n"
              "t = tf.where_v2(m > 0, a, b)\n"
              "u = tf.where(m > 0, x=a, y=b)\n"
              "v = np.where(m > 0, a, b)\n")
    assert three_argument_wheres(source) == [2, 4]


def test_selects_use_where_v2():
    """compat.v1's `tf.where(c, x, y)` needs c of x's shape or a vector picking rows (no
    broadcasting); `where_v2` broadcasts, and means the same on TF 1.15 and 2.x. The one-argument
    `tf.where(c)` (coordinates of true entries) is the same in both and stays allowed."""
    offenders = []
    for root, _, files in os.walk(SRC_DIR):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path) as f:
                    offenders += ["%s:%d" % (path, n) for n in three_argument_wheres(f.read(), path)]
    assert not offenders, offenders


RANDOM_OP_TYPES = ("RandomUniform", "RandomStandardNormal", "TruncatedNormal")


def initial_values(graph, variables):
    with tf.Session(graph=graph) as sess:
        sess.run(tf.variables_initializer(variables))
        return sess.run(variables)


def test_initial_values_do_not_depend_on_the_other_ops_of_the_graph():
    # TF 1.15 seeds an unseeded op by the graph's last op id: without next_op_seed, the second
    # kernel here differed between the two graphs on that stack
    values = []
    for extra_ops in (0, 40):
        graph = tf.Graph()
        with graph.as_default():
            tf.set_random_seed(5)
            first = Dense(3, 4, name="first")
            x = tf.constant(1.0)
            for _ in range(extra_ops):
                x = x + 1.0
            second = Dense(4, 2, name="second")
            cell = LSTMCell(2, 3, name="cell")
            values.append(initial_values(graph, first.variables + second.variables
                                         + cell.variables))
    for a, b in zip(*values):
        np.testing.assert_array_equal(a, b)


def test_initial_values_are_the_same_on_both_stacks():
    # (graph seed 1, op seeds 0 and 1): recorded on TF 2.21 and equal on TF 1.15.5; the two
    # stacks draw the same Philox numbers for the same (seed, seed2)
    from irecgan.models.common import SequenceEncoder
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(1)
        dense = Dense(2, 3, name="a")
        encoder = SequenceEncoder(6, 2, 2, 1)
        kernel, table = initial_values(graph, [dense.kernel, encoder.embedding])
    np.testing.assert_allclose(kernel, [[0.6850836, -0.9232967, 0.85814],
                                        [-0.7246257, -0.95717025, 0.09927082]], rtol=1e-6)
    np.testing.assert_array_equal(table[:4], 0.0)  # the special tokens
    np.testing.assert_allclose(table[4:], [[0.28183395, 2.3878284], [2.2804048, -0.308662]],
                               rtol=1e-6)


def test_every_random_initializer_of_the_models_takes_the_counted_op_seed():
    # all random ops of a full graph (U with purchase head, A, D) carry the graph seed and the
    # op seeds 0, 1, 2, ... in creation order; an initializer added without next_op_seed shows
    # here on TF 1.15 (its seed2 is an op id there)
    from irecgan.models.graph import ModelGraph
    models = ModelGraph(54, purchase_head=True, seed=9, k=3, embed_dim=4, hidden=4, layers=2)
    ops = [op for op in models.graph.get_operations() if op.type in RANDOM_OP_TYPES]
    assert len(ops) >= 10
    assert [op.get_attr("seed") for op in ops] == [9] * len(ops)
    assert [op.get_attr("seed2") for op in ops] == list(range(len(ops)))
    assert next_op_seed(models.graph) == len(ops)
