"""The simulator registry (irecgan.sim.registry): lookups and errors, the package's three
simulators, and a toy simulator registered in this test alone that goes end to end: simulate a
log (irecgan-simulate), train a tiny run on it, evaluate it (online and U's fit), score a policy
(irecgan-benchmark's scoring) and make a report with its reference rows."""
import collections
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from irecgan import experiment, report
from irecgan.errors import UserError
from irecgan.evaluation import scoring, user_fit
from irecgan.sim import online, paramfile, registry
from irecgan.sim.simulator import Simulator, World
from tiny_logs import ROOT, TINY_IRECGAN

TOY_KIND = "tests.toy"
TESTS = os.path.dirname(os.path.abspath(__file__))


# -- the toy simulator ----------------------------------------------------------------------
class ToyWorld(object):
    """Each session's user has a favourite item (drawn by `weights`). A list holding it gets it
    clicked (and bought); another list gets its first item clicked with probability 1/2, else
    the session ends."""

    def __init__(self, weights, list_size=10, max_steps=6):
        self.weights = np.asarray(weights, dtype=np.float64)
        self.n_items = self.weights.shape[0]
        self.list_size = int(list_size)
        self.max_steps = int(max_steps)

    def start(self, n, rng):
        favourites = online.draw_rows(np.tile(self.weights, (n, 1)), rng.random_sample(n))
        return favourites.astype(np.int64), rng.randint(0, self.n_items, size=n)

    def step(self, states, lists, rng):
        lists = np.asarray(lists, dtype=np.int64)
        keep = rng.random_sample(len(states)) < 0.5
        shown = (lists == states[:, None]).any(axis=1)
        clicks = np.where(shown, states, np.where(keep, lists[:, 0], -1))
        return clicks, (clicks >= 0) * 1.0, shown.astype(np.int64), states

    def take(self, states, index):
        return states[np.asarray(index, dtype=np.int64)]

    def policy_states(self, states):
        return list(states)

    def log_states(self, states):
        return ["0"] * len(states)


def toy_oracle(world):
    """The ceiling: the favourite first, then the lowest other ids."""
    def slate(history, favourite):
        return [favourite] + [i for i in range(world.list_size) if i != favourite][
            :world.list_size - 1]
    return online.per_session(slate)


class ToySimulator(Simulator):
    name = "toy"
    kind = TOY_KIND
    policies = ("random",)
    default_logging = "random"
    ceiling = "oracle"
    truth = "empirical"
    notes = {"oracle": "  (knows the favourite)"}

    def load(self, path):
        a = paramfile.load_arrays(path, TOY_KIND, ("weights", "list_size"))
        return ToyWorld(a["weights"], int(a["list_size"]))

    def reference_policies(self, path, rng):
        env = self.load(path)
        return env, collections.OrderedDict([
            ("random", online.RandomLists(env.n_items, env.list_size, rng)),
            ("oracle", toy_oracle(env))])

    def world(self, params_path, rng, options):
        env = self.load(params_path) if params_path else ToyWorld(rng.dirichlet(np.ones(24)))

        def summary(seed):
            return [("random", online.RandomLists(env.n_items, env.list_size,
                                                  np.random.RandomState([seed, 5]))),
                    ("oracle", toy_oracle(env))]

        def save(path):
            paramfile.save_arrays(path, TOY_KIND, {"weights": env.weights,
                                                   "list_size": np.int64(env.list_size)})
        return World(env, lambda name, r: online.RandomLists(env.n_items, env.list_size, r),
                     summary, save)

    def generate_log(self, env, policy, n_sessions, rng, batch_size):
        return online.collect_sessions(env, policy, n_sessions, rng, max_steps=env.max_steps,
                                       min_steps=2, batch_size=batch_size)

    def describe(self, path):
        return "%d toy items" % self.load(path).n_items


def register_toy():
    return registry.register(ToySimulator())


@pytest.fixture
def toy():
    simulator = register_toy()
    yield simulator
    registry.unregister(TOY_KIND)


# -- the registry ---------------------------------------------------------------------------
def test_the_package_registers_mdp_neural_recsim_in_order():
    assert registry.names()[:3] == ["mdp", "neural", "recsim"]
    assert [registry.by_name(n).kind for n in ("mdp", "neural", "recsim")] == [
        "irecgan.sim.mdp", "irecgan.sim.neural", "irecgan.sim.recsim"]
    assert [(s.default_logging, s.ceiling, s.truth) for s in registry.simulators()[:3]] == [
        ("random", "belief", "bayes"), ("logging", "oracle", "oracle"),
        ("random", "posterior", "empirical")]
    assert registry.ceilings() == ("belief", "oracle", "posterior")
    assert [s.state_ceiling for s in registry.simulators()[:3]] == [None, None, "oracle"]
    assert registry.by_kind("nope") is None and registry.by_name("nope") is None


def test_lookups_find_the_toy_by_kind_name_and_file(toy, tmp_path):
    path = str(tmp_path / "toy.npz")
    paramfile.save_arrays(path, TOY_KIND, {"weights": np.ones(5), "list_size": np.int64(2)})
    assert registry.by_kind(TOY_KIND) is toy and registry.by_name("toy") is toy
    assert registry.for_file(path) is toy
    assert registry.item_count(path) == 5
    assert registry.load_environment(path).list_size == 2
    assert registry.names()[-1] == "toy"


def test_unknown_kind_is_one_line_naming_the_file(tmp_path):
    path = str(tmp_path / "other.npz")
    paramfile.save_arrays(path, "someone.else", {"x": np.zeros(1)})
    for call in (registry.for_file, registry.item_count, registry.load_environment):
        with pytest.raises(UserError) as err:
            call(path)
        assert str(err.value) == "%s holds no simulator parameters (kind 'someone.else')" % path
    with pytest.raises(UserError, match="does not exist"):
        registry.for_file(str(tmp_path / "missing.npz"))


def test_registering_a_kind_or_a_name_twice_is_an_error(toy):
    with pytest.raises(ValueError, match="kind 'tests.toy' is registered already"):
        registry.register(ToySimulator())
    again = ToySimulator()
    again.kind = "tests.toy2"
    with pytest.raises(ValueError, match="name 'toy' is registered already"):
        registry.register(again)
    nameless = ToySimulator()
    nameless.kind, nameless.name = "tests.toy3", None
    with pytest.raises(ValueError):
        registry.register(nameless)
    assert registry.names().count("toy") == 1


def test_unregister_removes_it(tmp_path):
    register_toy()
    assert registry.unregister(TOY_KIND).name == "toy"
    assert registry.by_kind(TOY_KIND) is None
    with pytest.raises(KeyError):
        registry.unregister(TOY_KIND)


# -- the toy end to end ---------------------------------------------------------------------
SIMULATE = ("import sys\nimport test_sim_registry as t\nt.register_toy()\n"
            "from irecgan.cli.simulate import run\n"
            "sys.argv = ['irecgan-simulate'] + sys.argv[1:]\nrun()\n")


def simulate_toy(out, *flags):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), TESTS]))
    proc = subprocess.run([sys.executable, "-c", SIMULATE, "--env=toy", "--out=%s" % out]
                          + list(flags), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, cwd=ROOT, timeout=600)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """irecgan-simulate --env=toy, then a tiny irecgan_nod run on its log (the toy registered
    meanwhile)."""
    root = tmp_path_factory.mktemp("toy")
    log = str(root / "toy.log")
    rc, out, err = simulate_toy(log, "--sessions=150", "--seed=4", "--eval_sessions=40",
                                "--policy=random")
    assert rc == 0, err
    register_toy()
    try:
        config = experiment.resolve(dict(TINY_IRECGAN, method="irecgan_nod", data=log,
                                         env_params=log + ".params.npz", n_items=24))
        run_dir = str(root / "run")
        results = experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    finally:
        registry.unregister(TOY_KIND)
    return dict(root=root, log=log, params=log + ".params.npz", out=out, run_dir=run_dir,
                results=results, config=config)


def test_simulate_writes_the_toys_log_params_and_summary(toy_run):
    lines = toy_run["out"].splitlines()
    assert lines[0] == "env:                 toy (policy random)"
    assert lines[3] == "world:               24 toy items"
    assert lines[8].startswith("purchase rate:")
    assert lines[9] == ("online figures per policy (40 sessions each, seed 4, at most 6 steps):")
    assert lines[10].startswith("  random   reward/session")
    assert lines[11].startswith("  oracle   reward/session")
    assert lines[11].endswith("  (knows the favourite)")
    assert "coverage" not in toy_run["out"]
    assert paramfile.read_kind(toy_run["params"]) == TOY_KIND
    assert os.path.getsize(toy_run["log"]) > 0


def test_simulate_refuses_flags_of_other_simulators(tmp_path):
    rc, out, err = simulate_toy(str(tmp_path / "x.log"), "--states=3")
    assert rc == 2 and "--states applies to --env=mdp only" in err
    assert out == ""


def test_the_tiny_run_is_evaluated_online_and_fits_u_against_the_empirical_truth(toy_run, toy):
    results = toy_run["results"]
    truth = user_fit.truth_model(toy_run["params"], experiment.load_data(toy_run["config"]))
    assert results["user_fit"]["truth"]["kind"] == "empirical"
    assert results["user_fit"]["n_steps"] > 0
    assert 0.0 <= results["user_fit"]["truth"]["P@1"] <= 100.0
    online_figures = results["online"]
    # the oracle's reward per session on the toy is at most max_steps - 1 = 5 clicks
    assert 0.0 <= online_figures["reward_mean"] <= 5.0
    assert "coverage@1" not in online_figures
    assert isinstance(truth, user_fit.EmpiricalTruth)


def test_benchmark_scores_a_policy_on_the_toy_from_its_default_logging_policy(toy_run, toy):
    def first_items(clicks, purchases, k, rng):
        return [list(range(k)) for _ in clicks]
    result = scoring.benchmark(first_items, toy_run["params"], k=10, online_sessions=30,
                               name="first", policy_seeds=(1,), policy_sessions=30)
    assert result["env_kind"] == TOY_KIND and result["logging_policy"] == "random"
    assert [r["method"] for r in result["reference_rows"]] == ["random", "oracle"]
    assert result["headroom"]["ceiling"] == "oracle"


def test_report_shows_the_run_and_the_toys_reference_rows(toy_run, toy, tmp_path):
    runs, entries = report.load_inputs([toy_run["run_dir"]])
    env, policies = report.environment_policies(
        toy_run["params"], np.random.RandomState(report.POLICY_RNG_SEED))
    assert list(policies) == ["random", "oracle"]
    entries += report.policy_rows(env, policies, [1, 2], 30, dataset="toy")
    assert report.bayes_rows(toy_run["params"], runs, "toy") == []   # truth: empirical
    out = str(tmp_path / "report")
    text, written = report.write_report(out, runs, entries, logging={"toy": "random"})
    table = [line for line in text.splitlines() if line.startswith("|")]
    methods = [line.split("|")[2].strip() for line in table]
    assert "irecgan_nod" in " ".join(methods)
    assert any("oracle" in m for m in methods) and any("random" in m for m in methods)
    assert os.path.isfile(os.path.join(out, "table.csv"))
    # the toy's ceiling ("oracle") and logging policy ("random") give the headroom column
    assert "* toy: headroom captured = (reward - " in text
    with open(os.path.join(toy_run["run_dir"], "results.json")) as handle:
        assert json.load(handle)["user_fit"]["truth"]["kind"] == "empirical"
