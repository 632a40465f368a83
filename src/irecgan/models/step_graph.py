"""One interaction step of agent, user model and discriminator, for any number of sequences
(SPEC 4), built into the models' graph.

The agent consumes the current click and recommends k items (Gumbel top-k; `_EOS` is appended),
the user model consumes the same click and samples the next one among the k + 1 candidates plus
a purchase flag, and the discriminator consumes the click and scores the position (its per-step
term). LSTM states of the three models are fed in and fetched out, so no prefix is ever
re-encoded. Randomness comes from a fed stateless seed, so a run driven by a numpy RandomState
is reproducible and resumable. `irecgan.training.generation.Generator` drives it.
"""
import numpy as np

from irecgan.data.vocab import EOS
from irecgan.tfcompat import flatten_state, pick_per_row, tf

ACT_FETCHES = ("rec", "choice", "next_click", "purchase", "term")


class StepGraph(object):
    """The one-step interaction op set (built into `models.graph`).

    A step has two halves. "Advance": the three LSTMs consume the current click (fed states in,
    new states out) and give their outputs: the agent's logits [R, V], the user model's
    preference [R, E] and LSTM output [R, H], the discriminator's LSTM output [R, H]. "Act": from
    those outputs alone, the agent recommends k items, the user model picks one of them or
    `_EOS` and a purchase flag, and D scores the position. Feeding the outputs (`act`) instead of
    the click and states (`run`) skips the LSTMs. The act half is built a second time on the rows
    of the outputs that `spawn` picks (with its own noise): the first step of the N rollouts of
    every prefix ending at this step, whose LSTM work the main step has just done, sampled in the
    same run.

    Feeds: click [R], the flattened LSTM states, seed [2] (stateless noise), force_eos [R] (the
      user must pick `_EOS`: the sequence is at max_len), greedy (agent top-k, no sampling);
      optionally spawn [S] (row indices, e.g. each row N times) and spawn_force_eos [S]; when
      D's head reads them (`reads_context`, the sequence head), click_purchase [R] (the
      purchase flag of the click, 0 for a first click) and position [R] (its index, 0 first).
    Fetches: rec [R, k], cands [R, k+1] (rec + `_EOS`), user_log_probs [R, k+1], choice [R]
      (index into cands), next_click [R], purchase [R], term [R] (D's per-position term; 0
      without D), the advance outputs and the new flattened states; the same act fetches for
      the spawned rows ([S, ...]).
    """

    def __init__(self, models):
        self.models = models
        agent, user, disc = models.agent, models.user, models.disc
        with models.graph.as_default(), tf.name_scope("interaction_step"):
            self.click = tf.placeholder(tf.int32, [None], name="click")
            self.seed = tf.placeholder(tf.int64, [2], name="seed")
            self.force_eos = tf.placeholder(tf.bool, [None], name="force_eos")
            self.greedy = tf.placeholder_with_default(False, [], name="greedy")
            self.agent_state = agent.encoder.cell.state_placeholders("agent_state")
            self.user_state = user.encoder.cell.state_placeholders("user_state")

            # advance
            self.agent_logits, agent_next = agent.step(self.click, self.agent_state)
            self.user_pref, self.user_output, user_next = user.step(self.click, self.user_state)
            self.in_states = [flatten_state(self.agent_state), flatten_state(self.user_state)]
            self.out_states = [flatten_state(agent_next), flatten_state(user_next)]
            self.outputs = [self.agent_logits, self.user_pref, self.user_output]
            self.reads_context = disc is not None and disc.reads_context
            self.click_purchase = self.position = None
            if self.reads_context:
                self.click_purchase = tf.placeholder(tf.int32, [None], name="click_purchase")
                self.position = tf.placeholder(tf.int32, [None], name="position")
            if disc is not None:
                self.disc_state = disc.encoder.cell.state_placeholders("disc_state")
                self.disc_output, disc_next = disc.advance(self.click, self.disc_state,
                                                           self.click_purchase, self.position)
                self.in_states.append(flatten_state(self.disc_state))
                self.out_states.append(flatten_state(disc_next))
                self.outputs.append(self.disc_output)

            # act (depends on the advance outputs only)
            act = self._build_act(self.outputs, self.seed, self.force_eos)
            self.rec, self.cands = act["rec"], act["cands"]
            self.user_log_probs, self.choice = act["user_log_probs"], act["choice"]
            self.next_click, self.purchase, self.term = (act["next_click"], act["purchase"],
                                                         act["term"])
            # spawn: the act half on picked rows of the same outputs, with other noise
            self.spawn = tf.placeholder_with_default(tf.zeros([0], tf.int32), [None],
                                                     name="spawn")
            self.spawn_force_eos = tf.placeholder_with_default(tf.zeros([0], tf.bool), [None],
                                                               name="spawn_force_eos")
            spawned = self._build_act([tf.gather(o, self.spawn) for o in self.outputs],
                                      self.seed + [1, 0], self.spawn_force_eos)
        self.n_models = len(self.in_states)
        self.hidden = [agent.encoder.hidden, user.encoder.hidden] + (
            [disc.encoder.hidden] if disc is not None else [])
        self._act_fetches = dict((key, act[key]) for key in ACT_FETCHES)
        self._spawn_fetches = dict((key, spawned[key]) for key in ACT_FETCHES)

    def _build_act(self, outputs, seed, force_eos):
        """The act ops on advance outputs [agent logits, user preference, user output (, D
        output)] of R rows; `seed` an int64 [2] tensor. Returns a dict of tensors (class doc)."""
        agent, user, disc = self.models.agent, self.models.user, self.models.disc
        agent_logits, user_pref, user_output = outputs[:3]
        rows = tf.shape(agent_logits)[0]
        rec = agent.recommend(agent_logits, self.greedy, seed=seed,
                              temperature=agent.gen_temperature)
        eos = tf.fill(tf.stack([rows, 1]), EOS)
        cands = tf.concat([rec, eos], axis=1)
        cand_mask = tf.ones(tf.shape(cands), tf.float32)
        user_log_probs = user.click_log_probs_for(user_pref, cands, cand_mask)
        sampled = user.sample_click(user_log_probs, seed=seed + [0, 1])
        eos_index = tf.fill(tf.stack([rows]), agent.k)
        choice = tf.where_v2(force_eos, eos_index, sampled)
        next_click = pick_per_row(cands, choice)
        is_item = tf.not_equal(next_click, EOS)
        p_buy = user.purchase_prob_for(user_output, next_click)
        purchase = tf.cast(tf.logical_and(is_item, p_buy > 0.5), tf.int32)
        if disc is not None:
            term = disc.position_terms(outputs[3], cands, cand_mask, choice, purchase)
        else:
            term = tf.zeros(tf.stack([rows]), tf.float32)
        return {"rec": rec, "cands": cands, "user_log_probs": user_log_probs, "choice": choice,
                "next_click": next_click, "purchase": purchase, "term": term}

    def zero_states(self, rows):
        """Zero LSTM states for `rows` sequences: a list (one per model) of flat arrays."""
        return [[np.zeros((rows, h), np.float32) for _ in flat]
                for flat, h in zip(self.in_states, self.hidden)]

    def run(self, session, click, states, seed, force_eos, greedy=False, spawn=None,
            spawn_force_eos=None, fetch_outputs=True, click_purchase=None, position=None):
        """One whole step for all rows. Returns (act outputs, advance outputs, new states); with
        `spawn` (row indices [S]) the act outputs hold "spawn": the act outputs of those rows
        with other noise ([S, ...]); `fetch_outputs=False` leaves the advance outputs (the
        agent's [R, V] logits among them) in the graph and returns None for them.
        `click_purchase` / `position` [R]: needed when `reads_context`, ignored otherwise."""
        feed = {self.click: click, self.seed: seed, self.force_eos: force_eos,
                self.greedy: greedy}
        if self.reads_context:
            if click_purchase is None or position is None:
                raise ValueError("D's sequence head needs each click's purchase flag and "
                                 "position")
            feed.update({self.click_purchase: click_purchase, self.position: position})
        for placeholders, arrays in zip(self.in_states, states):
            feed.update(zip(placeholders, arrays))
        fetches = dict(self._act_fetches)
        if fetch_outputs:
            fetches["_outputs"] = self.outputs
        fetches["_states"] = self.out_states
        if spawn is not None:
            feed.update({self.spawn: spawn, self.spawn_force_eos: spawn_force_eos})
            fetches["spawn"] = self._spawn_fetches
        out = session.run(fetches, feed)
        return out, out.pop("_outputs", None), out.pop("_states")

    def act(self, session, outputs, seed, force_eos, greedy=False):
        """The act half only, from fed advance outputs (no LSTM work)."""
        feed = dict(zip(self.outputs, outputs))
        feed.update({self.seed: seed, self.force_eos: force_eos, self.greedy: greedy})
        return session.run(self._act_fetches, feed)
