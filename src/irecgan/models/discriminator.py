"""The discriminator D (SPEC 3.3): scores a session as real (offline) or generated."""
import functools

from irecgan.models.common import (SequenceEncoder, Trainer, batch_placeholders,
                                   SMALL_TABLE_ROWS, candidate_dots, last_axis_matmul,
                                   masked_log_softmax, scope_trainables)
from irecgan.tfcompat import Dense, pick_per_row, seeded, tf

SCOPE = "discriminator"
CHOICE_TEMPERATURE = 0.1


class Discriminator(object):
    """Builds the discriminator's part of the graph under variable scope `discriminator`.

    Per position t (state s_t after clicks[:t+1], candidates of step t+1, its target):
      q_t = W_q s_t + b_q, c_j = W_c embed(cand_j) + b_c (both hidden-sized), m_t = sum_j softmax_j(<q_t, c_j> / 0.1) c_j,
      a_t = c_target, w_t = W_p purchase_t + b_p (1 without a purchase head; W_p, b_p start
      from U(-sqrt 3, sqrt 3)),
      term_t = <m_t, a_t> w_t;  logit = masked mean over t of term_t;  D = sigmoid(logit).
    Because the logit is a masked mean of per-step terms, a prefix's LSTM state and partial sum
    can be carried into any continuation (`step_term`), which the generation engine uses.

    Placeholders: clicks [B, n+1], lengths [B], mask [B, n], rec_lists/rec_mask [B, n, K],
      target_index [B, n], purchase [B, n], labels [B] (1 offline, 0 generated).
    Tensors: terms [B, n], logit [B], prob [B], loss, accuracy; trainer `trainer`.
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, use_purchase=True,
                 learning_rate=1e-4, clip_norm=5.0, small_table_rows=SMALL_TABLE_ROWS):
        self.use_purchase = bool(use_purchase)
        self.small_table_rows = int(small_table_rows)  # candidate_dots: whole table or gathered
        with tf.variable_scope(SCOPE):
            batch_placeholders(self, ["clicks", "lengths", "mask", "rec_lists", "rec_mask",
                                      "target_index", "purchase"])
            self.labels = tf.placeholder(tf.float32, [None], name="labels")

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers)
            # SPEC 3.3, as the reference builds its head: both projections map to the hidden
            # size and have biases (Glorot-uniform kernels, zero biases), and the scalar
            # purchase weight and bias are drawn from U(-sqrt 3, sqrt 3) (Glorot-uniform of a
            # scalar: fan_in = fan_out = 1)
            self.query = Dense(hidden, hidden, name="query")
            self.cand = Dense(embed_dim, hidden, name="candidate")
            if self.use_purchase:
                limit = 3.0 ** 0.5
                self.w_p = tf.get_variable("purchase_weight", [], tf.float32,
                                           initializer=seeded(functools.partial(
                                               tf.random_uniform_initializer, -limit, limit)))
                self.b_p = tf.get_variable("purchase_bias", [], tf.float32,
                                           initializer=seeded(functools.partial(
                                               tf.random_uniform_initializer, -limit, limit)))

            states, _ = self.encoder.encode(self.clicks[:, :-1], self.lengths)
            self.states = states                                      # [B, n, H]
            self.terms = self.position_terms(states, self.rec_lists, self.rec_mask,
                                             self.target_index, self.purchase)
            self.logit = (tf.reduce_sum(self.terms * self.mask, axis=1)
                          / tf.maximum(tf.reduce_sum(self.mask, axis=1), 1.0))
            self.prob = tf.sigmoid(self.logit)
            self.loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=self.labels, logits=self.logit))
            predicted = tf.cast(self.logit > 0.0, tf.float32)
            self.accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, self.labels), tf.float32))

            self.variables = scope_trainables(SCOPE)
            self.trainer = Trainer(self.loss, self.variables, learning_rate, clip_norm)

    def position_terms(self, states, cand_ids, cand_mask, target_index, purchase):
        """states [..., H], cand_ids/cand_mask [..., K], target_index/purchase [...] -> [...].

        Computed as term = sum_j softmax_j(<q, c_j> / 0.1) <c_j, a> (= <m, a>), and for x = q
        or a, <c_j, x> = <embed(cand_j), W_c x> + <b_c, x>: two queries in embedding space
        against the candidates (`candidate_dots`), so the [..., K, H] candidate vectors of the
        written form (K is up to 100 at the end step) are never built; they made a D step
        slow."""
        q = self.query(states)                                          # [..., H]
        a = self.cand(self.encoder.embed(pick_per_row(cand_ids, target_index)))  # c_target
        qa = tf.stack([q, a], axis=-2)                                  # [..., 2, H]
        with_q, with_a = candidate_dots(
            last_axis_matmul(qa, self.cand.kernel, transpose_b=True), self.encoder.embedding,
            cand_ids, self.small_table_rows)                            # 2 x [..., K]
        scores = (with_q + tf.reduce_sum(q * self.cand.bias, -1, keepdims=True)
                  ) / CHOICE_TEMPERATURE                                # <c_j, q> / 0.1
        choice = tf.exp(masked_log_softmax(scores, cand_mask)) * cand_mask
        term = tf.reduce_sum(choice * (with_a + tf.reduce_sum(a * self.cand.bias, -1,
                                                              keepdims=True)), axis=-1)
        if self.use_purchase:
            term = term * (self.w_p * tf.cast(purchase, tf.float32) + self.b_p)
        return term

    # -- one-step graph -------------------------------------------------------------------
    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def step_term(self, click, state, cand_ids, cand_mask, target_index, purchase):
        """Advance by one click and score that position: click [B], candidates [B, K],
        target_index/purchase [B] -> (term [B], new state)."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.encoder.step(click, state)
            return self.position_terms(output, cand_ids, cand_mask, target_index,
                                       purchase), new_state
