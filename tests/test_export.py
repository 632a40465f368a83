"""irecgan-export (issue 23): the trained agent as a SavedModel that plain TensorFlow calls.

One tiny irecgan run (every scope in its checkpoints) on a FREQUENCY vocabulary cut to 26 of the
MDP's 50 items, so that a raw id's vocabulary index is not its number plus 4 and real items of
the log are unknown; exported once per module. The export is called in fresh interpreters that
never import irecgan (savedmodel_client.py): TF 2.x through `tf.saved_model.load` and its
signatures, TF 1.15 through `tf.saved_model.loader.load`. Their outputs are compared with the
in-graph agent of the run (opened read-only): `evaluation.agent_policy.AgentPolicy` (greedy) for the items
(exactly), `exp(agent.log_pi)` at the last position for the probabilities (1e-6); empty
histories with the agent's graph at length 0 (the zero state) and with softmax(b_a) computed by
hand from the checkpoint.

Both stacks: this stack exports and loads. The TF 1.15 suite only (stack marker; it has the TF
2.x venv beside it, as tests/test_cross_stack.py finds it): the TF 1.15 export loaded by TF 2.x,
and an export made by TF 2.x (the CLI, in a subprocess) loaded by TF 1.15.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.vocab import N_SPECIAL, SPECIAL_TOKENS
from irecgan.errors import UserError
from irecgan.evaluation.agent_policy import AgentPolicy
from irecgan.export import INFO, export_agent
from irecgan.rundir.runner import CONFIG, read_json
from irecgan.tfcompat import TF_VERSION, tf
from conftest import tf2_python
from tiny_logs import TINY_IRECGAN, write_mdp_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIENT = os.path.join(ROOT, "tests", "savedmodel_client.py")
SYMBOLS = 30   # 26 items of the 50 of the MDP
N_ITEMS = SYMBOLS - N_SPECIAL


def subprocess_env():
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    env.pop("IRECGAN_FAULT_AT", None)
    return env


def client_env():
    """No irecgan on the path: the client must do without it."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run directory, its vocabulary, its checkpoint numbers) of a tiny irecgan run."""
    root = tmp_path_factory.mktemp("export_run")
    log, params = write_mdp_log(root)
    config = dict(TINY_IRECGAN, data=log, env_params=params, n_items=0, symbols=SYMBOLS,
                  user_epochs=1, adv_epochs=1, online_sessions=5,
                  agent_lr=1e-2)  # a policy far from uniform: distinct probabilities
    run_dir = str(root / "run")
    experiment.run(run_dir, resolve(config), show_progress=False, log=lambda msg: None)
    vocab = experiment.load_data(read_json(os.path.join(run_dir, CONFIG))).vocab
    numbers = sorted(int(n[len("ckpt-"):]) for n in os.listdir(os.path.join(run_dir,
                                                                            "checkpoints")))
    return run_dir, vocab, numbers


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("export") / "agent")
    assert export_agent(run[0], out) == out
    return out


def histories(vocab):
    """Requests over every case: unknown ids (a real item cut from the vocabulary, a string
    that is no item, special-token names), empty histories, ids past the length (not only ""),
    k from 1 to every item, a batch whose histories have no column at all."""
    known = vocab.items
    cut = sorted(set(str(i) for i in range(50)) - set(known), key=int)[0]  # in the log
    a, b, c, d = known[3], known[0], known[10], known[N_ITEMS - 1]
    batch = {"history": [[a, b, c, d], [a, cut, "", ""], ["", "", "", ""], [c, "foo", b, a],
                         ["nope", "", "", ""], [d, d, "_EOS", ""]],
             "length": [4, 2, 0, 1, 1, 3]}
    candidates = known + [cut, "foo", "", "_EOS", "_UNK", "_PAD"]
    rng = np.random.RandomState(0)
    requests = [dict(batch, signature="recommend", k=k) for k in (1, 3, N_ITEMS)]
    requests.append(dict(batch, signature="score", candidates=[
        list(rng.permutation(candidates)) for _ in batch["length"]]))
    empty = {"history": [[], []], "length": [0, 0]}
    requests.append(dict(empty, signature="recommend", k=2))
    requests.append(dict(empty, signature="score", candidates=[[a, cut], ["", b]]))
    return requests


BAD = [({"history": [["1", ""]], "length": [3], "k": 1}, "length must be in 0..T"),
       ({"history": [["1", ""]], "length": [-1], "k": 1}, "length must be in 0..T"),
       ({"history": [["1", ""]], "length": [1], "k": N_ITEMS + 1},
        "k must be in 0..%d" % N_ITEMS),
       ({"history": [["1", ""]], "length": [1], "k": -1}, "k must be in 0..%d" % N_ITEMS),
       ({"history": [["1", ""], ["2", ""]], "length": [1], "k": 1},
        "history and length must have as many rows"),
       ({"history": [["1", ""]], "length": [1], "candidates": [["1"], ["2"]]},
        "candidates and length must have as many rows")]


def bad_requests():
    return [dict(request, signature="score" if "candidates" in request else "recommend")
            for request, _ in BAD]


@pytest.fixture(scope="module")
def reference(run):
    """What the in-graph agent of the run gives for `histories` (per request the expected
    outputs), and softmax(b_a) computed here from the checkpoint's policy bias."""
    run_dir, vocab, _ = run
    config = read_json(os.path.join(run_dir, CONFIG))
    data, models, runner, _ = experiment.open_run(run_dir, config, read_only=True)
    try:
        policy = AgentPolicy(models, runner.session, data.vocab)   # greedy top config k
        agent = models.agent
        with models.graph.as_default():
            pi = tf.exp(agent.log_pi)                                     # [B, T, V]
        out = []
        for request in histories(vocab):
            lengths = request["length"]
            valid = [row[:n] for row, n in zip(request["history"], lengths)]
            # AgentPolicy's clicks: the longest history and a _PAD (one input step at least)
            clicks = np.zeros((len(valid), max(max(lengths), 1) + 1), np.int32)
            for i, row in enumerate(valid):
                clicks[i, :len(row)] = vocab.indices(row)
            logits, probs = runner.session.run([agent.logits, pi], {agent.clicks: clicks,
                                                                   agent.lengths: lengths})
            rows = np.arange(len(valid))
            at = np.maximum(np.array(lengths) - 1, 0)   # length 0: position 0, the zero state
            logits, last = logits[rows, at], probs[rows, at]                  # [B, V]
            if request["signature"] == "score":
                out.append({"probs": [[p[vocab.item_index(x)] for x in cands] for p, cands
                                      in zip(last, request["candidates"])]})
                continue
            k = request["k"]
            ranked = [[vocab.item_id(i) for i in np.argsort(-row[N_SPECIAL:], kind="stable")
                       + N_SPECIAL] for row in logits]
            items = [row[:k] for row in ranked]
            nonempty = [i for i, n in enumerate(lengths) if n > 0]
            if nonempty:  # AgentPolicy: its top config["k"]; the rest of a list ranked above
                top = policy([valid[i] for i in nonempty], None)
                for i, row in zip(nonempty, top):
                    row = [str(x) for x in row]
                    assert ranked[i][:len(row)] == row
                    items[i] = (row + ranked[i][len(row):])[:k]
            out.append({"items": items, "scores": [[p[vocab.item_index(x)] for x in row]
                                                   for p, row in zip(last, items)]})
        bias = tf.train.load_variable(os.path.join(run_dir, "checkpoints", "ckpt-%d" %
                                                   runner.checkpointer.restored, "model"),
                                      "agent/policy/bias").astype(np.float64)
    finally:
        runner.close()
    return out, np.exp(bias - bias.max()) / np.exp(bias - bias.max()).sum()


def call_client(python, export_dir, requests, tmp_path, name):
    req, res = str(tmp_path / (name + "_requests.json")), str(tmp_path / (name + ".json"))
    with open(req, "w") as handle:
        json.dump(requests, handle)
    proc = subprocess.run([python, CLIENT, export_dir, req, res], cwd=str(tmp_path),
                          env=client_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    with open(res) as handle:
        return json.load(handle)


def check_outputs(got, reference, vocab):
    expected, softmax_bias = reference
    for number, (g, e) in enumerate(zip(got, expected)):
        if "items" in e:
            assert g["items"] == e["items"], number
            assert all(x in set(vocab.items) for row in g["items"] for x in row)
            assert not set(SPECIAL_TOKENS) & set(x for row in g["items"] for x in row)
            np.testing.assert_allclose(g["scores"], e["scores"], rtol=0, atol=1e-6)
            # scores: pi of the items, in descending order
            assert all(np.all(np.diff(row) <= 1e-7) for row in g["scores"])
        else:
            np.testing.assert_allclose(g["probs"], e["probs"], rtol=0, atol=1e-6)
    assert len(got) == len(expected)
    # an empty history: softmax of the policy layer's bias, by hand from the checkpoint
    requests = histories(vocab)
    full = requests.index(next(r for r in requests if r["signature"] == "recommend"
                               and r["k"] == N_ITEMS))
    empty_row = requests[full]["length"].index(0)
    ranked = np.argsort(-softmax_bias[N_SPECIAL:], kind="stable") + N_SPECIAL
    assert got[full]["items"][empty_row] == [vocab.item_id(i) for i in ranked]
    np.testing.assert_allclose(got[full]["scores"][empty_row], softmax_bias[ranked], atol=1e-6)


def check_bad(got):
    for (request, message), result in zip(BAD, got):
        assert "error" in result and message in result["error"], (request, result)
        assert result["error"].startswith("InvalidArgumentError"), result


def test_export_holds_the_agent_variables_of_the_checkpoint_and_what_it_is(run, exported):
    run_dir, vocab, numbers = run
    ckpt = os.path.join(run_dir, "checkpoints", "ckpt-%d" % numbers[-1], "model")
    in_ckpt = dict((name, shape) for name, shape in tf.train.list_variables(ckpt)
                   if name.startswith("agent/") and not name.startswith("agent/train/"))
    variables = os.path.join(exported, "variables", "variables")
    assert dict(tf.train.list_variables(variables)) == in_ckpt
    assert any(name.startswith("user/") for name, _ in tf.train.list_variables(ckpt))
    for name in in_ckpt:
        np.testing.assert_array_equal(tf.train.load_variable(variables, name),
                                      tf.train.load_variable(ckpt, name))
    info = read_json(os.path.join(exported, INFO))
    assert info["checkpoint"] == numbers[-1] and info["method"] == "irecgan"
    assert info["vocab_size"] == vocab.size == SYMBOLS
    assert not [n for n in os.listdir(os.path.dirname(exported)) if ".partial" in n]


def test_plain_tensorflow_of_this_stack_calls_it_as_the_agent_acts(run, exported, reference,
                                                                  tmp_path):
    vocab = run[1]
    got = call_client(sys.executable, exported, histories(vocab) + bad_requests(), tmp_path,
                      "this_stack")
    assert got["tensorflow"] == TF_VERSION
    check_outputs(got["results"][:-len(BAD)], reference, vocab)
    check_bad(got["results"][-len(BAD):])


@pytest.mark.stack("1")
def test_an_export_moves_between_the_stacks(run, exported, reference, tmp_path):
    """TF 1.15's export called by TF 2.x; TF 2.x's export (irecgan-export in the TF 2.x venv)
    called by TF 1.15."""
    run_dir, vocab, _ = run
    tf2 = tf2_python()
    got = call_client(tf2, exported, histories(vocab) + bad_requests(), tmp_path, "tf1_to_tf2")
    assert got["tensorflow"].startswith("2."), got["tensorflow"]
    check_outputs(got["results"][:-len(BAD)], reference, vocab)
    check_bad(got["results"][-len(BAD):])
    out = str(tmp_path / "by_tf2")
    proc = subprocess.run([tf2, "-m", "irecgan.cli.export", "--run_dir=" + run_dir,
                           "--out=" + out], cwd=ROOT, env=subprocess_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    assert read_json(os.path.join(out, INFO))["tensorflow"].startswith("2.")
    got = call_client(sys.executable, out, histories(vocab), tmp_path, "tf2_to_tf1")
    assert got["tensorflow"] == TF_VERSION
    check_outputs(got["results"], reference, vocab)


def test_saved_model_cli_lists_both_signatures(exported):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    proc = subprocess.run([cli, "show", "--dir", exported, "--all"], env=client_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    text = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    for signature, names in (("recommend", ["history", "length", "k", "items", "scores"]),
                             ("score", ["history", "length", "candidates", "probs"])):
        start = text.index("signature_def['%s']" % signature)
        block = text[start:text.find("signature_def[", start + 1) % (len(text) + 1)]
        for name in names:
            assert "['%s'] tensor_info" % name in block, (signature, name, block)
    assert "DT_STRING" in text and "DT_INT32" in text and "DT_FLOAT" in text


@pytest.fixture(scope="module")
def two_agents(run, tmp_path_factory):
    """A copy of the run with a ckpt-N+1 whose agent differs from ckpt-N's (the policy bias
    plus 1; the run's last checkpoints all follow the agent's last update): (run directory,
    N, N + 1)."""
    from irecgan.rundir.checkpoint import Checkpointer, read_state
    run_dir, _, numbers = run
    copy = str(tmp_path_factory.mktemp("two_agents") / "run")
    shutil.copytree(run_dir, copy)
    last = os.path.join(copy, "checkpoints", "ckpt-%d" % numbers[-1])
    graph = tf.Graph()
    with graph.as_default():
        variables = {}
        for name, _ in tf.train.list_variables(os.path.join(last, "model")):
            value = tf.train.load_variable(os.path.join(last, "model"), name)
            if name == "agent/policy/bias":
                value = value + 1.0
            variables[name] = tf.Variable(value, name=name.replace("/", "_"))
        saver = tf.train.Saver(variables)
        init = tf.global_variables_initializer()
    with tf.Session(graph=graph) as session:
        session.run(init)
        number = Checkpointer(os.path.join(copy, "checkpoints"), saver, keep=3).save(
            session, read_state(last))
    assert number == numbers[-1] + 1
    return copy, numbers[-1], number


def bias_of(export_dir):
    return tf.train.load_variable(os.path.join(export_dir, "variables", "variables"),
                                  "agent/policy/bias")


def cli(args, env=None):
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.export"] + args, cwd=ROOT,
                          env=dict(subprocess_env(), **(env or {})), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")


def test_the_newest_intact_checkpoint_by_default(two_agents, tmp_path):
    run_dir, older, newest = two_agents
    out = export_agent(run_dir, str(tmp_path / "newest"))
    assert read_json(os.path.join(out, INFO))["checkpoint"] == newest
    ckpt = os.path.join(run_dir, "checkpoints", "ckpt-%d" % newest, "model")
    np.testing.assert_array_equal(bias_of(out), tf.train.load_variable(ckpt,
                                                                       "agent/policy/bias"))


def test_cli_exports_the_checkpoint_asked_for_and_a_kill_leaves_no_export(two_agents,
                                                                          tmp_path):
    """irecgan-export's entry point with --checkpoint=N: killed before the rename, nothing is at
    --out (the complete export sat in its temporary folder, which a kill leaves behind); run
    again, it writes ckpt-N's agent."""
    run_dir, older, newest = two_agents
    out = str(tmp_path / "agent")
    args = ["--run_dir=" + run_dir, "--out=" + out, "--checkpoint=%d" % older]
    rc, _, err = cli(args, env={"IRECGAN_FAULT_AT": "export.rename:1"})
    assert rc == -9 and "fault injection: kill at export.rename:1" in err, err[-3000:]
    assert not os.path.exists(out)
    partial = [n for n in os.listdir(str(tmp_path)) if n.startswith("agent.partial-")]
    assert len(partial) == 1
    assert os.path.exists(os.path.join(str(tmp_path), partial[0], "saved_model.pb"))
    rc, stdout, err = cli(args)
    assert rc == 0, err[-3000:]
    assert stdout.strip() == out
    assert read_json(os.path.join(out, INFO))["checkpoint"] == older
    ckpt = os.path.join(run_dir, "checkpoints", "ckpt-%d" % older, "model")
    np.testing.assert_array_equal(bias_of(out), tf.train.load_variable(ckpt,
                                                                       "agent/policy/bias"))
    newest_bias = os.path.join(run_dir, "checkpoints", "ckpt-%d" % newest, "model")
    assert not np.array_equal(bias_of(out), tf.train.load_variable(newest_bias,
                                                                   "agent/policy/bias"))


def test_an_error_while_writing_removes_the_temporary_folder(run, tmp_path, monkeypatch):
    import irecgan.export as export

    def fail(event):
        raise RuntimeError("boom at " + event)
    monkeypatch.setattr(export.faults, "point", fail)
    out = str(tmp_path / "agent")
    with pytest.raises(RuntimeError, match="boom at export.rename"):
        export_agent(run[0], out)
    assert os.listdir(str(tmp_path)) == []


def test_bad_input_is_one_line(run, tmp_path):
    run_dir, _, numbers = run
    with pytest.raises(UserError, match=r"no complete checkpoint ckpt-99 \(complete: %s\)"
                       % ", ".join("ckpt-%d" % n for n in numbers)):
        export_agent(run_dir, str(tmp_path / "a"), checkpoint=99)
    with pytest.raises(UserError, match="no config.json"):
        export_agent(str(tmp_path), str(tmp_path / "b"))
    with pytest.raises(UserError, match="no such directory"):
        export_agent(str(tmp_path / "missing"), str(tmp_path / "c"))
    bare = tmp_path / "bare"
    bare.mkdir()
    with open(os.path.join(run_dir, CONFIG)) as src, open(str(bare / CONFIG), "w") as dst:
        dst.write(src.read())
    with pytest.raises(UserError, match="has no complete checkpoint to export"):
        export_agent(str(bare), str(tmp_path / "d"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text(u"x")
    with pytest.raises(UserError) as err:
        export_agent(run_dir, str(tmp_path / "full"))
    assert str(err.value) == ("%s exists and is not an empty directory; refusing to overwrite "
                              "it (choose a new output directory)" % (tmp_path / "full"))
    assert os.listdir(str(tmp_path / "full")) == ["x"]
    (tmp_path / "empty").mkdir()   # an empty folder is fine: replaced by the export
    export_agent(run_dir, str(tmp_path / "empty"), checkpoint=numbers[-1])
    assert os.path.exists(str(tmp_path / "empty" / "saved_model.pb"))
    assert sorted(n for n in os.listdir(str(tmp_path)) if n.startswith("empty")) == ["empty"]


def test_a_damaged_checkpoint_is_skipped_by_default_and_refused_when_asked_for(run, tmp_path):
    run_dir, _, numbers = run
    copy = str(tmp_path / "run")
    shutil.copytree(run_dir, copy)
    damaged = os.path.join(copy, "checkpoints", "ckpt-%d" % numbers[-1])
    with open(os.path.join(damaged, "state.json"), "ab") as handle:
        handle.write(b" ")
    with pytest.raises(UserError, match=r"ckpt-%d is damaged \(state.json has" % numbers[-1]):
        export_agent(copy, str(tmp_path / "a"), checkpoint=numbers[-1])
    lines = []
    out = export_agent(copy, str(tmp_path / "b"), log=lines.append)
    assert read_json(os.path.join(out, INFO))["checkpoint"] == numbers[-2]
    assert lines == ["checkpoint ckpt-%d is damaged (state.json has %d bytes, expected %d); "
                     "left in place; using ckpt-%d instead" % (
                         numbers[-1], os.path.getsize(os.path.join(damaged, "state.json")),
                         os.path.getsize(os.path.join(damaged, "state.json")) - 1,
                         numbers[-2])]
    assert sorted(os.listdir(os.path.join(copy, "checkpoints"))) == sorted(
        "ckpt-%d" % n for n in numbers)
