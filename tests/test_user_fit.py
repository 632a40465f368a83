"""U's fit on the test split beside the truth (irecgan.evaluation.user_fit, issue 22): the figures of given
probabilities, the three truths on hand-computed cases, a tiny irecgan_nod run (metrics, results,
TensorBoard, existing numbers unchanged), irecgan-evaluate --user_fit, the report's columns."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.batching import make_batch
from irecgan.data.logfile import read_log
from irecgan.data.types import encoded
from irecgan.data.vocab import EOS, PAD, UNK, Vocabulary
from irecgan.evaluation import user_fit
from irecgan.sim import belief as belief_sim
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from tiny_logs import ROOT, TINY_IRECGAN, write_mdp_log

SRC = os.path.join(ROOT, "src")
log = math.log


# -- figures of given probabilities ----------------------------------------------------------
def test_fit_counts_hand_computed():
    # step 0: candidates [5, 6, EOS], P = [0.2, 0.5, 0.3], click 6 -> top 6: hit, log 0.5;
    #   given a click: [0.2, 0.5] / 0.7 -> hit, log(5/7)
    # step 1: [7, EOS, PAD], P = [0.4, 0.6, -], click 7 -> top EOS: miss, log 0.4;
    #   given a click: [7] alone -> P = 1: hit, log 1 = 0
    # step 2: [8, 9, EOS], P = [0.4, 0.4, 0.2], click 9 -> a tie, the earlier (8) wins: miss
    # step 3: [UNK, 5, EOS], P = [0.9, 0.05, 0.05], click UNK: top, but never a hit
    # step 4 is no test step (steps False)
    rec = np.array([[[5, 6, EOS], [7, EOS, PAD], [8, 9, EOS], [UNK, 5, EOS], [5, 6, EOS]]])
    real = (rec != PAD).astype(np.float32)
    probs = np.array([[[0.2, 0.5, 0.3], [0.4, 0.6, 0.0], [0.4, 0.4, 0.2], [0.9, 0.05, 0.05],
                       [1.0, 0.0, 0.0]]])
    target = np.array([[1, 0, 1, 0, 1]])
    steps = np.array([[True, True, True, True, False]])
    with np.errstate(divide="ignore"):
        counts = user_fit.fit_counts(np.log(probs), rec, real, target, steps)
    assert counts["n"] == 4
    assert counts["hits"] == 1                       # step 0 only
    assert counts["ll_sum"] == pytest.approx(log(0.5) + log(0.4) + log(0.4) + log(0.9))
    assert counts["hits_click"] == 2                 # steps 0 and 1
    # step 2 given a click: 0.4 / 0.8; step 3: 0.9 / 0.95
    assert counts["ll_click_sum"] == pytest.approx(log(5 / 7.0) + 0.0 + log(0.5)
                                                   + log(0.9 / 0.95))
    fig = user_fit.figures(counts)
    assert fig["P@1"] == 25.0 and fig["P@1_click"] == 50.0 and fig["n_steps"] == 4
    assert fig["ll"] == pytest.approx(counts["ll_sum"] / 4)
    assert math.isnan(user_fit.figures({"n": 0, "hits": 0, "ll_sum": 0.0, "hits_click": 0,
                                        "ll_click_sum": 0.0})["P@1"])


def test_test_steps_are_the_positions_offline_precision_evaluates():
    # a session of 3 steps (lists of 10): positions 0, 1 are test steps, 2 (the end) is not;
    # a list of 9 (+ EOS = 10 entries) is not evaluated by P@k, so no test step either
    ten = list(range(4, 14))
    s = encoded([4, 5, 6], [[], ten, ten], [0, 0, 0])
    short = encoded([4, 5, 6], [[], ten[:9], ten], [0, 0, 0])
    batch = make_batch([s, short], np.random.RandomState(0), 60)
    assert user_fit.test_steps(batch).tolist() == [[True, True, False], [False, True, False]]


# -- the truths ------------------------------------------------------------------------------
def two_state_mdp():
    # r(s, item): state 0 [0.5, 0.2, 0.1], state 1 [0.1, 0.4, 0.3]; P(s' | s, any item):
    # from 0 [0.2, 0.8], from 1 [0.6, 0.4]
    rewards = [[0.5, 0.2, 0.1], [0.1, 0.4, 0.3]]
    trans = np.zeros((2, 3, 2))
    trans[0, :, :] = [0.2, 0.8]
    trans[1, :, :] = [0.6, 0.4]
    return mdp_sim.MDP(rewards, trans, list_size=2)


def test_bayes_truth_on_a_two_state_mdp_by_hand():
    mdp = two_state_mdp()
    vocab = Vocabulary.numeric(3)                    # item x has index x + 4
    # start item 0 (state 0); list [0, 1], click 0; list [1, 2], click 2
    s = encoded([4, 4, 6], [[], [4, 5], [5, 6]], [0, 0, 0])
    batch = make_batch([s], np.random.RandomState(0), vocab.size)
    lp = user_fit.BayesTruth(mdp, vocab).log_probs(batch)
    # position 0, b = (1, 0): P(0) = 0.5^2 / 0.7 = 5/14, P(1) = 0.2^2 / 0.7 = 2/35,
    # P(EOS) = 1 - 0.29 / 0.7 = 41/70
    assert np.exp(lp[0, 0, :3]) == pytest.approx([5 / 14.0, 2 / 35.0, 41 / 70.0])
    # click 0 is possible in state 0 only: posterior (1, 0), then b' = (0.2, 0.8).
    # position 1, list [1, 2]: P(1) = 0.2 * 0.04 / 0.3 + 0.8 * 0.16 / 0.7,
    # P(2) = 0.2 * 0.01 / 0.3 + 0.8 * 0.09 / 0.7
    p1 = 0.2 * 0.04 / 0.3 + 0.8 * 0.16 / 0.7
    p2 = 0.2 * 0.01 / 0.3 + 0.8 * 0.09 / 0.7
    assert np.exp(lp[0, 1, :3]) == pytest.approx([p1, p2, 1 - p1 - p2])
    assert np.all(np.isneginf(lp[0, 2]))             # the end step is no truth's business
    counts = user_fit.fit_counts(lp, batch["rec_lists"], batch["rec_mask"],
                                 batch["target_index"], np.array([[True, True, False]]))
    # EOS is the most probable at both steps (41/70, 0.68): no hit; given a click: item 0
    # at step 0 (hit), item 1 > item 2 at step 1 (miss)
    assert (counts["hits"], counts["hits_click"]) == (0, 1)
    assert counts["ll_sum"] == pytest.approx(log(5 / 14.0) + log(p2))
    assert counts["ll_click_sum"] == pytest.approx(log((5 / 14.0) / (29 / 70.0))
                                                   + log(p2 / (p1 + p2)))


def test_bayes_truth_ranks_as_the_bayes_offline_rows(tmp_path):
    # P@1 given a click is the "bayes (offline)" P@1: one function ranks both
    path, params = write_mdp_log(tmp_path, n_sessions=40)
    sessions, _ = read_log(path)
    mdp = mdp_sim.MDP.load(params)
    hits, evaluated = belief_sim.offline_precision(mdp, sessions, ks=(1,))
    vocab = Vocabulary.numeric(50)

    class Data(object):
        pass
    data = Data()
    data.vocab, data.train = vocab, []
    truth = user_fit.truth_model(params, data)
    assert truth.kind == "bayes"
    maker = lambda chunk, rng: make_batch(chunk, rng, vocab.size)
    fig = user_fit.truth_figures(truth, vocab.encode_sessions(sessions), 16, maker)
    assert evaluated > 100
    assert fig["P@1_click"] == pytest.approx(100.0 * hits[1] / evaluated)
    assert fig["ll_click"] > fig["ll"]               # EOS mass is lost at every click step


def test_oracle_truth_reproduces_the_argmax_users_clicks():
    # the oracle's own clicks (argmax) get probability 1: P@1 100 %, LL 0; sampled clicks: the
    # softmax of the oracle's scores, checked against the user's scores directly
    rng = np.random.RandomState(5)
    user_params, policy_params = neural_sim.random_params(rng, n_symbols=30, embed_dim=6,
                                                          hidden_dim=5)
    for sample in (False, True):
        user = neural_sim.NeuralUser(user_params, list_size=12, sample_click=sample)
        pol = neural_sim.policy(user, policy_params, "logging", rng)
        sessions, _ = neural_sim.generate_log(user, pol, 30, np.random.RandomState(6))
        vocab = Vocabulary.numeric(user.n_items)
        enc = vocab.encode_sessions(sessions)
        maker = lambda chunk, r: make_batch(chunk, r, vocab.size)
        truth = user_fit.OracleTruth(user, vocab)
        fig = user_fit.truth_figures(truth, enc, 8, maker)
        if not sample:
            assert fig["P@1"] == 100.0 and fig["ll"] == 0.0
            continue
        s = sessions[0]
        batch = maker([enc[0]], np.random.RandomState(0))
        lp = truth.log_probs(batch)
        h = c = np.zeros((1, 5))
        h, c = user.feed(np.array([int(s.clicks[0])]), h, c)
        cand = np.array([[int(x) for x in s.rec_lists[1]] + [user.end_symbol]])
        scores = user.click_scores(h, cand)[0]
        expected = np.exp(scores) / np.exp(scores).sum()
        assert np.exp(lp[0, 0, :len(expected)]) == pytest.approx(expected)


def test_empirical_truth_smoothed_click_through_rates():
    # training: session A (2 steps after the start): list [4, 5] click 4; list [4, 6] click 6;
    # session B: list [5, 6] click 5.
    # shown: 4 twice, 5 twice, 6 twice; clicked: 4, 5, 6 once each -> w = (1 + 1) / (2 + 2)
    # EOS: positions 3 + 2 = 5, sessions 2 -> w = 3 / 7; item 7 never shown: w = 1 / 2
    train = [encoded([4, 4, 6], [[], [4, 5], [4, 6]], [0, 0, 0]),
             encoded([4, 5], [[], [5, 6]], [0, 0])]
    truth = user_fit.EmpiricalTruth.from_sessions(train, 8)
    assert truth.weights[[4, 5, 6, 7, EOS]] == pytest.approx([0.5, 0.5, 0.5, 0.5, 3 / 7.0])
    test = encoded([4, 7, 4], [[], [4, 7], [4, 5]], [0, 0, 0])
    batch = make_batch([test], np.random.RandomState(0), 8)
    lp = truth.log_probs(batch)
    total = 0.5 + 0.5 + 3 / 7.0                      # [4, 7, EOS]
    assert np.exp(lp[0, 0, :3]) == pytest.approx([0.5 / total, 0.5 / total, 3 / 7.0 / total])


def test_no_truth_without_simulator_or_for_unknown_items(tmp_path):
    assert user_fit.truth_figures(None, [encoded([4, 5], [[], [4, 5]], [0, 0])], 4,
                                  None) is None
    mdp = two_state_mdp()
    vocab = Vocabulary.numeric(2)                    # item 2 is _UNK in this vocabulary
    s = encoded([4, 4, 1], [[], [4, 5], [5, 1]], [0, 0, 0])
    lines = []
    fig = user_fit.truth_figures(user_fit.BayesTruth(mdp, vocab), [s], 4,
                                 lambda chunk, rng: make_batch(chunk, rng, vocab.size),
                                 log=lines.append)
    assert fig is None and lines == ["U's fit: no truth: a test step holds an item that is no "
                                     "simulator item of the parameter file (_UNK)"]


# -- a tiny irecgan_nod run ------------------------------------------------------------------
NEW_KEYS = set(["user_test_%s" % k for k in user_fit.FIGURES] + ["user_test_steps"]
               + ["true_test_%s" % k for k in user_fit.FIGURES])


def tiny_run(root, log_path, params, **overrides):
    config = resolve(dict(TINY_IRECGAN, method="irecgan_nod", data=log_path,
                          env_params=params, **overrides))
    run_dir = os.path.join(str(root), "run")
    results = experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    with open(os.path.join(run_dir, "metrics.jsonl")) as handle:
        return run_dir, [json.loads(line) for line in handle], results


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("ufit")
    log_path, params = write_mdp_log(root, n_sessions=120)
    return (log_path, params) + tiny_run(root / "with", log_path, params)


def test_tiny_run_logs_the_fit_after_pretraining_and_every_adversarial_epoch(tiny):
    _, _, run_dir, metrics, results = tiny
    user = [m for m in metrics if m["phase"] == "user"]
    adv = [m for m in metrics if m["phase"] == "adversarial"]
    assert len(user) == TINY_IRECGAN["user_epochs"] and len(adv) == TINY_IRECGAN["adv_epochs"]
    assert not NEW_KEYS & set(user[0])               # only after the last pretraining epoch
    for record in [user[-1]] + adv:
        assert NEW_KEYS <= set(record)
    fit = results["user_fit"]
    assert fit["truth"]["kind"] == "bayes" and fit["n_steps"] == adv[-1]["user_test_steps"] > 0
    assert fit["ll"] == adv[-1]["user_test_ll"] and fit["P@1"] == adv[-1]["user_test_P@1"]
    assert fit["truth"]["ll_click"] == adv[0]["true_test_ll_click"] == user[-1]["true_test_ll_click"]
    with open(os.path.join(run_dir, "results.json")) as handle:
        assert json.load(handle)["user_fit"] == fit
    # every metrics record goes to TensorBoard: the new keys too
    from irecgan.tfcompat import tf
    tags = set()
    for name in os.listdir(run_dir):
        if name.startswith("events."):
            for event in tf.train.summary_iterator(os.path.join(run_dir, name)):
                tags.update(v.tag for v in event.summary.value)
    assert {"user/user_test_ll", "user/true_test_ll", "adversarial/user_test_P@1",
            "adversarial/true_test_P@1_click"} <= tags


def test_existing_numbers_equal_a_run_without_the_fit(tiny, tmp_path, monkeypatch):
    # a run whose evaluator computes no fit must give every other key byte-identical: the fit
    # draws from no training RandomState and adds no op (a consumed draw, or an op that shifts
    # the graph's op seeds, changes the generated sessions and so every loss after it)
    log_path, params, _, metrics, results = tiny
    monkeypatch.setattr(experiment.Evaluator, "user_fit", lambda self: None)
    _, plain, plain_results = tiny_run(tmp_path, log_path, params)
    assert len(plain) == len(metrics)
    for old, new in zip(plain, metrics):
        assert set(new) - set(old) <= NEW_KEYS
        assert json.dumps(old, sort_keys=True) == json.dumps(
            dict((k, new[k]) for k in old), sort_keys=True)
    del plain_results["user_fit"]
    assert json.dumps(plain_results, sort_keys=True) == json.dumps(
        dict((k, v) for k, v in results.items() if k != "user_fit"), sort_keys=True)


def evaluate_cli(run_dir):
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-m", "irecgan.cli.evaluate", "--run_dir=" + run_dir,
                           "--user_fit"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)


def test_evaluate_user_fit_on_a_finished_run_equals_its_results(tiny, tmp_path):
    _, _, run_dir, _, results = tiny
    before = sorted(os.listdir(run_dir))
    proc = evaluate_cli(run_dir)
    assert proc.returncode == 0, proc.stderr.decode()
    with open(os.path.join(run_dir, "user_fit.json")) as handle:
        assert json.load(handle) == results["user_fit"]
    assert sorted(os.listdir(run_dir)) == sorted(before + ["user_fit.json"])
    # a run without a user model: one line, exit 0, nothing written
    lstm = tmp_path / "lstm"
    lstm.mkdir()
    (lstm / "config.json").write_text(json.dumps({"method": "lstm", "data": "x.log"}))
    proc = evaluate_cli(str(lstm))
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == ("%s: method lstm has no user model; no "
                                            "user_fit.json written" % lstm)
    assert sorted(os.listdir(str(lstm))) == ["config.json"]


# -- the report ------------------------------------------------------------------------------
def test_report_columns_from_results_or_user_fit_json(tmp_path):
    from irecgan import report
    from irecgan.report import rows as report_rows
    from irecgan.report import tables as report_tables

    def write(method, seed, fit, where):
        path = tmp_path / "toy" / method / ("seed%d" % seed)
        path.mkdir(parents=True)
        (path / "config.json").write_text(json.dumps(
            {"method": method, "data": "/d/toy.log", "seed": seed, "layers": 1, "hidden": 8,
             "embed_dim": 4}))
        results = {"method": method, "seed": seed, "offline": {"test": {"P@1": 10.0}}}
        if where == "results":
            results["user_fit"] = fit
        elif where == "file":
            (path / "user_fit.json").write_text(json.dumps(fit))
        (path / "results.json").write_text(json.dumps(results))

    def fit(p1, ll, tp1, tll):
        return {"P@1": p1, "ll": ll, "P@1_click": p1 + 1, "ll_click": ll + 0.1, "n_steps": 9,
                "truth": {"P@1": tp1, "ll": tll, "P@1_click": tp1 + 1, "ll_click": tll + 0.1,
                          "kind": "bayes"}}
    # seed 1 from results.json, seed 2 (an older run) from user_fit.json:
    # U P@1 (17, 18) -> 17.5 +- 0.707; truth (21, 22) -> 21.5; LL (-2.0, -2.2) -> -2.1 +- 0.141
    write("irecgan", 1, fit(17.0, -2.0, 21.0, -1.9), "results")
    write("irecgan", 2, fit(18.0, -2.2, 22.0, -1.7), "file")
    write("pg", 1, None, "none")
    runs = report.load_runs([str(tmp_path)])
    rows = report.aggregate_rows(runs)
    cells = dict((r["method"], dict(zip(report_tables.MD_COLUMNS, report_tables.md_cells(r))))
                 for r in rows)
    # the table shows the figures given a click (P@1 + 1, LL + 0.1 here)
    p1, ll = "U test P@1, given a click (%)", "U test LL / step, given a click"
    assert cells["irecgan"][p1] == "18.5 +- 0.7 (truth 22.5)"
    assert cells["irecgan"][ll] == "-2.000 +- 0.141 (truth -1.700)"
    assert cells["pg"][p1] == "-" and cells["pg"][ll] == "-"
    text = report.markdown(rows, runs)
    assert "%s | %s" % (p1, ll) in text and "* U test P@1 and LL / step, given a click" in text
    rec = [r for r in report_tables.csv_records(rows) if r["method"] == "irecgan"][0]
    assert float(rec["user_test_ll_click_mean"]) == pytest.approx(-2.0)
    assert float(rec["true_test_P@1_click_mean"]) == pytest.approx(22.5)
    assert rec["truth_kind"] == "bayes"
    irecgan = [r for r in rows if r["method"] == "irecgan"][0]
    assert irecgan["user_P@1"][2] == 2 and report_rows.USER_FIT_KEYS[0] == "P@1"
