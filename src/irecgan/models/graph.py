"""One tf.Graph holding the user model, the agent and the discriminator (SPEC 3)."""
import numpy as np

from irecgan.models.agent import Agent
from irecgan.data.shown import no_own_lists
from irecgan.models.common import SMALL_TABLE_ROWS, scope_variables
from irecgan.models.discriminator import D_HEADS, Discriminator, SequenceDiscriminator
from irecgan.models.user import REFERENCE_PURCHASE_WEIGHT, UserModel
from irecgan.tfcompat import tf

SCOPES = ("user", "agent", "discriminator")


class ModelGraph(object):
    """Builds U, A and D into a fresh `tf.Graph` (graph-level seed `seed`).

    Sizes are the paper's by default (2-layer LSTM, 512 units, 50-d embeddings, 10 items).
    `purchase_head`: True when the data has purchases (CIKM, neural oracle), False for the MDP.
    `build`: which of the three to build (all by default; the lstm/pg baselines need the agent
    only, which keeps their checkpoints small).
    `small_table_rows`: U and D score candidates against the whole embedding table when it has at
    most this many rows, else against the gathered candidate rows (`common.candidate_dots`; the
    same values, a speed choice).
    `d_head`: the discriminator's head, "authors" (SPEC 3.3, `Discriminator`) or "sequence"
    (`SequenceDiscriminator`: sees lists, ranks, purchases and positions).
    `agent_options`: the Agent's objective arguments (objective, normalize_advantage,
    propensity, weight_cap, aux_lr, gen_temperature, logged_term; irecgan.models.objectives);
    none: the paper's objective, today's graph.
    `fused_lstm`: the three encoders run their whole sequences as fused BlockLSTM ops
    (`common.SequenceEncoder`; an opt-in speed lever: the same forward values, other gradient
    bits); off: dynamic_rnn, today's numbers.
    """

    def __init__(self, vocab_size, embed_dim=50, hidden=512, layers=2, k=10,
                 purchase_head=False, seed=0, user_lr=5e-4, agent_lr=1e-4, disc_lr=1e-4,
                 clip_norm=5.0, lambda_p=1.0, build=SCOPES,
                 purchase_weight=REFERENCE_PURCHASE_WEIGHT, small_table_rows=SMALL_TABLE_ROWS,
                 d_head="authors", agent_options=None, fused_lstm=False):
        unknown = set(build) - set(SCOPES)
        if unknown:
            raise ValueError("unknown model scopes %s" % sorted(unknown))
        if d_head not in D_HEADS:
            raise ValueError("d_head must be one of %s, got %r" % (", ".join(D_HEADS), d_head))
        self.config = dict(vocab_size=int(vocab_size), embed_dim=int(embed_dim),
                           hidden=int(hidden), layers=int(layers), k=int(k),
                           purchase_head=bool(purchase_head), seed=int(seed),
                           user_lr=float(user_lr), agent_lr=float(agent_lr),
                           disc_lr=float(disc_lr), clip_norm=float(clip_norm),
                           lambda_p=float(lambda_p), build=list(build),
                           purchase_weight=float(purchase_weight),
                           small_table_rows=int(small_table_rows), d_head=d_head,
                           agent_options=dict(agent_options or {}),
                           fused_lstm=bool(fused_lstm))
        self.graph = tf.Graph()
        self.user = self.agent = self.disc = None
        with self.graph.as_default():
            tf.set_random_seed(seed)
            if "user" in build:
                self.user = UserModel(vocab_size, embed_dim, hidden, layers, purchase_head,
                                      user_lr, clip_norm, lambda_p, purchase_weight,
                                      small_table_rows, fused_lstm=fused_lstm)
            if "agent" in build:
                self.agent = Agent(vocab_size, embed_dim, hidden, layers, k, agent_lr,
                                   clip_norm, fused_lstm=fused_lstm,
                                   **dict(agent_options or {}))
            if "discriminator" in build and d_head == "sequence":
                self.disc = SequenceDiscriminator(vocab_size, embed_dim, hidden, layers, k,
                                                  disc_lr, clip_norm, fused_lstm=fused_lstm)
            elif "discriminator" in build:
                self.disc = Discriminator(vocab_size, embed_dim, hidden, layers,
                                          purchase_head, disc_lr, clip_norm, small_table_rows,
                                          fused_lstm=fused_lstm)
            self.scopes = [s for s in SCOPES if s in build]
            self.scope_vars = dict((s, scope_variables(s)) for s in self.scopes)
            self.init_op = tf.global_variables_initializer()

    # -- feed dicts from batch dicts (data.batching.make_batch) -------------------------------
    def agent_feed(self, batch, weighting="returns", own=None):
        """`weighting`: "returns" (REINFORCE, R_t) or "mle" (all weights 1).
        `own`: for an objective beyond the paper's, the batch's (own [B], shown [B, n, k],
        shown_mask [B, n]) of `data.shown.shown_lists` (None: no session is the agent's own)."""
        a = self.agent
        if weighting == "returns":
            weights = batch["returns"]
        elif weighting == "mle":
            weights = batch["mask"]
        else:
            raise ValueError("weighting must be 'returns' or 'mle', got %r" % weighting)
        feed = {a.clicks: batch["clicks"], a.lengths: batch["lengths"], a.mask: batch["mask"],
                a.returns: weights, a.rec_lists: batch["rec_lists"]}
        if a.objective != "paper":
            if own is None:
                own = no_own_lists(batch["mask"].shape, a.k)
            feed.update({a.own: own[0], a.shown: own[1], a.shown_mask: own[2]})
        return feed

    def user_feed(self, batch):
        u = self.user
        return {u.clicks: batch["clicks"], u.lengths: batch["lengths"], u.mask: batch["mask"],
                u.rec_lists: batch["rec_lists"], u.rec_mask: batch["rec_mask"],
                u.target_index: batch["target_index"], u.purchase: batch["purchase"],
                u.q_d: batch["q_d"]}

    def disc_feed(self, batch, labels):
        d = self.disc
        labels = np.broadcast_to(np.asarray(labels, np.float32), batch["lengths"].shape)
        return {d.clicks: batch["clicks"], d.lengths: batch["lengths"], d.mask: batch["mask"],
                d.rec_lists: batch["rec_lists"], d.rec_mask: batch["rec_mask"],
                d.target_index: batch["target_index"], d.purchase: batch["purchase"],
                d.labels: labels}
