"""irecgan_true (issue 22): irecgan_nod's training with the generated sessions drawn from the true
simulator answering the agent's sampled lists, q_D = 1 (src/irecgan/training/true_world.py)."""
import json
import os

import numpy as np
import pytest
from scipy.stats import chisquare

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.vocab import Vocabulary
from irecgan.errors import UserError
from irecgan.evaluation.agent_policy import AgentPolicy
from irecgan.models.graph import ModelGraph
from irecgan.report import aggregate_rows, load_runs
from irecgan.report.plots import METHOD_COLORS, method_color
from irecgan.sim import mdp as mdp_sim
from irecgan.tfcompat import tf
from irecgan.training.adversarial import plan
from irecgan.numeric import SEED_MAX
from irecgan.training.true_world import TrueWorldGenerator, TrueWorldTraining
from test_crash import Server, read_bytes
from test_report import test_p, write_run
from tiny_logs import TINY_IRECGAN, write_mdp_log

TINY = dict(TINY_IRECGAN, method="irecgan_true", online_every=0)


@pytest.fixture(scope="module")
def world():
    """The tests' MDP (seed 1), a frequency vocabulary of a random-policy log of it (so index !=
    item + 4: the mapping is exercised), and an untrained agent with its session."""
    mdp = mdp_sim.MDP.random(np.random.RandomState(1))
    rng = np.random.RandomState(2)
    sessions, _ = mdp_sim.generate_log(mdp, mdp_sim.logging_policy(mdp, "random", rng), 160,
                                       rng)
    vocab = Vocabulary.build(sessions)
    assert vocab.items != [str(i) for i in range(mdp.n_items)]
    models = ModelGraph(vocab.size, embed_dim=4, hidden=8, layers=1, k=10, build=("agent",),
                        seed=0)
    session = tf.Session(graph=models.graph)
    session.run(models.init_op)
    policy = AgentPolicy(models, session, vocab, sample=True)
    yield mdp, vocab, policy
    session.close()


def first_steps(sessions, vocab):
    """(raw item ids of the first list shown, raw id clicked from it or None) per session."""
    out = []
    for s in sessions:
        shown = s.rec_lists[1] if len(s.clicks) > 1 else s.end_list
        clicked = int(vocab.item_id(s.clicks[1])) if len(s.clicks) > 1 else None
        out.append(([int(vocab.item_id(i)) for i in shown], clicked))
    return out


def chi_square_p(steps, rewards, law):
    """p-value of the observed first-step outcomes (51 categories: the clicked item, or no
    click) against the expected counts of `law(r) -> click probability of each listed item`
    given each session's list (r: the true rewards of the list in the start state).
    Categories with an expected count below 5 are pooled into one."""
    n_items = rewards.shape[1]
    observed = np.zeros(n_items + 1)
    expected = np.zeros(n_items + 1)
    for shown, clicked in steps:
        p = law(rewards[0, shown])
        expected[shown] += p
        expected[n_items] += 1.0 - p.sum()
        observed[n_items if clicked is None else clicked] += 1
    small = expected < 5
    observed = np.append(observed[~small], observed[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    return chisquare(observed, expected).pvalue


def mdp_law(r):
    return r ** 2 / r.sum()  # a candidate ~ r, clicked with probability r (sim/mdp.py)


def other_law(r):
    return r / len(r)        # a candidate uniform, clicked with probability r


def test_generated_sessions_follow_the_simulators_law(world):
    """The first step of 4,000 generated sessions: the clicked items (and the sessions without a
    click) agree with the MDP's exact click probabilities for the lists the agent showed; a
    visibly different law, and the right law read through the wrong vocabulary mapping, are
    rejected by the same test."""
    mdp, vocab, policy = world
    sessions = TrueWorldGenerator(mdp, policy, vocab, max_len=2).generate(
        4000, np.random.RandomState(7))
    steps = first_steps(sessions, vocab)
    assert all(len(shown) == 10 and len(set(shown)) == 10 for shown, _ in steps)
    assert len(set(tuple(sorted(shown)) for shown, _ in steps)) > 3000  # sampled lists
    assert chi_square_p(steps, mdp.rewards, mdp_law) > 0.001
    assert chi_square_p(steps, mdp.rewards, other_law) < 1e-6
    numeric = Vocabulary.numeric(mdp.n_items)
    wrong = [([int(numeric.item_id(vocab.item_index(i))) for i in shown],
              None if c is None else int(numeric.item_id(vocab.item_index(c))))
             for shown, c in steps]
    assert chi_square_p(wrong, mdp.rewards, mdp_law) < 1e-6


def test_sessions_are_encoded_like_logged_ones_capped_and_seeded(world):
    mdp, vocab, policy = world
    rng = np.random.RandomState(11)
    generator = TrueWorldGenerator(mdp, policy, vocab, max_len=4)
    sessions = generator.generate(300, rng)
    assert len(sessions) == 300
    for s in sessions:
        n = len(s.clicks)
        assert 1 <= n <= 4 and s.clicks[0] == vocab.item_index("0")  # the MDP's start click
        assert s.q_d == [1.0] * n and s.purchases == [0] * n
        assert s.rec_lists[0] == [] and all(len(r) == 10 for r in s.rec_lists[1:])
        assert all(c in r for c, r in zip(s.clicks[1:], s.rec_lists[1:]))
        # an MDP session ends by itself on a list without a click; at 4 clicks it was cut
        assert (s.end_list is None) == (n == 4)
        assert s.end_list is None or len(set(s.end_list)) == 10
    assert sorted(set(len(s.clicks) for s in sessions)) == [1, 2, 3, 4]
    # exactly two draws of the run's RandomState, and the same draws give the same sessions
    expected = np.random.RandomState(11)
    expected.randint(SEED_MAX)
    expected.randint(SEED_MAX)
    assert rng.randint(SEED_MAX) == expected.randint(SEED_MAX)
    assert generator.generate(300, np.random.RandomState(11)) == sessions


def test_missing_env_params_is_one_line():
    with pytest.raises(UserError) as err:
        resolve({"data": "some.log", "method": "irecgan_true"})
    assert str(err.value) == ("--method=irecgan_true needs --env_params (the true simulator "
                              "answers the agent's lists)")


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    return write_mdp_log(tmp_path_factory.mktemp("sim"))


def recorded_run(run_dir, config, monkeypatch):
    """experiment.run with TrueWorldTraining.update_agent recorded: [(passes, generated)]."""
    calls = []
    update = TrueWorldTraining.update_agent

    def recording(self, passes, rng, generated=()):
        calls.append(([list(p) for p in passes], list(generated)))
        return update(self, passes, rng, generated)

    monkeypatch.setattr(TrueWorldTraining, "update_agent", recording)
    experiment.run(run_dir, config, show_progress=False, log=lambda m: None)
    return calls


@pytest.mark.parametrize("schedule", ["paper", "reference"])
def test_agent_updates_see_true_sessions_with_q_d_1(sim_files, tmp_path, monkeypatch, schedule):
    """irecgan_nod's budget (one agent update per g-step / reference agent step; m generated
    sessions each, mixed with round(offline_ratio * m) offline ones in the paper schedule, the
    offline set then the pool in the reference one), every generated session with q_D = 1; no U,
    no D."""
    log, params = sim_files
    config = resolve(dict(TINY, data=log, env_params=params, schedule=schedule,
                          pool_size=20))
    calls = recorded_run(str(tmp_path / "run"), config, monkeypatch)
    units = plan(schedule, TINY["adv_epochs"], TINY["g_steps"], TINY["d_steps"], use_disc=False)
    assert len(calls) == len([u for u in units if u[0] in ("g", "ref_a")]) > 0
    m = TINY["gen_sessions"]
    for passes, generated in calls:
        if schedule == "paper":
            assert len(passes) == 1 and len(passes[0]) == m + int(round(TINY["offline_ratio"] * m))
            assert len(generated) == m and all(any(g is s for s in passes[0]) for g in generated)
        else:
            assert len(passes) == 2 and len(passes[1]) == len(generated) <= 20
            assert all(p is g for p, g in zip(passes[1], generated))
        for s in generated:
            assert s.q_d == [1.0] * len(s.clicks)
    with open(os.path.join(str(tmp_path / "run"), "metrics.jsonl")) as handle:
        records = [json.loads(line) for line in handle]
    assert [r["phase"] for r in records] == ["agent"] * 2 + ["adversarial"] * 2
    adversarial = records[-1]
    assert adversarial["gen_length"] >= 1.0 and adversarial["gen_purchase_rate"] == 0.0
    assert not [k for k in adversarial if k.startswith(("user_", "gen_q_d", "d_"))]


def test_end_to_end_repeats_and_resumes_exactly(sim_files, tmp_path):
    """results.json with online figures; the same seed twice gives the same bytes; a run killed
    inside a g-step's generation resumes to the same bytes; the agent pretraining is pg's."""
    log, params = sim_files
    config = resolve(dict(TINY, data=log, env_params=params))
    server = Server(str(tmp_path))
    try:
        runs = dict((name, str(tmp_path / name)) for name in ("a", "b", "killed", "pg"))
        for name in ("a", "b"):
            assert server.run(runs[name], config)["exit"] == 0
        killed = server.run(runs["killed"], config, fault="run@generate:3")
        assert killed["signal"] == 9 and "fault injection: kill at run@generate:3" in \
            killed["log"], killed["log"]
        assert not os.path.exists(os.path.join(runs["killed"], "results.json"))
        assert server.run(runs["killed"], config)["exit"] == 0
        assert server.run(runs["pg"], dict(config, method="pg"))["exit"] == 0
    finally:
        server.close()
    for name in ("results.json", "metrics.jsonl"):
        reference = read_bytes(os.path.join(runs["a"], name))
        assert read_bytes(os.path.join(runs["b"], name)) == reference, name
        assert read_bytes(os.path.join(runs["killed"], name)) == reference, name
    results = json.loads(read_bytes(os.path.join(runs["a"], "results.json")).decode("utf-8"))
    assert results["method"] == "irecgan_true"
    assert results["online"]["n_sessions"] == results["online_sampled"]["n_sessions"] == 20

    def agent_records(run_dir):
        with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
            return [line for line in handle if json.loads(line)["phase"] == "agent"]

    assert agent_records(runs["a"]) == agent_records(runs["pg"]) != []


def test_report_orders_irecgan_true_after_irecgan(tmp_path):
    for method in ("aaa_other", "irecgan_true", "irecgan", "pg", "irecgan_nod", "lstm"):
        write_run(str(tmp_path), "toy", method, 1, test_p(10.0, 50.0, 100.0))
    rows = aggregate_rows(load_runs([str(tmp_path)]))
    assert [r["method"] for r in rows] == ["lstm", "pg", "irecgan_nod", "irecgan",
                                           "irecgan_true", "aaa_other"]
    colours = [method_color(m) for m in METHOD_COLORS]
    assert method_color("irecgan_true") == METHOD_COLORS["irecgan_true"]
    assert len(set(colours)) == len(colours)
