"""The agent A (SPEC 3.2): an LSTM policy over all items, trained by return-weighted REINFORCE
(the paper's objective) or one of irecgan.models.objectives' (issue 34)."""
from irecgan.models.common import (N_SPECIAL, SequenceEncoder, Trainer, batch_placeholders,
                                   gumbel, masked_mean, scope_trainables)
from irecgan.models.objectives import ObjectiveHeads
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
    `objective` (irecgan.models.objectives): "paper" builds exactly the above, `trainer`
      minimising `loss`; any other adds the placeholders own [B] (1: a session the agent
      produced), shown [B, n, k] and shown_mask [B, n] (the list the agent showed at each
      position of an own session; `data.shown.shown_lists`), the objective's heads
      (`objective_heads`), `trainer` minimising their policy loss over the policy variables and
      `aux_trainer` (learning rate `aux_lr`, its loss scaled by trainer.loss_scale) the heads'
      losses over the head variables; trainer.train_op runs both.
    `gen_temperature`: the temperature of the lists sampled in generation (`recommend`).
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, k=10,
                 learning_rate=1e-4, clip_norm=5.0, objective="paper", normalize_advantage=False,
                 propensity="estimated", weight_cap=10.0, aux_lr=1e-3, gen_temperature=1.0,
                 logged_term="objective", own_clicks="none", fused_lstm=False):
        self.vocab_size = int(vocab_size)
        self.k = int(k)
        self.objective = objective
        self.logged_term = logged_term
        self.own_clicks = own_clicks
        self.gen_temperature = float(gen_temperature)
        if not self.gen_temperature > 0.0:
            raise ValueError("gen_temperature must be > 0, got %r" % gen_temperature)
        self.objective_heads = self.aux_trainer = None
        with tf.variable_scope(SCOPE):
            self.scope_name = tf.get_variable_scope().name
            batch_placeholders(self, ["clicks", "lengths", "mask", "returns", "rec_lists"])

            self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers,
                                           fused=fused_lstm)
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
            if objective == "paper":
                self.trainer = Trainer(self.loss, self.variables, learning_rate, clip_norm)
            else:
                self._build_objective(states, real, real_logits, targets, learning_rate,
                                      clip_norm, normalize_advantage, propensity, weight_cap,
                                      aux_lr)

    def _build_objective(self, states, real, real_logits, targets, learning_rate, clip_norm,
                         normalize, propensity, cap, aux_lr):
        self.own = tf.placeholder(tf.float32, [None], name="own")
        self.shown = tf.placeholder(tf.int32, [None, None, self.k], name="shown")
        self.shown_mask = tf.placeholder(tf.float32, [None, None], name="shown_mask")
        self.real, self.real_logits, self.targets = real, real_logits, targets
        self.real_states = tf.gather_nd(states, real)
        self.not_end = tf.sequence_mask(self.lengths - 1, tf.shape(self.mask)[1],
                                        dtype=tf.float32)
        self.policy_vars = list(self.variables)
        heads = ObjectiveHeads(self, self.objective, normalize, propensity, cap,
                               n_items=self.vocab_size - N_SPECIAL,
                               temperature=self.gen_temperature,
                               logged_term=self.logged_term, own_clicks=self.own_clicks)
        self.objective_heads = heads
        self.trainer = Trainer(heads.policy_loss, self.policy_vars, learning_rate, clip_norm)
        if heads.head_vars:   # topk_correction with a known propensity has no head
            self.aux_trainer = Trainer(heads.aux_loss * self.trainer.loss_scale,
                                       heads.head_vars, aux_lr, clip_norm, name="aux_train")
            self.trainer.train_op = tf.group(self.trainer.train_op, self.aux_trainer.train_op)
        self.variables = scope_trainables(SCOPE)

    # -- one-step graph -------------------------------------------------------------------
    def zero_state(self, batch_size):
        return self.encoder.zero_state(batch_size)

    def step(self, click, state):
        """click [B] int32, state -> (logits [B, V], new state). Reuses the trained weights."""
        with tf.name_scope(SCOPE + "_step"):
            output, new_state = self.encoder.step(click, state)
            return self.output_layer(output), new_state

    def recommend(self, logits, greedy, seed, temperature=1.0):
        """Top-k items from logits [B, V], excluding the special tokens.

        Sampling (greedy=False) is top-k of Gumbel-perturbed log pi, i.e. k items drawn without
        replacement with probability proportional to pi; greedy=True is plain top-k. Both rank
        the logits directly (top-k of log pi + g = top-k of logits + g).
        `greedy` may be a python bool or a scalar bool tensor; `seed` an int64 [2] tensor (the
        stateless noise seed). `temperature`: the sampled lists rank log pi / temperature + g
        (Plackett-Luce of softmax(logits / temperature)); 1 is exactly the above, greedy lists
        ignore it. Returns int32 [B, k] indices.
        """
        # log pi = logits - logsumexp(logits) per row: a shift that changes no row's top k, so
        # the logits are ranked as they are (a [B, V] log-softmax less per step)
        log_pi = logits[:, N_SPECIAL:]
        if greedy is not True and float(temperature) != 1.0:
            sampled = log_pi / float(temperature)
        else:
            sampled = log_pi
        if greedy is True:
            scores = log_pi
        elif greedy is False:
            scores = sampled + gumbel(tf.shape(log_pi), seed=seed)
        else:  # a cond, not a select: no noise drawn when greedy, no [B, V] select otherwise
            scores = tf.cond(greedy, lambda: log_pi,
                             lambda: sampled + gumbel(tf.shape(log_pi), seed=seed))
        _, top = tf.nn.top_k(scores, k=self.k, sorted=True)
        return top + N_SPECIAL


def reinforce_loss(nll, weights, mask):
    """sum_t w_t * mask_t * nll_t / sum(mask): REINFORCE with the return as weight (SPEC 3.2).

    The weights enter through stop_gradient (they are data, not a function of the policy).
    nll, weights, mask: any one shape ([B, T], or [N] for the real positions with mask 1).
    """
    return masked_mean(tf.stop_gradient(weights) * nll, mask)
