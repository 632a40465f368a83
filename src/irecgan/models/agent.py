"""The agent A (SPEC 3.2): an LSTM policy over all items, trained by return-weighted REINFORCE."""
from irecgan.models.common import (N_SPECIAL, SequenceEncoder, Trainer, batch_placeholders,
                                   gumbel, masked_mean, scope_trainables)
from irecgan.tfcompat import Dense, take_along_last_axis, tf

SCOPE = "agent"


class Agent(object):
    """Builds the agent's part of the graph under variable scope `agent`.

    Placeholders (all with None batch and time dimensions):
      clicks [B, n+1], lengths [B], mask [B, n], returns [B, n] (the REINFORCE weights;
      all ones for plain MLE), rec_lists [B, n, K] (for offline evaluation).
    Tensors:
      logits [B, n, V], log_pi [B, n, V] (every position, for evaluation and acting),
      loss (scalar) = reinforce_loss(-log pi(target), returns, mask), computed on the real
      positions only (`real_nll` [N]); cand_probs [B, n, K] = pi at each candidate (P@k).
    One-step graph (`step`): click [B] + fed state -> logits and the new state, used by
      generation and online evaluation; `recommend` turns logits into k items.
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, k=10,
                 learning_rate=1e-4, clip_norm=5.0):
        self.vocab_size = int(vocab_size)
        self.k = int(k)
        with tf.variable_scope(SCOPE):
            batch_placeholders(self, ["clicks", "lengths", "mask", "returns", "rec_lists"])

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers)
            self.output_layer = Dense(hidden, vocab_size, name="policy")

            inputs = self.clicks[:, :-1]
            targets = self.clicks[:, 1:]
            states, _ = self.encoder.encode(inputs, self.lengths)
            self.logits = self.output_layer(states)
            self.log_pi = tf.nn.log_softmax(self.logits, axis=-1)
            # The loss needs the policy at real positions only: the output layer and the softmax
            # over all items run on those rows (padding is most of a batch of mixed lengths,
            # and with 40,000 items this layer is most of the work).
            real = tf.where(self.mask > 0)                                    # [N, 2]
            real_logits = self.output_layer(tf.gather_nd(states, real))      # [N, V]
            self.real_nll = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.gather_nd(targets, real), logits=real_logits)
            self.loss = reinforce_loss(self.real_nll, tf.gather_nd(self.returns, real),
                                       tf.ones_like(self.real_nll))
            pi = tf.exp(self.log_pi)
            self.cand_probs = take_along_last_axis(pi, self.rec_lists)

            self.variables = scope_trainables(SCOPE)
            self.trainer = Trainer(self.loss, self.variables, learning_rate, clip_norm)

    # -- one-step graph -------------------------------------------------------------------
    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def step(self, click, state):
        """click [B] int32, state -> (logits [B, V], new state). Reuses the trained weights."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.encoder.step(click, state)
            return self.output_layer(output), new_state

    def recommend(self, logits, greedy, seed):
        """Top-k items from logits [B, V], excluding the special tokens.

        Sampling (greedy=False) is top-k of Gumbel-perturbed log pi, i.e. k items drawn without
        replacement with probability proportional to pi; greedy=True is plain top-k.
        `greedy` may be a python bool or a scalar bool tensor; `seed` an int64 [2] tensor (the
        stateless noise seed). Returns int32 [B, k] indices.
        """
        log_pi = tf.nn.log_softmax(logits[:, N_SPECIAL:], axis=-1)
        if greedy is True:
            scores = log_pi
        elif greedy is False:
            scores = log_pi + gumbel(tf.shape(log_pi), seed=seed)
        else:
            noise = gumbel(tf.shape(log_pi), seed=seed)
            scores = tf.where_v2(greedy, log_pi, log_pi + noise)
        _, top = tf.nn.top_k(scores, k=self.k, sorted=True)
        return top + N_SPECIAL


def reinforce_loss(nll, weights, mask):
    """sum_t w_t * mask_t * nll_t / sum(mask): REINFORCE with the return as weight (SPEC 3.2).

    The weights enter through stop_gradient (they are data, not a function of the policy).
    nll, weights, mask: any one shape ([B, T], or [N] for the real positions with mask 1).
    """
    return masked_mean(tf.stop_gradient(weights) * nll, mask)
