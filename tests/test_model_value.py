"""U's error on the agent's own lists (issue 32): irecgan.training.model_value's figures by
hand, `irecgan-evaluate --model_value` on a tiny run (determinism, its file, its refusals) and
the decomposition report's section from hand-made runs."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.types import encoded
from irecgan.training.model_value import session_figures
from tiny_logs import ROOT, TINY_IRECGAN, write_mdp_log

SRC = os.path.join(ROOT, "src")
T_975_1 = 12.706204736174696  # scipy.stats.t.ppf(0.975, 1)


def test_session_figures_by_hand():
    sessions = [encoded([5, 6, 7, 8], [[], [1], [2], [3]], [0, 0, 1, 1], None),   # cut at 4
                encoded([5, 9], [[], [4]], [0, 0], [7]),
                encoded([6], [[]], [0], [2])]
    figures = session_figures(sessions, max_len=4)
    # clicks after the start: 3, 1, 0; purchases 2, 0, 0; one session of 4 clicks of 3
    assert figures == {"sessions": 3, "clicks": pytest.approx(4.0 / 3), "purchases":
                       pytest.approx(2.0 / 3), "cut": pytest.approx(1.0 / 3)}
    assert session_figures([], 4)["sessions"] == 0


@pytest.fixture(scope="module")
def tiny_nod(tmp_path_factory):
    root = tmp_path_factory.mktemp("mvalue")
    log_path, params = write_mdp_log(root, n_sessions=120)
    config = resolve(dict(TINY_IRECGAN, method="irecgan_nod", data=log_path,
                          env_params=params))
    run_dir = os.path.join(str(root), "run")
    experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    return run_dir, config


def evaluate_cli(run_dir, *flags):
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-m", "irecgan.cli.evaluate", "--run_dir=" + run_dir]
                          + list(flags), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)


def test_model_value_of_a_tiny_run_is_deterministic_and_written_by_the_cli(tiny_nod, tmp_path):
    run_dir, config = tiny_nod
    data, models, runner, _ = experiment.open_run(run_dir, config, read_only=True)
    try:
        first = experiment.model_value_of(runner, models, data, config)
        again = experiment.model_value_of(runner, models, data, config)
    finally:
        runner.close()
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)
    cap = max(2, 2 * int(data.mean_length))
    assert first["max_len"] == cap and first["seed"] == config["online_seed"]
    for world in ("user", "truth"):
        figures = first[world]
        assert figures["sessions"] == first["sessions"] == config["online_sessions"]
        assert 0.0 <= figures["clicks"] <= cap - 1 and 0.0 <= figures["cut"] <= 1.0
        assert figures["purchases"] == 0.0   # the MDP has no purchases
    for key in ("clicks", "purchases", "cut"):
        assert first["difference"][key] == first["user"][key] - first["truth"][key]
    # U's fit on the simulator's sessions of the agent's lists, beside the Bayes filter's
    fit = first["fit"]
    assert fit["n_steps"] > 0 and fit["truth"]["kind"] == "bayes"
    assert fit["ll_click"] < 0.0 and fit["truth"]["ll_click"] < 0.0
    before = sorted(os.listdir(run_dir))
    proc = evaluate_cli(run_dir, "--model_value")
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(run_dir, "model_value.json")) as handle:
        written = json.load(handle)
    assert written.pop("checkpoint")
    assert json.dumps(written, sort_keys=True) == json.dumps(first, sort_keys=True)
    assert sorted(os.listdir(run_dir)) == sorted(before + ["model_value.json"])
    both = evaluate_cli(run_dir, "--model_value", "--user_fit")
    assert both.returncode == 2 and "give one of --user_fit and --model_value" in both.stderr
    lstm = tmp_path / "lstm"
    lstm.mkdir()
    (lstm / "config.json").write_text(json.dumps({"method": "lstm", "data": "x.log"}))
    proc = evaluate_cli(str(lstm), "--model_value")
    assert proc.returncode == 0 and proc.stdout.strip() == (
        "%s: method lstm has no user model; no model_value.json written" % lstm)


def write_run(root, method, seed, user, truth, config=None, ll=None):
    path = os.path.join(str(root), "mdp_sharp", method, "seed%d" % seed)
    os.makedirs(path)
    cfg = dict({"method": method, "data": "/d/mdp_sharp.log", "seed": seed,
                "env_params": "/d/mdp_sharp.npz"}, **(config or {}))
    for name, content in (("config.json", cfg), ("results.json", {"online": {"reward_mean": 1.0}}),
                          ("model_value.json", dict({"user": {"clicks": user},
                                                     "truth": {"clicks": truth}},
                                                    **({"fit": {"ll_click": ll[0], "truth": {
                                                        "ll_click": ll[1]}}} if ll else {})))):
        with open(os.path.join(path, name), "w") as handle:
            json.dump(content, handle)
    open(os.path.join(path, "metrics.jsonl"), "w").close()


def test_report_section_pairs_each_heads_error_with_irecgan_nods(tmp_path):
    from irecgan import report
    from irecgan.report import decomposition as dec
    from irecgan.report.decomposition_tables import value_lines
    seq = {"method": "irecgan", "d_head": "sequence"}
    write_run(tmp_path, "irecgan_nod", 1, 2.0, 3.0, ll=(-2.5, -2.0))
    write_run(tmp_path, "irecgan_nod", 2, 2.5, 3.0, ll=(-2.4, -2.1))
    write_run(tmp_path, "irecgan_seq", 1, 2.8, 3.0, seq, ll=(-2.2, -2.0))
    write_run(tmp_path, "irecgan_seq", 2, 2.7, 3.0, seq)   # made before the fit: no ll
    runs = report.load_runs([str(tmp_path)])
    rows = dec.value_rows(runs, "mdp_sharp")
    assert [(r["method"], r["n"]) for r in rows] == [("irecgan_nod", 2), ("irecgan_seq", 2)]
    nod, seq = rows
    # errors: nod -1.0, -0.5 (mean -0.75); seq -0.2, -0.3 (mean -0.25); paired seq - nod:
    # 0.8, 0.2 -> mean 0.5, sd 0.4243, half t_1 * 0.3
    assert nod["clicks_vs_nod"] is None and nod["clicks_ci"]["mean"] == pytest.approx(-0.75)
    assert (nod["clicks_user"], nod["clicks_truth"]) == (pytest.approx(2.25), pytest.approx(3.0))
    assert seq["clicks_vs_nod"]["mean"] == pytest.approx(0.5)
    assert seq["clicks_vs_nod"]["half"] == pytest.approx(T_975_1 * 0.3, rel=1e-9)
    # ll: nod's U - truth -0.5, -0.3 (mean -0.4); seq's seed 1 only: -0.2, paired +0.3, 1 seed
    assert nod["ll_ci"]["mean"] == pytest.approx(-0.4) and nod["ll_user"] == pytest.approx(-2.45)
    assert seq["ll_ci"]["n"] == 1 and seq["ll_vs_nod"]["mean"] == pytest.approx(0.3)
    assert seq["ll_vs_nod"]["seeds"] == [1]
    text = "\n".join(value_lines(rows))
    assert "| mdp_sharp | irecgan_seq | 2 | 2.750 / 3.000 | -0.250 [" in text
    assert "| 0.500 [-3.312, 4.312]: no evidence | -2.200 / -2.000 | -0.200 [n/a] | " \
           "0.300 [n/a] |" in text
    assert "| mdp_sharp | irecgan_nod | 2 | 2.250 / 3.000 | -0.750 [" in text
    # a head trained with an agent objective pairs with irecgan_nod of that objective:
    # irecgan_nod@slate's errors -0.4, -0.6; irecgan@slate's -0.1, -0.2 -> +0.3, +0.4
    slate = {"agent_objective": "slate"}
    write_run(tmp_path, "irecgan_nod@slate", 1, 2.6, 3.0, dict(slate, method="irecgan_nod"))
    write_run(tmp_path, "irecgan_nod@slate", 2, 2.4, 3.0, dict(slate, method="irecgan_nod"))
    write_run(tmp_path, "irecgan@slate", 1, 2.9, 3.0, dict(slate, method="irecgan"))
    write_run(tmp_path, "irecgan@slate", 2, 2.8, 3.0, dict(slate, method="irecgan"))
    rows = dict((r["method"], r) for r in dec.value_rows(report.load_runs([str(tmp_path)]),
                                                         "mdp_sharp"))
    assert rows["irecgan_nod@slate"]["clicks_vs_nod"] is None
    assert rows["irecgan@slate"]["clicks_vs_nod"]["mean"] == pytest.approx(0.35)
    assert rows["irecgan_seq"]["clicks_vs_nod"]["mean"] == pytest.approx(0.5)  # unchanged
    for method in ("irecgan_nod@slate", "irecgan@slate"):
        shutil.rmtree(os.path.join(str(tmp_path), "mdp_sharp", method))
    # runs that need one: finished, with U and a simulator, without model_value.json
    os.remove(os.path.join(str(tmp_path), "mdp_sharp", "irecgan_nod", "seed1",
                           "model_value.json"))
    runs = report.load_runs([str(tmp_path)])
    assert [r.path for r in runs if dec.needs_model_value(r)] == [
        os.path.join(str(tmp_path), "mdp_sharp", "irecgan_nod", "seed1")]
