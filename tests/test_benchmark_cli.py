"""`irecgan-benchmark` (irecgan.evaluation.scoring): a user policy scored as our runs are scored, its
protocol checks, its headroom, the adapter of a SavedModel, and its row in irecgan-report."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from irecgan import report
from irecgan.errors import UserError
from irecgan.evaluation import scoring as benchmark
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from irecgan.sim import online

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_ITEMS = 50

POLICIES = '''
import numpy as np

N_ITEMS = 50


def random_lists(clicks, purchases, k, rng):
    """online.RandomLists' draws, from the protocol's rng."""
    keys = rng.random_sample((len(clicks), N_ITEMS))
    return np.argsort(keys, axis=1, kind="mergesort")[:, :k]


def popular(clicks, purchases, k, rng):
    """The k items clicked most often in the sessions of this call (ties: smaller id first)."""
    counts = np.bincount(np.concatenate(clicks), minlength=N_ITEMS)
    top = np.lexsort((np.arange(N_ITEMS), -counts))[:k]
    return [top.tolist() for _ in clicks]


def first_items(clicks, purchases, k, rng):
    return np.tile(np.arange(k), (len(clicks), 1))


def wrong_shape(clicks, purchases, k, rng):
    return np.zeros((len(clicks), k + 1), np.int64)


def ragged(clicks, purchases, k, rng):
    return [list(range(k)) for _ in clicks[:-1]] + [list(range(k - 1))]


def duplicates(clicks, purchases, k, rng):
    out = np.tile(np.arange(k), (len(clicks), 1))
    out[2, 1] = 0
    return out


def out_of_range(clicks, purchases, k, rng):
    out = np.tile(np.arange(k), (len(clicks), 1))
    if len(clicks[0]) == 2:
        out[1, 3] = N_ITEMS
    return out


def non_integer(clicks, purchases, k, rng):
    return np.tile(np.arange(k), (len(clicks), 1)) + 0.5


def one_row(clicks, purchases, k, rng):
    return np.arange(k)


def two_arguments(clicks, k):
    return np.tile(np.arange(k), (len(clicks), 1))


def raises_inside(clicks, purchases, k, rng):
    return {}["user code"]


def returns_none(clicks, purchases, k, rng):
    return None


NOT_CALLABLE = 3
'''


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with the parameters of a small MDP (mdp.npz) and the policies module."""
    folder = tmp_path_factory.mktemp("bench")
    mdp_sim.MDP.random(np.random.RandomState(1)).save(str(folder / "mdp.npz"))
    (folder / "mypolicies.py").write_text(POLICIES)
    return folder


def cli(folder, *args, **kwargs):
    """`python -m irecgan.cli.benchmark` run in `folder` (its modules importable from there)."""
    module = kwargs.get("module", "irecgan.cli.benchmark")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    return subprocess.run([sys.executable, "-m", module] + list(args), cwd=str(folder),
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)


def small(*args):
    return ["--env_params=mdp.npz", "--online_sessions=60", "--policy_sessions=40",
            "--policy_seeds=1,2"] + list(args)


def test_random_policy_equals_random_lists_on_the_same_seed(work):
    out = cli(work, "--policy=mypolicies:random_lists", "--online_seed=7", "--k=10",
              "--out=rand", *small())
    assert out.returncode == 0, out.stderr
    with open(str(work / "rand" / "benchmark.json")) as handle:
        result = json.load(handle)
    env = mdp_sim.MDP.load(str(work / "mdp.npz"))
    # the runs' final evaluation: online.evaluate(env, policy, n_sessions, seed), 500 per batch
    expected = online.evaluate(env, online.RandomLists(N_ITEMS, 10, np.random.RandomState(7)),
                               n_sessions=60, seed=7)
    assert result["online"] == expected
    assert result["row"]["reward"] == [expected["reward_mean"]]
    assert result["row"]["seeds"] == [7] and result["method"] == "random_lists"
    assert result["dataset"] == "mdp" and result["logging_policy"] == "random"
    # the reference rows are the report's own (same policies, seeds, sessions, rng)
    env, refs = report.environment_policies(str(work / "mdp.npz"), np.random.RandomState(0))
    rows = report.policy_rows(env, refs, [1, 2], 40, dataset="mdp")
    assert json.loads(json.dumps(rows)) == result["reference_rows"]
    # headroom: (reward - L) / (C - L), L = random's mean reward, C = belief's
    low = np.mean(rows[0]["reward"])
    high = np.mean(rows[3]["reward"])
    assert [r["method"] for r in rows] == ["random", "max", "mix", "belief", "imitation"]
    assert result["headroom"]["pct"] == pytest.approx(
        100.0 * (expected["reward_mean"] - low) / (high - low), abs=1e-9)
    assert result["headroom"]["ceiling"] == "belief"
    assert result["headroom"]["ceiling_knows"] == "history-based"
    line = [l for l in out.stdout.splitlines() if l.startswith("| mdp | random_lists |")]
    assert len(line) == 1 and "| 1 (env seeds: 7) |" in line[0], out.stdout
    assert "| %.3f | %.1f |" % (expected["reward_mean"], result["headroom"]["pct"]) in line[0]


def test_popularity_policy_and_the_report_shows_its_row(work):
    out = cli(work, "--policy=mypolicies:popular", "--name=popular-top", "--out=pop", *small())
    assert out.returncode == 0, out.stderr
    with open(str(work / "pop" / "benchmark.json")) as handle:
        result = json.load(handle)
    env = mdp_sim.MDP.load(str(work / "mdp.npz"))

    def popular(histories, states):  # the same policy written against sim.online directly
        counts = np.bincount(np.concatenate(histories), minlength=N_ITEMS)
        top = np.lexsort((np.arange(N_ITEMS), -counts))[:10]
        return np.tile(top, (len(histories), 1))
    expected = online.evaluate(env, popular, n_sessions=60, seed=0)
    assert result["online"] == expected
    assert result["online"]["coverage@10"] == expected["coverage@10"] > 0

    rep = cli(work, "--out=rep", "--env_params=mdp=mdp.npz", "--policy_seeds=1,2",
              "--policy_sessions=40", "--logging_policy=mdp=random", "pop",
              module="irecgan.cli.report")
    assert rep.returncode == 0, rep.stderr
    with open(str(work / "rep" / "table.md")) as handle:
        table = handle.read()
    line = [l for l in table.splitlines() if l.startswith("| mdp | popular-top |")]
    assert len(line) == 1, table
    # the same headroom as the benchmark computed (same reference rows)
    assert "| %.3f | %.1f |" % (expected["reward_mean"], result["headroom"]["pct"]) in line[0]
    assert os.path.join("pop", "benchmark.json") in table  # its note names the file
    with open(str(work / "rep" / "table.csv")) as handle:
        assert "mdp,popular-top,benchmark (irecgan-benchmark)," in handle.read()


PROBE = "step 1 (a probe batch of 4 sessions before the evaluation)"
PROTOCOL = "(the protocol: policy(clicks, purchases, k, rng) -> [B, k] item ids"
VIOLATIONS = [
    ("wrong_shape", "policy wrong_shape, %s, row 0: expected 10 item ids, got 11" % PROBE),
    ("ragged", "policy ragged, %s, row 3: expected 10 item ids, got 9" % PROBE),
    ("duplicates", "policy duplicates, %s, row 2: item id 0 appears 2 times" % PROBE),
    ("out_of_range", "policy out_of_range, step 2, row 1: item id 50 is outside 0..49"),
    ("non_integer", "policy non_integer, %s, row 0: item id 0.5 is not an integer" % PROBE),
    ("one_row", "policy one_row, %s: returned an array of shape (10,), expected [batch, k]"
     % PROBE),
    ("returns_none", "policy returns_none, %s: returned NoneType, expected an [batch, k] array"
     % PROBE),
    ("two_arguments", "policy two_arguments, %s: raised TypeError: two_arguments() takes 2 "
     "positional arguments but 4 were given" % PROBE),
    ("raises_inside", "policy raises_inside, %s: raised KeyError: 'user code'" % PROBE),
]


@pytest.mark.parametrize("name,message", VIOLATIONS)
def test_protocol_violations_are_one_line_errors(work, name, message):
    out = cli(work, "--policy=mypolicies:" + name, *small())
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message), out.stderr
    assert PROTOCOL in lines[0] and "Traceback" not in out.stderr


def test_a_failing_policy_stops_before_any_reference_policy_and_debug_shows_the_traceback(
        work, monkeypatch):
    def no_reference_policies(*args, **kwargs):
        raise AssertionError("the reference policies were made before the policy was tried")
    monkeypatch.setattr(report, "environment_policies", no_reference_policies)

    def broken(clicks, purchases, k, rng):
        raise RuntimeError("broken policy")
    with pytest.raises(UserError, match="policy broken, step 1 .*raised RuntimeError: broken"):
        benchmark.benchmark(broken, str(work / "mdp.npz"), name="broken")
    with pytest.raises(RuntimeError, match="broken policy"):
        benchmark.benchmark(broken, str(work / "mdp.npz"), name="broken", debug=True)
    out = cli(work, "--policy=mypolicies:raises_inside", "--debug", *small())
    assert out.returncode == 1 and "Traceback" in out.stderr, out.stderr
    assert "KeyError: 'user code'" in out.stderr


@pytest.mark.parametrize("spec,message", [
    ("mypolicies", "--policy expects MODULE:CALLABLE or savedmodel:DIR, got 'mypolicies'"),
    ("nosuchmodule:f", "--policy nosuchmodule:f: cannot import nosuchmodule: "),
    ("mypolicies:nosuch", "--policy mypolicies:nosuch: mypolicies has no attribute 'nosuch'"),
    ("mypolicies:NOT_CALLABLE", "--policy mypolicies:NOT_CALLABLE: NOT_CALLABLE is not "
                                "callable (a int)"),
    ("savedmodel:nothere", "--policy savedmodel:nothere: no saved_model.pb in nothere"),
])
def test_bad_policy_specs_are_one_line_errors(work, spec, message):
    out = cli(work, "--policy=" + spec, *small())
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + message), out.stderr


def first_items(clicks, purchases, k, rng):
    return np.tile(np.arange(k), (len(clicks), 1))


def test_name_and_logging_policy_are_checked(work):
    path = str(work / "mdp.npz")
    with pytest.raises(UserError, match="--name random is the name of one of the simulator's"):
        benchmark.benchmark(first_items, path,
                            online_sessions=5, name="random", policy_sessions=5)
    with pytest.raises(UserError, match="--logging_policy must name one of the simulator's "
                                        r"policies \(random, max, mix, belief, imitation\), got 'oracle'"):
        benchmark.benchmark(first_items, path,
                            online_sessions=5, logging_policy="oracle", policy_sessions=5)
    with pytest.raises(UserError, match=r"--k must be in 1..50 \(the simulator's items\)"):
        benchmark.benchmark(first_items, path, k=51)


def test_the_policy_sees_clicks_and_purchases_of_the_neural_oracle(tmp_path):
    rng = np.random.RandomState(4)
    user, logging = neural_sim.random_params(rng)
    path = str(tmp_path / "neural.npz")
    neural_sim.save_params(path, user, logging)
    calls = []

    def record(clicks, purchases, k, rng):
        calls.append(([c.copy() for c in clicks], [p.copy() for p in purchases]))
        assert k == 20 and isinstance(rng, np.random.RandomState)
        return np.tile(np.arange(k), (len(clicks), 1))
    result = benchmark.benchmark(record, path, k=20, online_sessions=30, policy_seeds=[1],
                                 policy_sessions=10, name="fixed")
    for clicks, purchases in calls:
        assert len(set(len(c) for c in clicks)) == 1   # lock step
        for c, p in zip(clicks, purchases):
            assert c.dtype == np.int64 and p.dtype == np.bool_ and len(c) == len(p)
            assert not p[0]   # the start item is no purchase
    # purchases happen, and the policy is shown them (after the start item)
    assert result["online"]["purchases_mean"] > 0
    assert any(p[1:].any() for _, ps in calls for p in ps)
    assert result["logging_policy"] == "logging" and result["dataset"] == "neural"


def test_a_savedmodel_with_the_contract_signature_is_adapted(work):
    """A hand-made SavedModel of the contract (recommend: the k items after the last click,
    modulo 50, as strings) scores exactly as the same policy written in Python."""
    from irecgan.tfcompat import tf
    folder = str(work / "next_items")
    graph = tf.Graph()
    with graph.as_default():
        history = tf.placeholder(tf.string, [None, None], name="history")
        length = tf.placeholder(tf.int32, [None], name="length")
        k = tf.placeholder(tf.int32, [], name="k")
        last = tf.gather_nd(history, tf.stack([tf.range(tf.shape(history)[0]), length - 1], 1))
        ids = tf.strings.to_number(last, out_type=tf.int32)[:, None] + 1 + tf.range(k)[None, :]
        items = tf.as_string(tf.floormod(ids, N_ITEMS))
        scores = tf.ones(tf.shape(items), tf.float32)
        with tf.Session(graph=graph) as session:
            builder = tf.saved_model.builder.SavedModelBuilder(folder)
            signature = tf.saved_model.signature_def_utils.predict_signature_def(
                {"history": history, "length": length, "k": k},
                {"items": items, "scores": scores})
            builder.add_meta_graph_and_variables(session, ["serve"],
                                                 signature_def_map={"recommend": signature})
            builder.save()
    out = cli(work, "--policy=savedmodel:" + folder, "--out=sm", *small())
    assert out.returncode == 0, out.stderr
    with open(str(work / "sm" / "benchmark.json")) as handle:
        result = json.load(handle)
    assert result["method"] == "savedmodel:next_items"

    def next_items(histories, states):
        return np.array([[(h[-1] + 1 + j) % N_ITEMS for j in range(10)] for h in histories])
    env = mdp_sim.MDP.load(str(work / "mdp.npz"))
    assert result["online"] == online.evaluate(env, next_items, n_sessions=60, seed=0)
