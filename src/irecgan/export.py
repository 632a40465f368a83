"""The trained agent as a TensorFlow SavedModel that plain TensorFlow can call (issue 23).

    export_agent(run_dir, out_dir, checkpoint=None) -> out_dir

writes, with the TF1 `SavedModelBuilder` (so TF 1.15 and TF 2.x both load it), a SavedModel
with the tag "serve" that holds the agent's weights (scope `agent`, restored alone from a
checkpoint of the run) and the vocabulary (a constant string table), so using it needs no
irecgan file. Raw item ids are strings, the item ids of the log (simulators: "0".."n-1"), mapped
to vocabulary indices as `irecgan.data.vocab` maps them (unknown -> `_UNK`). Signatures:

  "recommend": history string [B, T] (raw ids, right-padded with ""), length int32 [B] (valid
      ids per row, 0..T), k int32 [] (0..number of items)
      -> items string [B, k]: the greedy top k of the agent's logits over the items (never a
         special token), as `evaluation.agent_policy.AgentPolicy` ranks them; scores float32 [B, k]: the
         policy's probabilities pi of those items (pi is the softmax over the whole
         vocabulary, special tokens included, as the agent is trained: not renormalised).
  "score": history, length as above, candidates string [B, C]
      -> probs float32 [B, C]: pi of each candidate after the history. The policy does not
         mask `_UNK`: an unknown candidate (also "") gets pi of the `_UNK` slot (the
         probability the agent gives to "an item outside the vocabulary").

The policy after a history is the agent's (SPEC 3.2): the LSTM reads the history's items and the
output layer turns its last output into logits. An empty history (length 0) is the agent's state
before any click: the LSTM's zero state, whose output is 0, so the logits are the output layer's
bias alone (pi = softmax(b_a)). (A session never starts with `_GO` in training: the first click
is the first input, from the zero state.) A length outside 0..T or a k outside 0..items fails
the call with an InvalidArgumentError naming it.

The policy is computed at the last valid position only (the output layer on [B, H], not on every
position as the training graph does): the same values, up to the rounding of a matmul of another
shape, so the ranking equals AgentPolicy's except between logits equal to within rounding.

`assets.extra/irecgan_export.json` records what was exported (run directory, checkpoint,
method, vocabulary size); loaders ignore it. The export is written into a temporary folder
beside `out_dir` and renamed when complete: `out_dir` is complete or absent (an error removes
the temporary folder; a killed export leaves `OUT.partial-XXXXXXXX`, which can be deleted).
"""
import io
import json
import os
import shutil
import tempfile

from irecgan import experiment
from irecgan.config import run_config
from irecgan.data.vocab import N_SPECIAL, SPECIAL_TOKENS, UNK
from irecgan.errors import UserError, writing
from irecgan.models import agent as agent_model
from irecgan.models.common import SequenceEncoder
from irecgan.rundir import faults
from irecgan.rundir.checkpoint import Checkpointer
from irecgan.rundir.runner import CONFIG
from irecgan.tfcompat import Dense, TF_VERSION, gather_per_batch, take_along_last_axis, tf

TAG = "serve"
RECOMMEND, SCORE = "recommend", "score"
INFO = os.path.join("assets.extra", "irecgan_export.json")


class ServingGraph(object):
    """The agent's policy over raw string ids, in a fresh `tf.Graph`.

    `items`: the vocabulary's item ids in index order (index j + N_SPECIAL). The variables have
    the agent's checkpoint names (`agent/embedding`, `agent/rnn/...`, `agent/policy/...`): the
    same `SequenceEncoder` and `Dense` the `Agent` builds under its scope, without its training
    graph. Placeholders: history, length, k, candidates; outputs: items, scores, probs.
    """

    def __init__(self, items, embed_dim, hidden, layers):
        items = [str(x) for x in items]
        vocab_size = len(items) + N_SPECIAL
        self.graph = tf.Graph()
        with self.graph.as_default():
            # reference variables (the graph-mode default): TF 2.x's resource variables carry
            # an attribute (debug_name) TF 1.15 cannot load; TF 2.x's loader warns once per
            # reference variable ("Unable to create a python object") and serves them fine
            with tf.variable_scope(agent_model.SCOPE, use_resource=False):
                self.encoder = SequenceEncoder(vocab_size, embed_dim, hidden, layers)
                self.output_layer = Dense(hidden, vocab_size, name="policy")
            self.variables = tf.global_variables()
            with tf.name_scope("serving"):
                self._build(items)
            self.table_init = tf.tables_initializer()

    def _build(self, items):
        self.history = tf.placeholder(tf.string, [None, None], name="history")
        self.length = tf.placeholder(tf.int32, [None], name="length")
        self.k = tf.placeholder(tf.int32, [], name="k")
        self.candidates = tf.placeholder(tf.string, [None, None], name="candidates")
        n_items = len(items)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(items, tf.string),
                tf.range(N_SPECIAL, N_SPECIAL + n_items, dtype=tf.int64)),
            default_value=UNK)
        names = tf.constant(list(SPECIAL_TOKENS) + items, tf.string)        # index -> raw id

        steps = tf.shape(self.history)[1]
        length_ok = tf.Assert(
            tf.reduce_all(tf.logical_and(self.length >= 0, self.length <= steps)),
            ["length must be in 0..T (the history's columns); T and length:", steps,
             self.length], name="check_length")
        rows_ok = tf.Assert(tf.equal(tf.shape(self.length)[0], tf.shape(self.history)[0]),
                            ["history and length must have as many rows"], name="check_rows")
        with tf.control_dependencies([length_ok, rows_ok]):
            ids = tf.cast(table.lookup(self.history), tf.int32)             # [B, T]
        # one _PAD column more (as AgentPolicy's clicks have): position 0 exists when T = 0
        ids = tf.pad(ids, [[0, 0], [0, 1]], constant_values=0)               # [B, T + 1]
        outputs, _ = self.encoder.encode(ids, self.length)                  # [B, T + 1, H]
        # the output at the last valid position; an empty history's is position 0's, which
        # dynamic_rnn leaves 0 at length 0: the zero state's output (SequenceEncoder.encode)
        last = gather_per_batch(outputs, tf.maximum(self.length - 1, 0))    # [B, H]
        logits = self.output_layer(last)                                    # [B, V]
        pi = tf.exp(tf.nn.log_softmax(logits, axis=-1))                     # [B, V]

        k_ok = tf.Assert(tf.logical_and(self.k >= 0, self.k <= n_items),
                         ["k must be in 0..%d (the items), got" % n_items, self.k],
                         name="check_k")
        with tf.control_dependencies([k_ok]):
            k = tf.identity(self.k)
        # Agent.recommend (greedy): top k of the logits over the items, specials excluded
        _, top = tf.nn.top_k(logits[:, N_SPECIAL:], k=k, sorted=True)
        top = top + N_SPECIAL                                               # [B, k]
        self.items = tf.gather(names, top, name="items")
        self.scores = tf.identity(take_along_last_axis(pi, top), name="scores")
        cands_ok = tf.Assert(tf.equal(tf.shape(self.candidates)[0], tf.shape(self.length)[0]),
                             ["candidates and length must have as many rows"],
                             name="check_candidate_rows")
        with tf.control_dependencies([cands_ok]):
            cand_ids = tf.cast(table.lookup(self.candidates), tf.int32)     # [B, C]
        self.probs = tf.identity(take_along_last_axis(pi, cand_ids), name="probs")

    def signatures(self):
        info = tf.saved_model.build_tensor_info
        method = tf.saved_model.PREDICT_METHOD_NAME
        build = tf.saved_model.build_signature_def
        return {
            RECOMMEND: build(
                inputs={"history": info(self.history), "length": info(self.length),
                        "k": info(self.k)},
                outputs={"items": info(self.items), "scores": info(self.scores)},
                method_name=method),
            SCORE: build(
                inputs={"history": info(self.history), "length": info(self.length),
                        "candidates": info(self.candidates)},
                outputs={"probs": info(self.probs)},
                method_name=method),
        }


def _check_out(out_dir):
    if os.path.exists(out_dir) and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
        raise UserError("%s exists and is not an empty directory; refusing to overwrite it "
                        "(choose a new output directory)" % out_dir)


def _fsync_tree(folder):
    for root, _, files in os.walk(folder):
        for name in files:
            with io.open(os.path.join(root, name), "rb") as handle:
                os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export_agent(run_dir, out_dir, checkpoint=None, log=None):
    """Write the agent of run directory `run_dir` (its newest intact checkpoint, or ckpt-N for
    `checkpoint=N`) as a SavedModel to `out_dir` (absent or an empty directory); returns
    `out_dir`. Reads the run directory only (it may still be training), the vocabulary from its
    data.json (`experiment.run_data`: rebuilt from the run's log in a run directory made before
    runs kept it). Bad input: `UserError`, one line."""
    if not os.path.isdir(run_dir):
        raise UserError("%s is not a run directory (no such directory)" % run_dir)
    if not os.path.exists(os.path.join(run_dir, CONFIG)):
        raise UserError("%s: no %s (not a run directory)" % (run_dir, CONFIG))
    _check_out(out_dir)
    config = run_config(run_dir)
    vocab = experiment.run_data(run_dir, config, log).vocab
    serving = ServingGraph(vocab.items, config["embed_dim"], config["hidden"], config["layers"])
    with serving.graph.as_default():
        saver = tf.train.Saver(serving.variables)
    session = tf.Session(graph=serving.graph)
    try:
        checkpointer = Checkpointer(os.path.join(run_dir, "checkpoints"), saver,
                                    read_only=True, log=log)
        if checkpoint is None:
            state = checkpointer.restore(session)
            if state is None:
                raise UserError("%s has no complete checkpoint to export" % run_dir)
        else:
            state = checkpointer.restore_number(session, int(checkpoint))
        info = {"run_dir": os.path.abspath(run_dir), "checkpoint": checkpointer.restored,
                "where": state.get("where"), "method": config["method"],
                "agent_objective": config["agent_objective"],
                "vocab_size": vocab.size, "n_items": vocab.size - N_SPECIAL,
                "signatures": [RECOMMEND, SCORE], "tensorflow": TF_VERSION}
        _write(serving, session, out_dir, info)
    finally:
        session.close()
    return out_dir


def _write(serving, session, out_dir, info):
    """SavedModelBuilder into a temporary folder beside `out_dir`, renamed when complete."""
    parent = os.path.dirname(os.path.abspath(out_dir))
    with writing(parent):
        if not os.path.isdir(parent):
            os.makedirs(parent)
        tmp = tempfile.mkdtemp(prefix=os.path.basename(os.path.abspath(out_dir)) + ".partial-",
                               dir=parent)
    try:
        with writing(tmp), serving.graph.as_default():
            builder = tf.saved_model.builder.SavedModelBuilder(tmp)
            # strip_default_attrs: attributes at their default values are left out, so that
            # TF 1.15 loads a graph written by TF 2.x even where an op gained attributes since
            # (TF 2.21's ops of this graph load on TF 1.15 without it too, measured)
            builder.add_meta_graph_and_variables(
                session, [TAG], signature_def_map=serving.signatures(),
                main_op=serving.table_init, strip_default_attrs=True)
            builder.save()
            os.makedirs(os.path.join(tmp, os.path.dirname(INFO)))
            with io.open(os.path.join(tmp, INFO), "w", encoding="utf-8") as handle:
                handle.write(json.dumps(info, indent=2, sort_keys=True) + "\n")
            _fsync_tree(tmp)
        faults.point("export.rename")
        _check_out(out_dir)  # filled meanwhile? (an empty folder is replaced by the rename)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
