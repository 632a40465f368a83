"""Pieces shared by the three models: embeddings, sequence encoding, optimizer, masked softmax."""
from irecgan.tfcompat import MultiLSTMCell, block_lstm, next_op_seed, take_along_last_axis, tf

N_SPECIAL = 4  # _PAD, _UNK, _GO, _EOS
NEG_INF = -1e9
# the models' default for candidate_dots's small_table_rows: tables of at most this many rows are
# scored whole (the simulators'), larger ones (CIKM's 40,004 items) by gathered rows
SMALL_TABLE_ROWS = 1024


def batch_placeholders(owner, names):
    """Placeholders for batch-dict keys (data.batching.make_batch), as attributes of `owner`.

    All have None batch/time/candidate dimensions: clicks [B, n+1], lengths [B], mask [B, n],
    returns [B, n], rec_lists / rec_mask [B, n, K], target_index [B, n], purchase [B, n],
    q_d [B, n].
    """
    specs = {"clicks": (tf.int32, [None, None]), "lengths": (tf.int32, [None]),
             "mask": (tf.float32, [None, None]), "returns": (tf.float32, [None, None]),
             "rec_lists": (tf.int32, [None, None, None]),
             "rec_mask": (tf.float32, [None, None, None]),
             "target_index": (tf.int32, [None, None]), "purchase": (tf.int32, [None, None]),
             "q_d": (tf.float32, [None, None])}
    for name in names:
        dtype, shape = specs[name]
        setattr(owner, name, tf.placeholder(dtype, shape, name=name))


def embedding_initializer(n_special=N_SPECIAL):
    """Special tokens start at zero, items at N(0, 1) (SPEC 2.2)."""

    def init(shape, dtype=tf.float32, partition_info=None):
        zeros = tf.zeros([n_special, shape[1]], dtype=dtype)
        items = tf.random_normal([shape[0] - n_special, shape[1]], dtype=dtype,
                                 seed=next_op_seed())
        return tf.concat([zeros, items], axis=0)
    return init


class SequenceEncoder(object):
    """An embedding table and a stacked LSTM over it, usable over whole sequences or one step.

    Built once; `encode` (dynamic_rnn over [B, T] ids) and `step` (one [B] id with a fed state)
    share the same variables. `extra_inputs` > 0: the LSTM reads, beside each id's embedding,
    that many float features per step (`extra` [B, T, X] / [B, X] in `encode` / `step`).
    `fused`: `encode` runs each layer as one fused op (`tfcompat.block_lstm`, an opt-in speed
    lever, config `fused_lstm`) instead of dynamic_rnn's while loop: the same outputs, gradients
    summed in another order (not the same bytes).
    """

    def __init__(self, vocab_size, embed_dim, hidden, layers, extra_inputs=0, fused=False):
        self.fused = bool(fused)
        self.vocab_size = int(vocab_size)
        self.embed_dim = int(embed_dim)
        self.hidden = int(hidden)
        self.extra_inputs = int(extra_inputs)
        self.embedding = tf.get_variable("embedding", [self.vocab_size, self.embed_dim],
                                         dtype=tf.float32, initializer=embedding_initializer())
        self.cell = MultiLSTMCell(self.embed_dim + self.extra_inputs, self.hidden, layers,
                                  name="rnn")

    def embed(self, ids):
        return tf.nn.embedding_lookup(self.embedding, ids)

    def _inputs(self, ids, extra):
        if (extra is None) != (self.extra_inputs == 0):
            raise ValueError("this encoder reads %d extra features per step, got %s"
                             % (self.extra_inputs, "none" if extra is None else "some"))
        if extra is None:
            return self.embed(ids)
        return tf.concat([self.embed(ids), extra], axis=-1)

    def encode(self, ids, lengths, extra=None):
        """ids [B, T] int32, lengths [B] (, extra [B, T, X]) -> outputs [B, T, H] (zero past the
        length), final state (None when fused: nothing reads it)."""
        if self.fused:
            return block_lstm(self.cell, self._inputs(ids, extra), lengths), None
        outputs, state = tf.nn.dynamic_rnn(self.cell, self._inputs(ids, extra),
                                           sequence_length=lengths, dtype=tf.float32,
                                           scope="rnn_unroll")
        return outputs, state

    def step(self, ids, state, extra=None):
        """ids [B] int32, state (per-layer LSTMState) (, extra [B, X]) -> output [B, H], new
        state."""
        return self.cell(self._inputs(ids, extra), state)

    def zero_state(self, batch_size):
        return self.cell.zero_state(batch_size, tf.float32)


class Trainer(object):
    """Adam with gradient clipping at a global norm, over an explicit `var_list`.

    Holds the learning-rate variable (decayed by running `decay_op`), a step counter and the
    `loss_scale` placeholder (default 1) that multiplies the loss of one update.
    `learning_rate` is a float (a new variable is made) or the variable of another Trainer,
    for two objectives that share one learning rate.
    """

    def __init__(self, loss, var_list, learning_rate, clip_norm=5.0, name="train"):
        with tf.variable_scope(name):
            if not hasattr(learning_rate, "op"):  # a number, not a variable
                learning_rate = tf.get_variable(
                    "learning_rate", [], dtype=tf.float32, trainable=False,
                    initializer=tf.constant_initializer(float(learning_rate)))
            self.learning_rate = learning_rate
            self.step = tf.get_variable("step", [], dtype=tf.int64, trainable=False,
                                        initializer=tf.zeros_initializer())
            self.lr_decay_factor = tf.placeholder_with_default(
                tf.constant(0.95, tf.float32), [], name="lr_decay_factor")
            self.decay_op = tf.assign(self.learning_rate,
                                      self.learning_rate * self.lr_decay_factor)
            # loss_scale: a per-batch factor on the loss (fed by the epoch loops: the batch's
            # predicting positions over the mean per batch, so that every position weighs the
            # same whatever batch it falls in; see data.batching.position_scales)
            self.loss_scale = tf.placeholder_with_default(
                tf.constant(1.0, tf.float32), [], name="loss_scale")
            optimizer = tf.train.AdamOptimizer(self.learning_rate)
            grads = tf.gradients(loss * self.loss_scale, var_list)
            clipped, self.grad_norm = tf.clip_by_global_norm(grads, clip_norm)
            self.train_op = optimizer.apply_gradients(list(zip(clipped, var_list)),
                                                      global_step=self.step)


def last_axis_matmul(x, w, transpose_b=False):
    """x [..., D] times w ([D, F], or [F, D] with transpose_b) -> [..., F]."""
    out_dim = w.shape.as_list()[0 if transpose_b else 1]
    flat = tf.matmul(tf.reshape(x, [-1, tf.shape(x)[-1]]), w, transpose_b=transpose_b)
    out = tf.reshape(flat, tf.concat([tf.shape(x)[:-1], [out_dim]], axis=0))
    out.set_shape(x.shape[:-1].concatenate([out_dim]))
    return out


def candidate_dots(queries, table, cand_ids, small_table_rows=SMALL_TABLE_ROWS):
    """queries [..., Q, E] (Q static), table [V, E] (e.g. an embedding), cand_ids [..., K] int
    -> a list of Q tensors [..., K]: out[q][..., k] = <queries[..., q, :], table[cand_ids[...,
    k]]>.

    A table of at most small_table_rows rows (the simulators' 54-104) is scored whole, [..., Q,
    V] in one matmul, and each candidate's score picked: the [..., K, E] candidate vectors (K is
    up to 100 at an end step) are never formed, nor their gradient. A larger table's candidate
    rows are gathered and multiplied (one batched matmul), as [..., Q, V] would be the larger.
    (Unstacked, not sliced: a strided slice's gradient rebuilds the whole tensor per slice.)"""
    n_queries = queries.shape.as_list()[-2]
    rows = table.shape.as_list()[0]
    if rows is not None and rows <= small_table_rows:
        full = last_axis_matmul(queries, table, transpose_b=True)          # [..., Q, V]
        return [take_along_last_axis(part, cand_ids)
                for part in tf.unstack(full, num=n_queries, axis=-2)]
    cands = tf.gather(table, cand_ids)                                     # [..., K, E]
    return tf.unstack(tf.matmul(queries, cands, transpose_b=True), num=n_queries, axis=-2)


def masked_log_softmax(logits, mask):
    """Log-softmax over the last axis restricted to entries where mask = 1.

    Entries with mask 0 get probability 0 (log-prob NEG_INF-ish); rows whose mask is all zero
    (padding) give a finite uniform distribution, never NaN.
    """
    masked = tf.where_v2(mask > 0, logits, NEG_INF * tf.ones_like(logits))
    return tf.nn.log_softmax(masked, axis=-1)


def masked_mean(values, mask):
    """sum(values * mask) / max(sum(mask), 1) over all entries."""
    return tf.reduce_sum(values * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


def gumbel(shape, seed):
    """Standard Gumbel noise -log(-log(U)), U ~ U(0, 1) clipped away from 0 and 1.

    `seed` is an int64 tensor [2] (stateless random op): the same fed seed gives the same noise,
    which makes generation reproducible and resumable from a numpy RandomState.
    """
    u = tf.random.stateless_uniform(shape, seed=seed, minval=1e-10, maxval=1.0 - 1e-7)
    return -tf.log(-tf.log(u))


def scope_variables(scope_name):
    """All global variables under `scope_name/` (the scope's Saver var_list)."""
    return tf.get_collection(tf.GraphKeys.GLOBAL_VARIABLES, scope=scope_name + "/")


def scope_trainables(scope_name):
    return tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope=scope_name + "/")
