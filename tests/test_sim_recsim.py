"""RecSim's interest-evolution user as a simulator (irecgan.sim.recsim_env, the recsim extra).

Tests marked `needs_recsim` skip, with the reason printed (`-rs` in pytest.ini), when the extra
is not installed; the others run everywhere.
"""
import collections
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from irecgan.data.logfile import read_log
from irecgan.errors import UserError
from irecgan.sim import online
from irecgan.sim import recsim_env as R

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_RECSIM, WHY_NOT = R.available()
needs_recsim = pytest.mark.skipif(not HAVE_RECSIM, reason="optional extra 'recsim' is not installed: "
                                  + WHY_NOT)


def rs(*seed):
    return np.random.RandomState(list(seed))


def python(code, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", code] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, cwd=ROOT)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


@pytest.fixture(scope="module")
def world():
    return R.RecSimWorld.random(rs(1, 1))


# ------------------------------------------------------------------ without RecSim
def test_simulate_without_recsim_is_one_line_naming_the_pip_command(tmp_path):
    # `None` in sys.modules makes `import recsim` fail as if it were not installed
    code = ("import sys; sys.modules['recsim'] = None\n"
            "from irecgan.cli.simulate import run\n"
            "sys.argv = ['irecgan-simulate'] + sys.argv[1:]; run()\n")
    rc, out, err = python(code, "--env=recsim", "--sessions=5", "--out=%s" % (tmp_path / "x"))
    assert rc == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and 'pip install -e ".[tf2,recsim]"' in lines[0], err
    assert "Traceback" not in err


def test_adapter_module_imports_without_recsim():
    code = ("import sys; sys.modules['recsim'] = None\n"
            "from irecgan.sim import recsim_env, online\n"
            "from irecgan import report\n"
            "from irecgan.sim import registry\n"
            "from irecgan.evaluation import agent_policy\n"
            "ok, why = recsim_env.available(); print(ok, 'pip install' in why)\n")
    rc, out, err = python(code)
    assert rc == 0, err
    assert out.split() == ["False", "True"]


class CountingEnv(object):
    """A toy environment with `step_figures`: the i-th session of a batch starts at item 0 and
    clicks item min(t, 2) at step t until step 1 + i % 3 (then ends); a click's figure is 10 t."""
    n_items, list_size, max_steps = 3, 1, 10

    def start(self, n, rng):
        return (np.arange(n), np.zeros(n, np.int64), np.zeros(n)), np.zeros(n, np.int64)

    def step(self, states, lists, rng):
        sid, t, _ = states
        t = t + 1
        alive = t <= 1 + sid % 3
        clicks = np.where(alive, np.minimum(t, 2), -1)
        return clicks, alive * 1.0, np.zeros(len(sid), np.int64), (sid, t, alive * 10.0 * t)

    def take(self, states, index):
        return tuple(s[index] for s in states)

    def policy_states(self, states):
        return list(states[0])

    def log_states(self, states):
        return ["0"] * len(states[0])

    def step_figures(self, states):
        return collections.OrderedDict([("minutes", states[2])])


def test_evaluate_sums_step_figures_per_session():
    # batches of 3 and 2 sessions click 1, 2, 3 | 1, 2 times; their figures: 10, 10+20,
    # 10+20+30 | 10, 30
    res = online.evaluate(CountingEnv(), lambda h, s: np.zeros((len(h), 1), np.int64),
                          n_sessions=5, batch_size=3)
    per_session = np.array([10.0, 30.0, 60.0, 10.0, 30.0])
    assert res["clicks_mean"] == pytest.approx(9 / 5.0)
    assert res["minutes_mean"] == pytest.approx(per_session.mean())   # 28
    assert res["minutes_std"] == pytest.approx(per_session.std())


# ------------------------------------------------------------------ the corpus and the ids
@needs_recsim
def test_corpus_is_recsims_sampler_seeded_and_saved(world, tmp_path):
    ie = R.import_recsim()["ie"]
    again = R.random_corpus(rs(1, 1))
    for a, b in zip(world.corpus, again):
        np.testing.assert_array_equal(a, b)
    other = R.random_corpus(rs(2, 1))
    assert not np.array_equal(world.corpus.quality, other.quality)
    # the documents are RecSim's UtilityModelVideoSampler's, in its order
    sampler = ie.UtilityModelVideoSampler(doc_ctor=ie.IEvVideo, seed=world.corpus.seed)
    for i in range(R.N_DOCS):
        doc = sampler.sample_document()
        assert doc.doc_id() == i == world.docs[i].doc_id()
        np.testing.assert_array_equal(doc.features, world.corpus.features[i])
        assert doc.quality == world.corpus.quality[i]
        assert doc.cluster_id == world.corpus.cluster_id[i]
    path = str(tmp_path / "w.npz")
    world.save(path)
    loaded = R.RecSimWorld.load(path)
    for a, b in zip(world.corpus, loaded.corpus):
        np.testing.assert_array_equal(a, b)
    assert (loaded.list_size, loaded.time_budget, loaded.no_click_mass) == (10, 30.0, 1.0)
    world.save(str(tmp_path / "again.npz"))
    with open(path, "rb") as f1, open(str(tmp_path / "again.npz"), "rb") as f2:
        assert f1.read() == f2.read()


class Recorder(object):
    """Wraps a world's RecSim calls: per user model (in creation order) the documents of every
    slate RecSim was shown and the responses it gave."""

    def __init__(self, world, monkeypatch):
        self.models = []
        self.calls = collections.defaultdict(list)  # id(model) -> [(doc ids, responses)]
        make = world.user_model

        def user_model(seed):
            model = make(seed)
            self.models.append(model)
            original = model.simulate_response

            def simulate_response(documents):
                responses = original(documents)
                self.calls[id(model)].append(([d.doc_id() for d in documents], responses))
                return responses
            model.simulate_response = simulate_response
            return model
        monkeypatch.setattr(world, "user_model", user_model)

    def clicked(self, model):
        """[(doc id, watch time)] of the clicks RecSim reported for `model`, in order."""
        out = []
        for ids, responses in self.calls[id(model)]:
            out += [(ids[i], r.watch_time) for i, r in enumerate(responses) if r.clicked]
        return out


@needs_recsim
def test_item_ids_are_stable_across_sessions_and_logged_clicks_are_recsims(world, monkeypatch):
    world = R.RecSimWorld(world.corpus, engine="recsim")   # RecSim's objects, recorded
    rec = Recorder(world, monkeypatch)
    policy = online.RandomLists(world.n_items, world.list_size, rs(3))
    sessions, _ = R.generate_log(world, policy, 12, rs(4), batch_size=5)
    assert len(rec.models) >= 12
    seen = set()
    for session in sessions:
        model = rec.models[session.session_id - 1]  # every session kept (>= 1 click each)
        clicked = rec.clicked(model)
        # the logged clicks (after the start item) are exactly the documents RecSim's
        # responses reported clicked, and each logged list is the slate RecSim was shown
        assert [int(c) for c in session.clicks[1:]] == [d for d, _ in clicked]
        shown = [ids for ids, _ in rec.calls[id(model)]]
        for row in session.rec_lists[1:]:
            assert [int(x) for x in row] in shown
        for ids, _ in rec.calls[id(model)]:
            for doc_id in ids:  # item id i is corpus document i, in every session
                assert world.docs[doc_id].doc_id() == doc_id
                seen.add(doc_id)
        assert session.purchases[1:] == [int(world.corpus.quality[d] > 0) for d, _ in clicked]
    assert len(seen) > 50


def replay_session(world, env_seed, slates):
    """RecSim's own SingleUserEnvironment on the corpus, replaying a one-session evaluation
    with `online.evaluate(..., seed=env_seed)`: the same user seed, each step's global-numpy
    seed from the session's stream, each slate shown until a click or done. Returns RecSim's
    summed (clicks, watch time) rewards."""
    recsim = R.import_recsim()
    ie = recsim["ie"]
    from recsim import document
    from recsim.simulator import environment

    class CorpusSampler(document.AbstractDocumentSampler):
        def __init__(self):
            super(CorpusSampler, self).__init__(ie.IEvVideo)
            self.i = 0

        def sample_document(self):
            self.i += 1
            return world.docs[self.i - 1]

    rng = np.random.RandomState(env_seed)
    user_seed, stream_seed = rng.randint(0, 2 ** 31 - 1, size=(1, 2))[0].tolist()
    user = ie.IEvUserModel(world.list_size,
                           choice_model_ctor=recsim["choice_model"]
                           .MultinomialProportionalChoiceModel,
                           response_model_ctor=ie.IEvResponse,
                           user_state_ctor=world._user_ctor, seed=user_seed)
    env = environment.Environment(user, CorpusSampler(), world.n_items, world.list_size,
                                  resample_documents=False)
    env.reset()
    stream = np.random.RandomState(stream_seed)
    clicks = watch = 0.0
    done = False
    for slate in slates:
        if done:
            break
        np.random.seed(stream.randint(0, 2 ** 31 - 1))
        while True:
            _, _, responses, done = env.step(slate)
            clicks += ie.total_clicks_reward(responses)
            watch += ie.clicked_watchtime_reward(responses)
            if any(r.clicked for r in responses) or done:
                break
    return clicks, watch


@needs_recsim
@pytest.mark.parametrize("policy_name", ["random", "oracle"])
def test_online_reward_equals_the_sum_recsim_returned(world, policy_name):
    base = (R.OraclePolicy(world) if policy_name == "oracle"
            else online.RandomLists(world.n_items, world.list_size, rs(7)))
    slates = []

    def policy(histories, states):
        lists = base(histories, states)
        slates.append(lists[0].tolist())
        return lists

    checked = 0
    for env_seed in (11, 12, 13):
        del slates[:]
        res = online.evaluate(world, policy, n_sessions=1, seed=env_seed, max_steps=40)
        clicks, watch = replay_session(world, env_seed, slates)
        if res["length_mean"] >= 40:
            continue  # cut at the step cap: RecSim would have gone on
        assert res["reward_mean"] == res["clicks_mean"] == clicks
        assert res["watch_time_mean"] == pytest.approx(watch, rel=1e-12)
        assert watch > 0
        checked += 1
    assert checked >= 2


@needs_recsim
def test_choice_weights_are_recsims(world):
    model = world.user_model(5)
    cm = model.choice_model
    cm.score_documents(R.RecSimWorld.user_state(model), [d.create_observation()
                                                         for d in world.docs])
    np.testing.assert_allclose(world.choice_weights(model), cm.scores, rtol=0, atol=1e-12)


@needs_recsim
def test_global_numpy_generator_is_left_alone(world):
    np.random.seed(123)
    expected = np.random.random_sample(3)
    np.random.seed(123)
    online.evaluate(world, R.QualityPolicy(world, rs(1)), n_sessions=4, seed=2)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)


@needs_recsim
def test_same_seed_same_figures_other_seed_other_figures(world):
    pol = lambda: R.QualityPolicy(world, rs(9))  # noqa: E731
    a = online.evaluate(world, pol(), n_sessions=30, seed=4, batch_size=30)
    b = online.evaluate(world, pol(), n_sessions=30, seed=4, batch_size=30)
    assert a == b
    c = online.evaluate(world, pol(), n_sessions=30, seed=5, batch_size=30)
    assert c["watch_time_mean"] != a["watch_time_mean"]


@needs_recsim
@pytest.mark.parametrize("engine", R.ENGINES)
def test_session_ends_when_recsim_says_done(world, engine):
    # a 2-minute budget: a click watches min(budget, 4) minutes and gives back
    # alpha * watch * quality (< watch), an empty slate costs 0.5, so every session ends soon
    small = R.RecSimWorld(world.corpus, time_budget=2.0, engine=engine)
    states, _ = small.start(20, rs(2))
    policy = online.RandomLists(small.n_items, 10, rs(1))
    ended_at = {}
    for t in range(1, 200):
        clicks, rewards, _, states = small.step(states, policy([[0]] * 20, None))
        for i, c in enumerate(clicks.tolist()):
            if i in ended_at:
                assert c == -1 and rewards[i] == 0  # stays over
            elif c == -1:
                ended_at[i] = t
        if len(ended_at) == 20:
            break
    assert len(ended_at) == 20 and max(ended_at.values()) < 40
    if engine == "numpy":
        assert states.users.done.all() and (states.users.budget <= 0).all()
        return
    for session in states.users.sessions:
        assert session.model.is_terminal()
        assert R.RecSimWorld.user_state(session.model).time_budget <= 0


@needs_recsim
def test_oracle_slate_maximises_clicks_per_minute():
    small = R.RecSimWorld.random(rs(3, 1), n_docs=9, list_size=3)
    oracle = R.OraclePolicy(small)
    states, _ = small.start(4, rs(5))
    for view in small.policy_states(states):
        w = small.corpus.features.dot(view.interests) + view.weights_offset
        cost = small.corpus.video_length * (1 - view.update_alpha * small.corpus.quality)
        idle = view.no_click_weight * view.step_penalty

        def ratio(s):
            s = list(s)
            return w[s].sum() / ((w[s] * cost[s]).sum() + idle)
        best = max(ratio(s) for s in itertools.combinations(range(9), 3))
        assert ratio(oracle.slate(view)) == pytest.approx(best, rel=1e-12)


@needs_recsim
def test_ceiling_above_quality_above_random(world):
    figs = {}
    for name, pol in R.reference_policies(world, rs(6)).items():
        figs[name] = online.evaluate(world, pol, n_sessions=60, seed=8)
    clicks = [figs[n]["reward_mean"] for n in ("random", "quality", "oracle")]
    watch = [figs[n]["watch_time_mean"] for n in ("random", "quality", "oracle")]
    assert clicks == sorted(clicks) and clicks[0] < clicks[2] - 5
    assert watch == sorted(watch)


# ------------------------------------------------------------------ the import stubs
@needs_recsim
def test_import_stubs_only_for_the_known_failures():
    # dopamine made unimportable: runner_lib gets the stub; gin.tf has one only when its real
    # import fails (TensorFlow without tf.estimator)
    code = ("import sys; sys.modules['dopamine'] = None\n"
            "import tensorflow as tf\n"
            "from irecgan.sim import recsim_env\n"
            "recsim_env.import_recsim()\n"
            "doc = lambda n: (sys.modules[n].__doc__ or '').startswith('irecgan stub')\n"
            "print(doc('recsim.simulator.runner_lib'), doc('gin.tf'),"
            " hasattr(tf, 'estimator'))\n")
    rc, out, err = python(code)
    assert rc == 0, err
    runner_stub, gin_stub, has_estimator = out.split()[-3:]
    assert runner_stub == "True"
    assert gin_stub == str(has_estimator == "False")


# ------------------------------------------------------------------ CLI, log, report
def simulate(*args):
    code = ("import sys\nfrom irecgan.cli.simulate import run\n"
            "sys.argv = ['irecgan-simulate'] + sys.argv[1:]; run()\n")
    return python(code, *args)


@needs_recsim
def test_cli_same_seed_same_bytes_and_inspect_log_accepts(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = str(tmp_path / (name + ".log"))
        rc, stdout, err = simulate("--env=recsim", "--policy=random", "--sessions=60",
                                   "--seed=1", "--out=" + out, "--eval_sessions=20")
        assert rc == 0, err
        with open(out, "rb") as f1, open(out + ".params.npz", "rb") as f2:
            outs.append((f1.read(), f2.read(), stdout.replace(out, "OUT")))
    assert outs[0] == outs[1]
    for name in ("random", "quality", "oracle"):
        assert "\n  %-8s reward/session" % name in outs[0][2]
    assert "watch time/session" in outs[0][2]
    sessions, report = read_log(str(tmp_path / "a.log"))
    assert len(sessions) == 60 and all(2 <= len(s.clicks) <= 40 for s in sessions)
    assert all(len(r) == 10 for s in sessions for r in s.rec_lists[1:])
    code = ("import sys\nfrom irecgan.cli.inspect_log import run\n"
            "sys.argv = ['irecgan-inspect-log'] + sys.argv[1:]; run()\n")
    rc, out, err = python(code, str(tmp_path / "a.log"))
    assert rc == 0, err


@needs_recsim
def test_quality_log_and_params_reuse(tmp_path):
    first = str(tmp_path / "q.log")
    rc, _, err = simulate("--env=recsim", "--policy=quality", "--sessions=30", "--seed=2",
                          "--out=" + first, "--eval_sessions=0")
    assert rc == 0, err
    second = str(tmp_path / "q2.log")
    rc, out, err = simulate("--env=recsim", "--policy=quality", "--sessions=30", "--seed=2",
                            "--out=" + second, "--params=" + first + ".params.npz",
                            "--eval_sessions=0")
    assert rc == 0 and "loaded from" in out, err
    with open(first, "rb") as f1, open(second, "rb") as f2:
        assert f1.read() == f2.read()
    rc, _, err = simulate("--env=recsim", "--policy=max", "--out=" + first)
    assert rc == 2 and "--policy must be one of random, quality for --env=recsim" in err


@needs_recsim
def test_report_and_load_environment_know_the_recsim_kind(world, tmp_path):
    from irecgan import report
    from irecgan.sim.registry import load_environment
    path = str(tmp_path / "w.npz")
    world.save(path)
    assert isinstance(load_environment(path), R.RecSimWorld)
    env, policies = report.environment_policies(path, rs(0))
    assert list(policies) == ["random", "quality", "oracle", "posterior"]
    rows = report.policy_rows(env, policies, [1, 2], 10, dataset="recsim")
    assert [r["method"] for r in rows] == ["random", "quality", "oracle", "posterior"]
    assert all(len(r["reward"]) == 2 for r in rows)


def test_bad_parameter_file_is_a_user_error(tmp_path):
    path = str(tmp_path / "x.npz")
    from irecgan.sim import paramfile
    paramfile.save_arrays(path, R.KIND, {"features": np.zeros((2, 20))})
    with pytest.raises(UserError, match="lacks"):
        R.load_arrays(path)

