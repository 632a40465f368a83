"""The agent's training objectives beyond the paper's (issue 34; docs/OBJECTIVES.md).

`paper` (SPEC 3.2) is `Agent.loss` itself. The others add heads on the agent's LSTM state, each
fed the state through stop_gradient and trained by its own optimizer (`Agent.aux_trainer`), so a
head's loss never moves the policy and the policy term never moves a head:
  advantage        per click (R_t - V(s_t)) * -log pi(c_{t+1} | s_t); V a value head regressed
                   on R_t (squared error); optionally the advantages normalised per batch.
  slate            on sessions the agent produced (`own` rows), -A_t times the Plackett-Luce
                   log-probability of the whole list shown at s_t under the agent's Gumbel
                   top-k sampling (`plackett_luce_log_prob`), the last list (reward 0)
                   included; on logged sessions advantage's per-click term.
  With `logged_term="paper"` (advantage, slate) the logged (not own) sessions' per-click factor
  is the paper's R_t instead of the advantage: the baseline and the list term only where the
  agent chose the list. With `own_clicks="paper"` (slate) the own sessions keep the paper's
  per-click term R_t * -log pi(c_{t+1} | s_t) beside their list term (added, not replaced).
  topk_correction  Chen et al. (WSDM 2019): per click R_t * lambda_K(pi) * min(pi / beta, cap)
                   * -log pi(c_{t+1} | s_t), pi and beta of the clicked item; beta the logging
                   propensity (`propensity` uniform: 1 / n_items; estimated: a behaviour head
                   fitted to the logged lists); on the agent's own sessions beta = pi.
"""
from irecgan.models.common import N_SPECIAL, NEG_INF, masked_mean, scope_trainables
from irecgan.tfcompat import Dense, take_along_last_axis, tf

OBJECTIVES = ("paper", "advantage", "slate", "topk_correction")
PROPENSITIES = ("estimated", "uniform")
LOGGED_TERMS = ("objective", "paper")
OWN_CLICKS = ("none", "paper")
# (option, its default, the objectives that read it when it is set otherwise)
OPTION_NEEDS = (("logged_term", "objective", ("advantage", "slate")),
                ("own_clicks", "none", ("slate",)))


def option_conflict(objective, options):
    """(option, value, "the objectives that read it") for the first of OPTION_NEEDS set away
    from its default in `options` (a dict) while `objective` does not read it; None if none."""
    for key, default, readers in OPTION_NEEDS:
        if options.get(key, default) != default and objective not in readers:
            return key, options[key], " or ".join(readers)
    return None
NORM_EPS = 1e-6


def topk_multiplier(pi, k):
    """lambda_K = K (1 - pi)^(K - 1): d alpha / d pi for alpha = 1 - (1 - pi)^K, the probability
    that an item of single-draw probability pi is in a list of K draws (Chen et al., eq. 8)."""
    return float(k) * tf.pow(1.0 - pi, float(k) - 1.0)


def capped_weight(pi, beta, cap):
    """min(pi / beta, cap): the capped importance weight of the clicked item."""
    return tf.minimum(pi / beta, float(cap))


def plackett_luce_log_prob(scores, lists):
    """log P(lists | scores) under Plackett-Luce (k draws without replacement, each item's
    probability ~ exp(score)): sum_j [z_{l_j} - logsumexp_{i not in l_1..l_{j-1}} z_i].

    scores [N, V] (the items' scores, special tokens already dropped), lists [N, K] int32 indices
    into V, K static, distinct per row. Returns [N]. Stable: the logsumexp of the items still
    available before draw j is logaddexp(logsumexp of the items never listed, logsumexp of
    l_j..l_K)."""
    k = lists.shape.as_list()[-1]
    rows = tf.shape(scores)[0]
    picked = take_along_last_axis(scores, lists)                                 # [N, K]
    row_ids = tf.tile(tf.expand_dims(tf.range(rows), 1), [1, k])
    listed = tf.scatter_nd(tf.reshape(tf.stack([row_ids, lists], -1), [-1, 2]),
                           tf.ones(tf.stack([rows * k]), tf.float32), tf.shape(scores))
    unlisted = tf.reduce_logsumexp(tf.where_v2(listed > 0, NEG_INF * tf.ones_like(scores),
                                               scores), axis=-1)                 # [N]
    total = 0.0
    for j in range(k):
        rest = tf.reduce_logsumexp(picked[:, j:], axis=-1)
        total += picked[:, j] - tf.reduce_logsumexp(tf.stack([unlisted, rest], -1), axis=-1)
    return total


def normalised(values):
    """(values - mean) / (std + NORM_EPS) over all entries of an [N] tensor. The values are first
    shifted by their maximum (exact for equal values), so that equal values give exactly 0, not
    float32 rounding of their mean divided by a std of the same rounding."""
    shifted = values - tf.stop_gradient(tf.reduce_max(values))
    ones = tf.ones_like(values)
    centred = shifted - masked_mean(shifted, ones)
    std = tf.sqrt(masked_mean(tf.square(centred), ones))
    return centred / (std + NORM_EPS)


class ObjectiveHeads(object):
    """The objective's policy loss and its heads, built under the agent's scope.

    agent: the Agent being built (its placeholders, `real` positions, `real_states` [N, H],
    `real_logits` [N, V], `real_nll` [N]); the `own` [B] / `shown` [B, n, K] / `shown_mask`
    [B, n] placeholders are the agent's. Sets:
      policy_loss  the objective's loss of the policy variables;
      aux_loss     the heads' losses (0 when there is no head), of the head variables only;
      head_vars    the heads' variables;
      value [N], advantage [N], weights [N] (the per-click factor of -log pi, for tests),
      pl_log_prob [N] (slate), beta [N] (topk_correction).
    """

    def __init__(self, agent, objective, normalize=False, propensity="estimated", cap=10.0,
                 n_items=None, temperature=1.0, logged_term="objective", own_clicks="none"):
        if objective not in OBJECTIVES[1:]:
            raise ValueError("objective must be one of %s, got %r" % (OBJECTIVES[1:], objective))
        if logged_term not in LOGGED_TERMS:
            raise ValueError("logged_term must be one of %s, got %r" % (LOGGED_TERMS,
                                                                        logged_term))
        if own_clicks not in OWN_CLICKS:
            raise ValueError("own_clicks must be one of %s, got %r" % (OWN_CLICKS, own_clicks))
        conflict = option_conflict(objective, dict(logged_term=logged_term,
                                                   own_clicks=own_clicks))
        if conflict:
            raise ValueError("%s=%r needs the %s objective, got %r" % (conflict + (objective,)))
        a = agent
        ones = tf.ones_like(a.real_nll)
        returns = tf.gather_nd(a.returns, a.real)
        own = tf.gather(a.own, a.real[:, 0])                                     # [N]
        states = tf.stop_gradient(a.real_states)
        aux = []
        self.value = self.advantage = self.pl_log_prob = self.beta = None
        if objective in ("advantage", "slate"):
            value_layer = Dense(a.encoder.hidden, 1, name="value")
            self.value = tf.squeeze(value_layer(states), -1)
            aux.append(masked_mean(tf.square(returns - self.value), ones))
            advantage = returns - tf.stop_gradient(self.value)
            self.advantage = normalised(advantage) if normalize else advantage
            # the per-click factor on logged rows: the advantage, or the paper's return
            logged = self.advantage if logged_term == "objective" else returns
            if objective == "advantage":
                self.weights = self.advantage if logged_term == "objective" else (
                    own * self.advantage + (1.0 - own) * logged)
                self.policy_loss = masked_mean(tf.stop_gradient(self.weights) * a.real_nll, ones)
            else:
                slate = own * tf.gather_nd(a.shown_mask, a.real)                 # [N]
                # rows without a list read items 0..K-1 (their term is multiplied by 0)
                shown = tf.where_v2(tf.expand_dims(slate > 0, -1),
                                    tf.gather_nd(a.shown, a.real) - N_SPECIAL,
                                    tf.expand_dims(tf.range(a.k), 0))             # [N, K]
                scores = a.real_logits[:, N_SPECIAL:]
                if temperature != 1.0:
                    scores = scores / float(temperature)
                self.pl_log_prob = plackett_luce_log_prob(scores, shown)
                self.weights = (1.0 - own) * logged
                if own_clicks == "paper":
                    self.weights += own * returns
                terms = (slate * -tf.stop_gradient(self.advantage) * self.pl_log_prob
                         + tf.stop_gradient(self.weights) * a.real_nll)
                self.policy_loss = masked_mean(terms, ones)
        else:
            pi = tf.stop_gradient(tf.exp(-a.real_nll))
            if propensity == "uniform":
                beta = tf.fill(tf.shape(pi), 1.0 / float(n_items))
            else:
                behaviour = Dense(a.encoder.hidden, a.vocab_size, name="behaviour")
                log_b = tf.nn.log_softmax(behaviour(states), axis=-1)            # [N, V]
                beta = tf.exp(take_along_last_axis(
                    log_b, tf.expand_dims(tf.gather_nd(a.targets, a.real), -1)))[:, 0]
                # fitted to the lists the logging policy showed (not the end step's padding)
                lists = tf.gather_nd(a.rec_lists, a.real)
                list_mask = tf.cast(lists >= N_SPECIAL, tf.float32)   # no _PAD, no _EOS
                logged = (1.0 - own) * tf.gather_nd(a.not_end, a.real)
                aux.append(masked_mean(-take_along_last_axis(log_b, lists),
                                       list_mask * tf.expand_dims(logged, -1)))
            beta = tf.stop_gradient(beta)
            self.beta = own * pi + (1.0 - own) * beta
            self.weights = (returns * topk_multiplier(pi, a.k)
                            * capped_weight(pi, self.beta, cap))
            self.policy_loss = masked_mean(tf.stop_gradient(self.weights) * a.real_nll, ones)
        self.aux_loss = tf.add_n(aux) if aux else tf.constant(0.0)
        policy = set(v.name for v in a.policy_vars)
        self.head_vars = [v for v in scope_trainables(a.scope_name) if v.name not in policy]
