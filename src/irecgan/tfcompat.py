"""The one place that imports TensorFlow.

`tf` is `tensorflow.compat.v1` in graph mode on both TF 1.15 and TF 2.x. Everything else in the
package writes `from irecgan.tfcompat import tf`. No Keras: the dense layer and the LSTM cell
below are built from core ops (`get_variable`, `matmul`), so they work under Keras 3 too, and the
cell plugs into `tf.nn.dynamic_rnn` (it has `state_size`, `output_size`, `zero_state`,
`__call__`) and into one-step calls with fed states.

Layers are objects: the constructor creates the variables (under the current variable scope plus
`name`), and calling the object applies them, so one layer called on several inputs shares its
weights by construction.
"""
import collections
import os
import weakref

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep C++ info/warning lines off the console

from irecgan import REPRODUCIBLE_CPU_ENV  # noqa: E402,F401 (set by the package, see there)

import tensorflow.compat.v1 as tf  # noqa: E402

tf.logging.set_verbosity(tf.logging.ERROR)  # deprecation notices of compat.v1 symbols
tf.disable_v2_behavior()

TF_VERSION = tf.VERSION

LSTMState = collections.namedtuple("LSTMState", ["c", "h"])

_OP_SEEDS = weakref.WeakKeyDictionary()  # graph -> random initializers built in it so far


def next_op_seed(graph=None):
    """The op-level seed of the next random initializer of `graph` (default: the default graph):
    0, 1, 2, ... in the order the initializers are called.

    Together with the graph-level seed (`tf.set_random_seed`) it fixes an initial value. TF 2.x
    derives an unseeded op's seed exactly so (a per-graph counter of seeded random ops), but TF
    1.15 uses the graph's last op id, so there an initial value depended on how many ops of any
    kind were built before the variable (e.g. which candidate-scoring path a model took). Every
    random initializer of the package takes its seed from here: on TF 2.x the values are those
    an unseeded initializer gives, and TF 1.15 draws the same (graph seed, op seed) pairs."""
    graph = graph if graph is not None else tf.get_default_graph()
    seed = _OP_SEEDS.get(graph, 0)
    _OP_SEEDS[graph] = seed + 1
    return seed


def seeded(make_initializer):
    """An initializer that builds `make_initializer(seed=next_op_seed())` when it is called
    (when its variable is created), e.g. `seeded(tf.glorot_uniform_initializer)` or
    `seeded(functools.partial(tf.random_uniform_initializer, -1.0, 1.0))`."""

    def init(shape, dtype=tf.float32, partition_info=None):
        return make_initializer(seed=next_op_seed())(shape, dtype=dtype,
                                                     partition_info=partition_info)
    return init


def dim(tensor, axis=-1):
    """The static size of `tensor` along `axis` as an int (None when unknown)."""
    return tf.dimension_value(tensor.shape[axis])


class Dense(object):
    """y = activation(x W + b) over the last axis of x (any rank >= 2)."""

    def __init__(self, in_dim, units, name, activation=None, use_bias=True,
                 kernel_initializer=None):
        self.in_dim = int(in_dim)
        self.units = int(units)
        self.activation = activation
        with tf.variable_scope(name):
            self.kernel = tf.get_variable(
                "kernel", [self.in_dim, self.units], dtype=tf.float32,
                initializer=kernel_initializer or seeded(tf.glorot_uniform_initializer))
            self.bias = None
            if use_bias:
                self.bias = tf.get_variable("bias", [self.units], dtype=tf.float32,
                                            initializer=tf.zeros_initializer())

    @property
    def variables(self):
        return [self.kernel] + ([self.bias] if self.bias is not None else [])

    def __call__(self, x):
        rank = x.shape.ndims
        if rank == 2:
            y = tf.matmul(x, self.kernel)
        else:
            flat = tf.reshape(x, [-1, self.in_dim])
            y = tf.reshape(tf.matmul(flat, self.kernel),
                           tf.concat([tf.shape(x)[:-1], [self.units]], axis=0))
            y.set_shape(x.shape[:-1].concatenate([self.units]))
        if self.bias is not None:
            y = y + self.bias
        if self.activation is not None:
            y = self.activation(y)
        return y


class LSTMCell(object):
    """A standard LSTM cell (gates i, j, f, o; forget bias added to f; no peepholes).

    new_c = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j);  new_h = tanh(new_c) * sigmoid(o)
    with [i, j, f, o] = [x, h] W + b.  State: `LSTMState(c, h)`, each [B, num_units].
    """

    def __init__(self, input_size, num_units, name="lstm_cell", forget_bias=1.0,
                 initializer=None):
        self.input_size = int(input_size)
        self.num_units = int(num_units)
        self.forget_bias = float(forget_bias)
        with tf.variable_scope(name):
            self.kernel = tf.get_variable(
                "kernel", [self.input_size + self.num_units, 4 * self.num_units],
                dtype=tf.float32, initializer=initializer or seeded(tf.glorot_uniform_initializer))
            self.bias = tf.get_variable("bias", [4 * self.num_units], dtype=tf.float32,
                                        initializer=tf.zeros_initializer())

    @property
    def variables(self):
        return [self.kernel, self.bias]

    @property
    def state_size(self):
        return LSTMState(self.num_units, self.num_units)

    @property
    def output_size(self):
        return self.num_units

    def zero_state(self, batch_size, dtype=tf.float32):
        zeros = tf.zeros(tf.stack([batch_size, self.num_units]), dtype=dtype)
        return LSTMState(zeros, zeros)

    def __call__(self, inputs, state, scope=None):
        c, h = state
        z = tf.matmul(tf.concat([inputs, h], axis=1), self.kernel) + self.bias
        i, j, f, o = tf.split(z, 4, axis=1)
        new_c = c * tf.sigmoid(f + self.forget_bias) + tf.sigmoid(i) * tf.tanh(j)
        new_h = tf.tanh(new_c) * tf.sigmoid(o)
        return new_h, LSTMState(new_c, new_h)


class MultiLSTMCell(object):
    """A stack of `LSTMCell`s; the state is a tuple with one `LSTMState` per layer."""

    def __init__(self, input_size, num_units, num_layers, name="rnn", forget_bias=1.0):
        self.cells = []
        with tf.variable_scope(name):
            size = input_size
            for layer in range(int(num_layers)):
                self.cells.append(LSTMCell(size, num_units, name="cell_%d" % layer,
                                           forget_bias=forget_bias))
                size = num_units

    @property
    def variables(self):
        return [v for cell in self.cells for v in cell.variables]

    @property
    def state_size(self):
        return tuple(cell.state_size for cell in self.cells)

    @property
    def output_size(self):
        return self.cells[-1].output_size

    def zero_state(self, batch_size, dtype=tf.float32):
        return tuple(cell.zero_state(batch_size, dtype) for cell in self.cells)

    def __call__(self, inputs, state, scope=None):
        new_states = []
        x = inputs
        for cell, s in zip(self.cells, state):
            x, s_new = cell(x, s)
            new_states.append(s_new)
        return x, tuple(new_states)

    def state_placeholders(self, name="state"):
        """Placeholders for a fed state ([None, num_units] each), same structure as the state."""
        return tuple(LSTMState(
            tf.placeholder(tf.float32, [None, cell.num_units], name="%s_%d_c" % (name, k)),
            tf.placeholder(tf.float32, [None, cell.num_units], name="%s_%d_h" % (name, k)))
            for k, cell in enumerate(self.cells))


def block_lstm(cell, inputs, lengths):
    """`cell` (a MultiLSTMCell) over inputs [B, T, D] with lengths [B] -> outputs [B, T, H], zero
    past each length: dynamic_rnn's outputs, each layer one fused BlockLSTM op (and one gradient
    op) instead of a while loop of ~175 executed ops per step. Its forward values are dynamic_rnn's
    to the bit (the same matmul, [x, h] W + b, and gate order i, j, f, o); its gradient sums the
    steps' contributions in another order, so training numbers differ in the last bits."""
    x = tf.transpose(inputs, [1, 0, 2])                                  # time-major [T, B, D]
    for layer in cell.cells:
        zeros = tf.zeros(tf.stack([tf.shape(x)[1], layer.num_units]), x.dtype)
        peephole = tf.zeros([layer.num_units], x.dtype)
        x = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.cast(tf.shape(x)[0], tf.int64), x=x, cs_prev=zeros, h_prev=zeros,
            w=layer.kernel, wci=peephole, wcf=peephole, wco=peephole, b=layer.bias,
            forget_bias=layer.forget_bias, cell_clip=-1.0, use_peephole=False)[6]   # h
    mask = tf.sequence_mask(lengths, tf.shape(inputs)[1], dtype=x.dtype)  # [B, T]
    outputs = tf.transpose(x, [1, 0, 2]) * tf.expand_dims(mask, -1)
    outputs.set_shape(inputs.shape[:-1].concatenate([cell.output_size]))
    return outputs


def flatten_state(state):
    """A nested LSTM state as a flat list of tensors/arrays (layer-major, c before h)."""
    return [t for layer in state for t in layer]


def unflatten_state(flat):
    """Inverse of `flatten_state`."""
    return tuple(LSTMState(flat[2 * k], flat[2 * k + 1]) for k in range(len(flat) // 2))


# -- per-row gathers with the same semantics on TF 1.15 and TF 2.x ------------------------------
# `tf.gather(params, indices, batch_dims=b)` is TF 2.x-only when b equals rank(indices): TF 1.15
# requires batch_dims in [-rank(indices), rank(indices)) and fails at run time otherwise
# ("Expected batch_dims in the range [-1, 1), but got 1"). The helpers below use only a plain
# axis-0 gather on a flattened tensor and `gather_nd` without batch dimensions, whose semantics
# are the same in both versions; no module outside this one passes `batch_dims` to a gather
# (tests/test_tfcompat.py checks the source).

def take_along_last_axis(params, indices):
    """params [d1..dn, N], indices [d1..dn, K] int -> [d1..dn, K] with
    out[..., k] = params[..., indices[..., k]] (numpy's take_along_axis on the last axis).

    Indices must lie in [0, N); gradients flow into `params`.
    """
    params = tf.convert_to_tensor(params)
    indices = tf.convert_to_tensor(indices)
    n = tf.shape(params, out_type=indices.dtype)[-1]
    index_shape = tf.shape(indices, out_type=indices.dtype)
    rows = tf.reduce_prod(index_shape[:-1])
    per_row = tf.reshape(indices, tf.stack([rows, index_shape[-1]]))
    offsets = tf.expand_dims(tf.range(rows, dtype=indices.dtype) * n, 1)
    picked = tf.gather(tf.reshape(params, [-1]), per_row + offsets)
    out = tf.reshape(picked, index_shape)
    out.set_shape(indices.shape)
    return out


def pick_per_row(params, index):
    """params [d1..dn, N], index [d1..dn] int -> params[..., index[...]] as [d1..dn]."""
    index = tf.convert_to_tensor(index)
    return tf.squeeze(take_along_last_axis(params, tf.expand_dims(index, -1)), axis=[-1])


def gather_per_batch(params, index):
    """params [B, T, ...], index [B] int -> [B, ...] with out[b] = params[b, index[b]]."""
    index = tf.convert_to_tensor(index)
    rows = tf.range(tf.shape(index, out_type=index.dtype)[0], dtype=index.dtype)
    return tf.gather_nd(params, tf.stack([rows, index], axis=1))
