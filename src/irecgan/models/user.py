"""The user behaviour model U (SPEC 3.1): click distribution over the shown list, purchase head."""
from irecgan.models.common import (SequenceEncoder, Trainer, batch_placeholders,
                                   SMALL_TABLE_ROWS, candidate_dots, gumbel,
                                   masked_log_softmax, masked_mean, scope_trainables)
from irecgan.tfcompat import Dense, pick_per_row, tf

SCOPE = "user"
PURCHASE_CLASS_EXPONENT = 5.3  # the reference's class weight (purchase + 1) ** 5.3
REFERENCE_PURCHASE_WEIGHT = 2.0 ** PURCHASE_CLASS_EXPONENT  # ~39.4, the weight of a purchase


class UserModel(object):
    """Builds the user model's part of the graph under variable scope `user`.

    Placeholders (None batch/time/candidate dims): clicks [B, n+1], lengths [B], mask [B, n],
      rec_lists [B, n, K], rec_mask [B, n, K], target_index [B, n], purchase [B, n], q_d [B, n].
    Tensors: click_log_probs [B, n, K] (masked log-softmax over the candidates), click_nll [B, n],
      purchase_nll [B, n] (class-weighted: `purchase_weight` on purchases, 1 otherwise; zeros
      when the purchase head is off),
      mle_loss, adv_loss (q_d-weighted), with trainers `mle` and `adv` sharing the variables and
      the learning rate.
    One-step graph: `step(click, state)` -> (preference [B, E], state); `click_log_probs_for`
      scores fed candidates with a preference; `purchase_prob_for` gives P(purchase).
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, purchase_head=True,
                 learning_rate=5e-4, clip_norm=5.0, lambda_p=1.0,
                 purchase_weight=REFERENCE_PURCHASE_WEIGHT, small_table_rows=SMALL_TABLE_ROWS,
                 fused_lstm=False):
        self.purchase_head = bool(purchase_head)
        self.small_table_rows = int(small_table_rows)  # candidate_dots: whole table or gathered
        # the purchase class's weight in the purchase cross-entropy (no-purchase weighs 1); the
        # reference's (1 + 1) ** 5.3 ~ 39 is about the inverse of CIKM's 2.4 % purchase rate
        self.purchase_weight = float(purchase_weight)
        self.embed_dim = int(embed_dim)
        with tf.variable_scope(SCOPE):
            batch_placeholders(self, ["clicks", "lengths", "mask", "rec_lists", "rec_mask",
                                      "target_index", "purchase", "q_d"])

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers,
                                           fused=fused_lstm)
            self.pref_layer = Dense(hidden, embed_dim, name="preference")
            if self.purchase_head:
                self.purchase_state = Dense(hidden, embed_dim, name="purchase_state",
                                            use_bias=False)
                self.purchase_item = Dense(embed_dim, embed_dim, name="purchase_item",
                                           use_bias=False)
                self.purchase_out = Dense(embed_dim, 2, name="purchase_out")

            states, _ = self.encoder.encode(self.clicks[:, :-1], self.lengths)
            self.states = states                                      # [B, n, H]
            pref = self.pref_layer(states)
            self.click_log_probs = self.click_log_probs_for(pref, self.rec_lists, self.rec_mask)
            self.click_probs = tf.exp(self.click_log_probs) * self.rec_mask
            self.click_nll = -pick_per_row(self.click_log_probs, self.target_index)

            if self.purchase_head:
                targets = self.clicks[:, 1:]
                logits = self._purchase_logits(states, self.encoder.embed(targets))
                self.purchase_prob = tf.nn.softmax(logits)[..., 1]
                weight = 1.0 + (self.purchase_weight - 1.0) * tf.cast(self.purchase,
                                                                       tf.float32)
                self.purchase_nll = weight * tf.nn.sparse_softmax_cross_entropy_with_logits(
                    labels=self.purchase, logits=logits)
            else:
                self.purchase_prob = tf.zeros_like(self.click_nll)
                self.purchase_nll = tf.zeros_like(self.click_nll)

            self.mle_loss = masked_mean(self.click_nll + self.purchase_nll, self.mask)
            self.adv_loss = masked_mean(
                tf.stop_gradient(self.q_d) * (self.click_nll + lambda_p * self.purchase_nll),
                self.mask)

            self.variables = scope_trainables(SCOPE)
            self.mle = Trainer(self.mle_loss, self.variables, learning_rate, clip_norm,
                               name="train_mle")
            # one learning rate for both objectives
            self.adv = Trainer(self.adv_loss, self.variables, self.mle.learning_rate, clip_norm,
                               name="train_adv")

    def _purchase_logits(self, states, target_embedding):
        """softmax(W_2 ((W_s s) * (W_e e_target))), no gradient into s or e_target."""
        joint = (self.purchase_state(tf.stop_gradient(states))
                 * self.purchase_item(tf.stop_gradient(target_embedding)))
        return self.purchase_out(joint)

    # -- pieces shared with the one-step graph -----------------------------------------------
    def click_log_probs_for(self, pref, cand_ids, cand_mask):
        """pref [..., E], cand_ids/cand_mask [..., K] -> masked log-softmax [..., K] of
        v_j = mean_d(pref[d] * embed(cand_j)[d])."""
        v = candidate_dots(tf.expand_dims(pref, -2), self.encoder.embedding, cand_ids,
                           self.small_table_rows)[0] / float(self.embed_dim)  # [..., K]
        return masked_log_softmax(v, cand_mask)

    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def step(self, click, state):
        """click [B] int32, state -> (preference [B, E], LSTM output [B, H], new state)."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.encoder.step(click, state)
            return self.pref_layer(output), output, new_state

    def sample_click(self, log_probs, seed):
        """Gumbel-max sample of a candidate index from log_probs [B, K] -> int32 [B].
        `seed`: int64 [2] tensor (stateless noise)."""
        noise = gumbel(tf.shape(log_probs), seed=seed)
        return tf.argmax(log_probs + noise, axis=-1, output_type=tf.int32)

    def purchase_prob_for(self, output, clicked_ids):
        """P(purchase) [B] for LSTM outputs [B, H] and clicked item ids [B]; 0 without the head."""
        if not self.purchase_head:
            return tf.zeros(tf.shape(clicked_ids), tf.float32)
        logits = self._purchase_logits(output, self.encoder.embed(clicked_ids))
        return tf.nn.softmax(logits)[..., 1]
