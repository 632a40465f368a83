"""Pretrain once, reuse across methods (issue 33): a run restores the outcome of a finished run's
pretraining (agent, and U for irecgan_nod / irecgan) instead of training it again, when that
outcome is the same to the bit.

Which methods share it (measured on both stacks, docs/BENCHMARKS.md): the op-level seeds of the
initializers are a per-graph counter in build order (tfcompat.next_op_seed), so an agent built
after U (irecgan_nod, irecgan) starts from other values than one built alone (lstm, pg,
irecgan_true); D is built last and pretraining neither reads nor trains it. lstm trains the
agent by MLE, the others by returns. So irecgan_nod and irecgan share both pretraining phases,
pg and irecgan_true share the agent's, lstm shares with no other method. The caller (experiment)
describes a pretraining by `material` (its kind, configuration, the digests of the files it
reads, `code_digest` and the stack) and `key_of` hashes it.

An entry holds every variable outside the discriminator's scope, the run state after the
pretraining (epochs, losses, the RandomState states, the record count) and the metrics.jsonl
lines it wrote; `restore` replays the lines through the Runner (metrics.jsonl and TensorBoard as
a training run writes them), loads the variables, sets the state and checkpoints, so the rest of
the run continues exactly as after its own pretraining.
"""
import hashlib
import io
import json
import os

import irecgan
from irecgan.rundir.runner import METRICS
from irecgan.tfcompat import tf

FORMAT = 1
NOT_SHARED_SCOPES = ("discriminator/",)   # built after the agent; not trained by pretraining
STATE_KEYS_PREFIXES = ("agent/", "user/")
_CODE = []


def code_digest():
    """SHA-256 of every .py file of the installed irecgan package (path and bytes): any change of
    the code makes new keys."""
    if not _CODE:
        root = os.path.dirname(os.path.abspath(irecgan.__file__))
        digest = hashlib.sha256()
        for folder, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode())
                    with io.open(path, "rb") as handle:
                        digest.update(hashlib.sha256(handle.read()).digest())
        _CODE.append(digest.hexdigest())
    return _CODE[0]


def file_sha256(path):
    """SHA-256 hex of the file at `path` ("" for an empty path)."""
    if not path:
        return ""
    digest = hashlib.sha256()
    with io.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def key_of(material):
    """The entry key of `material` (a JSON-able dict): SHA-256 of its canonical JSON."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shared_variables(models):
    """The variables a pretraining entry holds: every global variable outside the scopes of
    NOT_SHARED_SCOPES, in the graph's order."""
    with models.graph.as_default():
        variables = tf.global_variables()
    return [v for v in variables if not v.name.startswith(NOT_SHARED_SCOPES)]


def pretraining_state(state):
    """True when the run state `state` holds nothing but pretraining (so the variables are the
    pretraining's outcome, not a later phase's)."""
    return all(k in ("n_metrics", "where", "elapsed_s") or k.startswith(STATE_KEYS_PREFIXES)
               for k in state)


def capture(runner, models):
    """The payload of a run that has just finished its pretraining (and nothing after it)."""
    variables = shared_variables(models)
    values = runner.session.run(variables)
    with io.open(os.path.join(runner.run_dir, METRICS), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    state = dict((k, v) for k, v in runner.state.items() if k != "elapsed_s")
    return {"format": FORMAT, "variables": dict((v.name, x) for v, x in zip(variables, values)),
            "state": state, "records": lines}


def mismatch(payload, models):
    """Why `payload` cannot be restored into `models` (None: it can): the variables by name and
    shape must be the same."""
    if payload.get("format") != FORMAT:
        return "format %r, this version reads %d" % (payload.get("format"), FORMAT)
    stored = payload["variables"]
    variables = shared_variables(models)
    names = set(v.name for v in variables)
    if names != set(stored):
        return "other variables (%d stored, %d in this graph)" % (len(stored), len(names))
    for v in variables:
        if tuple(stored[v.name].shape) != tuple(v.shape.as_list()):
            return "%s has shape %s, stored %s" % (v.name, v.shape, stored[v.name].shape)
    return None


def restore(runner, models, payload):
    """Make a freshly initialised run (no record, no checkpoint) what it is after its own
    pretraining: the records, the variables and the state of `payload`, then a checkpoint."""
    assert runner.state.get("n_metrics", 0) == 0 and not runner.resumed
    lines = payload["records"]
    records = [json.loads(line) for line in lines]
    for line, record in zip(lines, records):
        if json.dumps(record, sort_keys=True) != line:   # log_metrics writes it so
            raise ValueError("a stored record does not round-trip: %s" % line[:80])
    for record in records:
        runner.log_metrics(record)
    stored = payload["variables"]
    for variable in shared_variables(models):
        variable.load(stored[variable.name], runner.session)
    state = dict(payload["state"])
    where = state.pop("where")
    n_metrics = state.pop("n_metrics")
    if runner.state["n_metrics"] != n_metrics:
        raise ValueError("the entry has %d records, its state %d" % (len(records), n_metrics))
    runner.save(where, **state)
    return where
