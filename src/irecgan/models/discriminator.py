"""The discriminator D (SPEC 3.3): scores a session as real (offline) or generated.

Two heads, one interface (`D_HEADS`, `build_discriminator`): `Discriminator` is the authors'
(the default), `SequenceDiscriminator` a head that sees the lists, ranks, purchases and
positions. Both score a session by a masked mean of per-position terms, so the generation engine
(models.step_graph.StepGraph) carries a prefix's LSTM state and partial sum into its rollouts alike:
`advance` consumes one click, `position_terms` scores a position from the LSTM output.
"""
import functools

from irecgan.data.vocab import EOS, N_SPECIAL
from irecgan.models.common import (SequenceEncoder, Trainer, batch_placeholders,
                                   SMALL_TABLE_ROWS, candidate_dots, last_axis_matmul,
                                   masked_log_softmax, scope_trainables)
from irecgan.tfcompat import Dense, pick_per_row, seeded, tf

SCOPE = "discriminator"
CHOICE_TEMPERATURE = 0.1
D_HEADS = ("authors", "sequence")


def _score_sessions(d, learning_rate, clip_norm):
    """The session-level tensors of a head `d` whose `terms` [B, n] are built: logit (masked
    mean of the terms), prob, loss (sigmoid cross-entropy against `labels`), accuracy, and the
    trainer over the scope's variables."""
    d.logit = (tf.reduce_sum(d.terms * d.mask, axis=1)
               / tf.maximum(tf.reduce_sum(d.mask, axis=1), 1.0))
    d.prob = tf.sigmoid(d.logit)
    d.loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=d.labels, logits=d.logit))
    predicted = tf.cast(d.logit > 0.0, tf.float32)
    d.accuracy = tf.reduce_mean(tf.cast(tf.equal(predicted, d.labels), tf.float32))
    d.variables = scope_trainables(SCOPE)
    d.trainer = Trainer(d.loss, d.variables, learning_rate, clip_norm)


class Discriminator(object):
    """Builds the discriminator's part of the graph under variable scope `discriminator`.

    Per position t (state s_t after clicks[:t+1], candidates of step t+1, its target):
      q_t = W_q s_t + b_q, c_j = W_c embed(cand_j) + b_c (both hidden-sized), m_t = sum_j softmax_j(<q_t, c_j> / 0.1) c_j,
      a_t = c_target, w_t = W_p purchase_t + b_p (1 without a purchase head; W_p, b_p start
      from U(-sqrt 3, sqrt 3)),
      term_t = <m_t, a_t> w_t;  logit = masked mean over t of term_t;  D = sigmoid(logit).
    Because the logit is a masked mean of per-step terms, a prefix's LSTM state and partial sum
    can be carried into any continuation (`advance` + `position_terms`, or `step_term`), which
    the generation engine uses.

    Placeholders: clicks [B, n+1], lengths [B], mask [B, n], rec_lists/rec_mask [B, n, K],
      target_index [B, n], purchase [B, n], labels [B] (1 offline, 0 generated).
    Tensors: terms [B, n], logit [B], prob [B], loss, accuracy; trainer `trainer`.
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, use_purchase=True,
                 learning_rate=1e-4, clip_norm=5.0, small_table_rows=SMALL_TABLE_ROWS,
                 fused_lstm=False):
        self.use_purchase = bool(use_purchase)
        self.small_table_rows = int(small_table_rows)  # candidate_dots: whole table or gathered
        with tf.variable_scope(SCOPE):
            batch_placeholders(self, ["clicks", "lengths", "mask", "rec_lists", "rec_mask",
                                      "target_index", "purchase"])
            self.labels = tf.placeholder(tf.float32, [None], name="labels")

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers,
                                           fused=fused_lstm)
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
            _score_sessions(self, learning_rate, clip_norm)

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
    reads_context = False  # `advance` reads the click only (no purchase flag, no position)

    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def advance(self, click, state, click_purchase=None, position=None):
        """Consume one click [B] -> (LSTM output [B, H], new state); the click's purchase flag
        and position are not read by this head."""
        return self.encoder.step(click, state)

    def step_term(self, click, state, cand_ids, cand_mask, target_index, purchase,
                  click_purchase=None, position=None):
        """Advance by one click and score that position: click [B], candidates [B, K],
        target_index/purchase [B] -> (term [B], new state)."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.advance(click, state, click_purchase, position)
            return self.position_terms(output, cand_ids, cand_mask, target_index,
                                       purchase), new_state


class SequenceDiscriminator(object):
    """A discriminator that sees the lists, the ranks, the purchases and the positions
    (`d_head=sequence`; not the paper's, SPEC 3.3), under variable scope `discriminator`.

    LSTM input of step t: [embed(click_t), purchase flag of click_t, log(1 + t)] (the first
      click's flag is read as 0: the generator's first clicks never carry a purchase, so a real
      first purchase would tell the sessions apart by construction).
    Per position t (h_t the LSTM output after click_t, L_t the list shown before c_{t+1}, its
      candidates L_t + [_EOS], the target c_{t+1} at index r_t):
      x_t = [h_t, embed(c_{t+1}), mean_{j in L_t} embed(j), onehot(slot_t), purchase of c_{t+1}]
      with slot_t = r_t for r_t < k, k when c_{t+1} = _EOS, k + 1 for a rank >= k (longer
      logged lists); at an end step (c_{t+1} = _EOS) the list mean is 0;
      term_t = w_2 . tanh(W_1 x_t + b_1) + b_2;  logit = masked mean over t of term_t.
    Why this form: the per-position term reads the LSTM output of the prefix plus that step's
    list, target and purchase, exactly what `StepGraph`'s act half has (candidates, choice,
    purchase), so generation keeps scoring a position from the fed-back LSTM output and carries
    the state and partial sum into rollouts as with the authors' head; the only extra feeds are
    the consumed click's purchase flag and position (`reads_context`). The list and rank of
    c_{t+1} are read by the term of position t rather than by the LSTM at step t + 1 because
    the term has them at hand; the LSTM remembers clicks, purchases and positions. The end
    step's list is hidden: make_batch pads it with a random sample for real and generated
    sessions alike (SPEC 2.4) while generation scores the agent's last list, so only the fact
    of ending (slot k) and the history are comparable there. The rank slots make a click
    pattern over the list's order visible; the list mean, which items were shown.

    Same placeholders and tensors as `Discriminator` (terms, logit, prob, loss, accuracy,
    trainer `trainer`), so the training losses and feeds serve both heads.
    """

    reads_context = True   # `advance` reads the click's purchase flag and position

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, k=10,
                 learning_rate=1e-4, clip_norm=5.0, mlp_hidden=None, fused_lstm=False):
        self.k = int(k)
        self.embed_dim = int(embed_dim)
        mlp_hidden = int(mlp_hidden or hidden)
        with tf.variable_scope(SCOPE):
            batch_placeholders(self, ["clicks", "lengths", "mask", "rec_lists", "rec_mask",
                                      "target_index", "purchase"])
            self.labels = tf.placeholder(tf.float32, [None], name="labels")

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers,
                                           extra_inputs=2, fused=fused_lstm)
            features = hidden + 2 * self.embed_dim + (self.k + 2) + 1
            self.mlp_hidden = Dense(features, mlp_hidden, name="term_hidden",
                                    activation=tf.tanh)
            self.mlp_out = Dense(mlp_hidden, 1, name="term_out")

            inputs = self.clicks[:, :-1]                                  # [B, n]
            # the purchase flag of click t is position t-1's target's; 0 for the first click
            bought = tf.concat([tf.zeros_like(self.purchase[:, :1]), self.purchase[:, :-1]],
                               axis=1)                                    # [B, n]
            position = tf.tile(tf.expand_dims(tf.range(tf.shape(inputs)[1]), 0),
                               tf.stack([tf.shape(inputs)[0], 1]))        # [B, n]
            states, _ = self.encoder.encode(inputs, self.lengths,
                                            self.step_features(bought, position))
            self.states = states                                          # [B, n, H]
            self.terms = self.position_terms(states, self.rec_lists, self.rec_mask,
                                             self.target_index, self.purchase)
            _score_sessions(self, learning_rate, clip_norm)

    @staticmethod
    def step_features(click_purchase, position):
        """click_purchase / position [...] int -> the LSTM's extra inputs [..., 2]:
        [purchase flag, log(1 + position)]."""
        return tf.stack([tf.cast(click_purchase, tf.float32),
                         tf.log1p(tf.cast(position, tf.float32))], axis=-1)

    def position_terms(self, states, cand_ids, cand_mask, target_index, purchase):
        """states [..., H], cand_ids/cand_mask [..., K], target_index/purchase [...] -> [...]."""
        target = pick_per_row(cand_ids, target_index)                     # [...]
        ended = tf.equal(target, EOS)                                     # [...]
        items = cand_mask * tf.cast(cand_ids >= N_SPECIAL, tf.float32)    # [..., K]
        items = items * tf.expand_dims(1.0 - tf.cast(ended, tf.float32), -1)
        list_mean = (tf.reduce_sum(tf.expand_dims(items, -1) * self.encoder.embed(cand_ids),
                                   axis=-2)
                     / tf.maximum(tf.reduce_sum(items, -1, keepdims=True), 1.0))  # [..., E]
        slot = tf.where_v2(ended, self.k,
                           tf.where_v2(target_index < self.k, target_index, self.k + 1))
        x = tf.concat([states, self.encoder.embed(target), list_mean,
                       tf.one_hot(slot, self.k + 2, dtype=tf.float32),
                       tf.expand_dims(tf.cast(purchase, tf.float32), -1)], axis=-1)
        return self.mlp_out(self.mlp_hidden(x))[..., 0]

    # -- one-step graph -------------------------------------------------------------------
    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def advance(self, click, state, click_purchase, position):
        """Consume one click [B] with its purchase flag and position [B] (int) -> (LSTM output
        [B, H], new state)."""
        if click_purchase is None or position is None:
            raise ValueError("the sequence head reads the click's purchase flag and position")
        return self.encoder.step(click, state, self.step_features(click_purchase, position))

    def step_term(self, click, state, cand_ids, cand_mask, target_index, purchase,
                  click_purchase=None, position=None):
        """As `Discriminator.step_term`, with the consumed click's purchase flag and position
        [B]."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.advance(click, state, click_purchase, position)
            return self.position_terms(output, cand_ids, cand_mask, target_index,
                                       purchase), new_state
