"""irecgan-report: aggregation of hand-written run directories, plots, policy rows, the CLI.

No training: every run directory is written by hand (config.json, metrics.jsonl, results.json).
"""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from irecgan import report
from irecgan.report import rows as report_rows
from irecgan.report import tables as report_tables
from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAN = float("nan")


def write_run(root, dataset, method, seed, test=None, online=None, wall=10.0, metrics=(),
              finished=True, agent_epochs=2, layers=2, hidden=512, embed_dim=50,
              legacy_wall=False):
    """A fake run directory `root/dataset/method/seedS`; returns its path. The wall time goes to
    timing.json, or with `legacy_wall` into results.json (as runs made before timing.json)."""
    path = os.path.join(str(root), dataset, method, "seed%d" % seed)
    os.makedirs(path)
    config = {"method": method, "data": "/data/%s.log" % dataset, "seed": seed,
              "layers": layers, "hidden": hidden, "embed_dim": embed_dim,
              "agent_epochs": agent_epochs, "adv_epochs": 2, "k": 10}
    with open(os.path.join(path, "config.json"), "w") as handle:
        json.dump(config, handle, indent=2)
    with open(os.path.join(path, "metrics.jsonl"), "w") as handle:
        for record in metrics:
            handle.write(json.dumps(record) + "\n")  # NaN is written as NaN, as the runner does
    if finished:
        results = {"method": method, "seed": seed, "data": {},
                   "offline": {"valid": {}, "test": dict(test or {})}}
        if legacy_wall:
            results["wall_time_s"] = wall
        else:
            with open(os.path.join(path, "timing.json"), "w") as handle:
                json.dump({"wall_time_s": wall}, handle)
        if online is not None:
            results["online"] = online
        with open(os.path.join(path, "results.json"), "w") as handle:
            json.dump(results, handle, indent=2)
    return path


def online_result(reward, cov10=None):
    out = {"reward_mean": reward, "reward_std": 1.0, "clicks_mean": reward, "n_sessions": 100}
    if cov10 is not None:
        for k in range(1, 11):
            out["coverage@%d" % k] = cov10 if k == 10 else 0.05 * k
    return out


def test_p(p1, p5, p10):
    return {"P@1": p1, "P@3": NAN, "P@5": p5, "P@10": p10, "loss": 3.0, "evaluated": 100}


test_p.__test__ = False  # a helper, not a test


def pretrain_records(rewards, p1s):
    return [{"phase": "agent", "epoch": e + 1, "train_loss": 1.0, "valid_loss": 1.0,
             "valid_P@1": p, "valid_P@10": NAN, "online_reward_mean": r}
            for e, (r, p) in enumerate(zip(rewards, p1s))]


@pytest.fixture
def runs_root(tmp_path):
    root = tmp_path / "runs"
    # lstm on "toy", seeds 1..3:
    #   test P@1 10, 20, 30 -> mean 20, sample std sqrt((100 + 0 + 100) / 2) = 10
    #   test P@5 40, 50, NaN -> over 2 seeds: mean 45, sample std sqrt((25 + 25) / 1) = 7.0711
    #   test P@10 NaN x 3 -> n/a
    #   online reward 1, 2, 4 -> mean 7/3 = 2.3333, sample var ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2
    #     = (42/9) / 2 = 7/3, std sqrt(7/3) = 1.5275
    #   coverage@10 0.2, 0.4, 0.6 -> mean 0.4, sample std sqrt((0.04 + 0 + 0.04) / 2) = 0.2
    #   wall time 10, 20, 30 s -> 20.0 s (seed 3 an older run, its wall time in results.json)
    for seed, p1, p5, reward, cov, wall in ((1, 10.0, 40.0, 1.0, 0.2, 10.0),
                                            (2, 20.0, 50.0, 2.0, 0.4, 20.0),
                                            (3, 30.0, NAN, 4.0, 0.6, 30.0)):
        write_run(root, "toy", "lstm", seed, test_p(p1, p5, NAN), online_result(reward, cov),
                  wall=wall, metrics=pretrain_records([reward, reward + 1], [p1, p1 + 1]),
                  legacy_wall=seed == 3)
    # pg on "toy": seeds 1, 2 finished (P@1 10, 14 -> mean 12, std sqrt((4 + 4) / 1) = 2.8284),
    # seed 3 unfinished with P@1 99 in its metrics: listed, never averaged
    write_run(root, "toy", "pg", 1, test_p(10.0, 50.0, 100.0), online_result(3.0, 0.5))
    write_run(root, "toy", "pg", 2, test_p(14.0, 50.0, 100.0), online_result(3.0, 0.5))
    write_run(root, "toy", "pg", 3, finished=False,
              metrics=pretrain_records([9.0], [99.0]))
    write_run(root, "toy", "irecgan", 1, test_p(12.0, 50.0, 100.0), online_result(2.0, 0.3),
              metrics=pretrain_records([1.0, 2.0], [10.0, 11.0]) + [
                  {"phase": "user", "epoch": 1, "valid_P@1": 5.0},
                  {"phase": "d_pretrain", "d_loss": 0.6},
                  {"phase": "adversarial", "epoch": 1, "online_reward_mean": 3.0,
                   "valid_P@1": 12.0},
                  {"phase": "adversarial", "epoch": 2, "online_reward_mean": 4.0,
                   "valid_P@1": 13.0}])
    write_run(root, "toy", "irecgan_nod", 1, test_p(11.0, 50.0, 100.0), online_result(2.0, 0.3))
    # a second dataset without a simulator, sorted before "toy"
    write_run(root, "alpha", "irecgan", 1, test_p(7.0, 20.0, 30.0), None, layers=1, hidden=16,
              embed_dim=8)
    write_run(root, "alpha", "lstm", 1, test_p(8.0, 21.0, 31.0), None, layers=1, hidden=16,
              embed_dim=8, metrics=[{"phase": "agent", "epoch": e, "valid_P@1": 5.0 + e,
                                     "valid_P@10": 20.0 + e} for e in (1, 2)])
    return root


POLICY_ENTRIES = [
    {"dataset": "toy", "method": "mix", "reward": [3.0, 5.0], "coverage@10": [0.5, 0.5],
     "coverage": [[0.5] * 10, [0.5] * 10]},
    {"dataset": "toy", "method": "random (logging)", "reward": [2.0, 2.0, 2.0],
     "coverage@10": [0.2, 0.2, 0.2], "coverage": [[0.2] * 10] * 3},
    {"dataset": "toy", "method": "max", "reward": [10.0, 11.0], "coverage@10": [1.0, 1.0],
     "coverage": [[1.0] * 10] * 2},
]


def rows_by(rows, dataset, method):
    found = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
    assert len(found) == 1
    return found[0]


def test_mean_std_sample_std_and_nan():
    assert report.mean_std([1.0, 2.0, 4.0])[0] == pytest.approx(7.0 / 3)
    assert report.mean_std([1.0, 2.0, 4.0])[1] == pytest.approx(math.sqrt(7.0 / 3))
    mean, std, n = report.mean_std([5.0, NAN, None])
    assert (mean, n) == (5.0, 1) and math.isnan(std)  # one value: no sample std
    mean, std, n = report.mean_std([NAN, NAN])
    assert n == 0 and math.isnan(mean) and math.isnan(std)


def test_committed_tables_name_runs_relative_to_the_working_directory(runs_root, monkeypatch):
    monkeypatch.chdir(str(runs_root.parent))
    text = report.markdown(report.aggregate_rows(report.load_runs([str(runs_root)]), []),
                           report.load_runs([str(runs_root)]))
    line = [l for l in text.splitlines() if "pg seed 3:" in l]
    assert len(line) == 1 and line[0].startswith(
        "  * toy / pg seed 3: %s (" % os.path.join("runs", "toy", "pg", "seed3")), line
    assert str(runs_root) not in text


def test_aggregation_numbers_order_and_unfinished(runs_root):
    runs = report.load_runs([str(runs_root)])
    assert len(runs) == 10
    assert len(report.unfinished_runs(runs)) == 1
    rows = report.aggregate_rows(runs, POLICY_ENTRIES)
    order = [(r["dataset"], r["method"]) for r in rows]
    assert order == [("alpha", "lstm"), ("alpha", "irecgan"),
                     ("toy", "random (logging)"), ("toy", "max"), ("toy", "mix"),
                     ("toy", "lstm"), ("toy", "pg"), ("toy", "irecgan_nod"), ("toy", "irecgan")]

    lstm = rows_by(rows, "toy", "lstm")
    assert lstm["seeds"] == [1, 2, 3] and lstm["n"] == 3
    assert lstm["sizes"] == "2x512, emb 50"
    assert lstm["P@1"] == pytest.approx((20.0, 10.0, 3))
    assert lstm["P@5"] == pytest.approx((45.0, math.sqrt(50.0), 2))
    assert lstm["P@10"][2] == 0 and math.isnan(lstm["P@10"][0])
    assert lstm["reward"] == pytest.approx((7.0 / 3, math.sqrt(7.0 / 3), 3))
    assert lstm["coverage@10"] == pytest.approx((0.4, 0.2, 3))
    assert lstm["wall_time"][0] == pytest.approx(20.0)

    pg = rows_by(rows, "toy", "pg")  # the unfinished seed 3 (P@1 99) is not averaged
    assert pg["seeds"] == [1, 2]
    assert pg["P@1"] == pytest.approx((12.0, math.sqrt(8.0), 2))

    mix = rows_by(rows, "toy", "mix")  # rewards 3, 5: mean 4, sample std sqrt(2 + 2) / 1 = 1.4142
    assert mix["reward"] == pytest.approx((4.0, math.sqrt(2.0), 2))
    assert rows_by(rows, "alpha", "lstm")["sizes"] == "1x16, emb 8"
    assert rows_by(rows, "alpha", "lstm")["reward"][2] == 0


def test_markdown_cells_and_notes(runs_root):
    runs = report.load_runs([str(runs_root)])
    rows = report.aggregate_rows(runs, POLICY_ENTRIES) + report.published_rows(["sim"])
    text = report.markdown(rows, runs, title="Toy")
    lstm_line = [l for l in text.splitlines() if l.startswith("| toy | lstm |")]
    assert lstm_line == ["| toy | lstm | 3 (1, 2, 3) | 2x512, emb 50 | 20.00 +- 10.00 | "
                         "45.00 +- 7.07 [2/3] | n/a | 2.333 +- 1.528 | - | - | 0.400 +- 0.200 | "
                         "- | - | - | 20.0 s |"]
    assert "| toy | max | 2 (env seeds: 1, 2) | - | - | - | - | 10.500 +- 0.707 | - | - | " \
           "1.000 +- 0.000 | - | - |" in text
    assert "sample standard deviation" in text
    assert "Unfinished runs (no results.json; listed, not averaged): 1." in text
    assert os.path.join("toy", "pg", "seed3") in text
    assert "99" not in text.split("Unfinished")[0]
    assert str(runs_root) in text   # the folder given lies outside the working directory
    assert "NOT our runs" in text and "64.06" in text and "36.50" in text
    assert text.index("| toy | random (logging) |") < text.index("| toy | lstm |")


def test_epoch_axis_offsets_adversarial_records(runs_root):
    run = report.load_run(os.path.join(str(runs_root), "toy", "irecgan", "seed1"))
    assert report.epoch_axis({"phase": "agent", "epoch": 2}, 2) == 2
    assert report.epoch_axis({"phase": "adversarial", "epoch": 1}, 2) == 3
    assert report.epoch_axis({"phase": "user", "epoch": 1}, 2) is None
    assert report.epoch_axis({"phase": "d_pretrain"}, 2) is None
    # agent epochs 1, 2 then adversarial epochs 1, 2 at 2 + 1, 2 + 2; user/d_pretrain left out
    assert report.run_curve(run, "online_reward_mean") == {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0}
    assert report.run_curve(run, "valid_P@1") == {1: 10.0, 2: 11.0, 3: 12.0, 4: 13.0}
    assert report.run_curve(run, "valid_P@10") == {}  # all NaN


def test_method_curves_mean_and_std_over_seeds(runs_root):
    runs = report.load_runs([os.path.join(str(runs_root), "toy")])
    curves = report.method_curves(runs, "online_reward_mean")
    assert list(curves) == ["lstm", "irecgan"]  # pg's only records are in the unfinished run
    xs, means, stds, counts = curves["lstm"]
    # epoch 1: rewards 1, 2, 4 (mean 7/3); epoch 2: 2, 3, 5 (mean 10/3); std sqrt(7/3) both
    assert xs.tolist() == [1.0, 2.0]
    assert means == pytest.approx([7.0 / 3, 10.0 / 3])
    assert stds == pytest.approx([math.sqrt(7.0 / 3)] * 2)
    assert counts.tolist() == [3, 3]


def test_write_report_files_png_and_csv(runs_root, tmp_path):
    runs = report.load_runs([str(runs_root)])
    out = str(tmp_path / "out")
    text, written = report.write_report(out, runs, POLICY_ENTRIES, title="T",
                                        published=["cikm"])
    names = sorted(os.path.basename(p) for p in written)
    assert names == ["alpha_precision.png", "table.csv", "table.md", "toy_coverage.png",
                     "toy_online_reward.png", "toy_precision.png"]
    for name in names:
        if name.endswith(".png"):
            with open(os.path.join(out, name), "rb") as handle:
                data = handle.read()
            assert data[:8] == PNG_MAGIC and len(data) > 5000
    with open(os.path.join(out, "table.md")) as handle:
        assert handle.read() == text
    assert "32.89" in text and "31.5 to 35.0" in text
    with open(os.path.join(out, "table.csv")) as handle:
        recs = list(csv.DictReader(handle))
    assert [(r["dataset"], r["method"]) for r in recs][:4] == [
        ("alpha", "lstm"), ("alpha", "irecgan"), ("toy", "random (logging)"), ("toy", "max")]
    lstm = [r for r in recs if (r["dataset"], r["method"]) == ("toy", "lstm")][0]
    assert lstm["source"] == "ours" and lstm["seeds"] == "1 2 3" and lstm["n_seeds"] == "3"
    assert float(lstm["test_P@1_mean"]) == pytest.approx(20.0)
    assert float(lstm["test_P@1_std"]) == pytest.approx(10.0)
    assert lstm["test_P@5_n"] == "2" and lstm["test_P@10_mean"] == "" and \
        lstm["test_P@10_n"] == "0"
    assert float(lstm["online_reward_std"]) == pytest.approx(math.sqrt(7.0 / 3))
    assert float(lstm["wall_time_s_mean"]) == pytest.approx(20.0)
    published = [r for r in recs if r["source"] == "published"]
    assert len(published) == 2 and published[0]["test_P@10_mean"] == "32.89"


def test_bad_json_names_file_and_line(runs_root):
    bad = os.path.join(str(runs_root), "toy", "lstm", "seed1", "results.json")
    with open(bad, "w") as handle:
        handle.write('{\n  "method": "lstm",\n  "seed": 1,,\n}\n')
    with pytest.raises(UserError, match=r"results\.json:3: invalid JSON"):
        report.load_runs([str(runs_root)])


def test_metrics_bad_line_and_partial_last_line(tmp_path):
    done = write_run(tmp_path, "d", "lstm", 1, test_p(1.0, 2.0, 3.0),
                     metrics=pretrain_records([1.0, 2.0], [1.0, 2.0]))
    with open(os.path.join(done, "metrics.jsonl"), "a") as handle:
        handle.write('{"phase": "agent", "epo')
    with pytest.raises(UserError, match=r"metrics\.jsonl:3: invalid JSON"):
        report.load_run(done)
    # a run still writing: its torn last line is dropped
    running = write_run(tmp_path, "d", "pg", 1, finished=False,
                        metrics=pretrain_records([1.0], [1.0]))
    with open(os.path.join(running, "metrics.jsonl"), "a") as handle:
        handle.write('{"phase": "agent", "epo')
    assert len(report.load_run(running).metrics) == 1


def test_find_run_dirs_any_depth_and_globs(runs_root, tmp_path):
    deep = os.path.join(str(runs_root), "toy")
    assert len(report.find_run_dirs([deep])) == 8
    assert len(report.find_run_dirs([os.path.join(str(runs_root), "*", "lstm")])) == 4
    assert len(report.find_run_dirs([str(runs_root), deep])) == 10  # no duplicates
    os.makedirs(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="no run directory"):
        report.load_runs([str(tmp_path / "empty")])
    with pytest.raises(UserError, match="no such file"):
        report.load_runs([str(tmp_path / "missing*")])


def test_policy_rows_on_small_mdp(tmp_path):
    env = mdp_sim.MDP.random(np.random.RandomState(0))
    rng = np.random.RandomState(1)
    policies = dict((name, mdp_sim.logging_policy(env, name, rng)) for name in ("random", "max"))
    rows = report.policy_rows(env, policies, seeds=[1, 2], n_sessions=20, dataset="mdp")
    by_name = dict((r["method"], r) for r in rows)
    assert by_name["max"]["coverage@10"] == [1.0, 1.0]
    assert all(len(c) == 10 for c in by_name["max"]["coverage"])
    assert by_name["random"]["coverage@10"][0] < 1.0
    assert len(by_name["random"]["reward"]) == 2 and by_name["max"]["dataset"] == "mdp"
    row = report.policy_row(json.loads(json.dumps(by_name["max"])))  # round trip via JSON
    assert row["coverage@10"][:1] == (1.0,) and row["seeds"] == [1, 2]

    path = str(tmp_path / "mdp.params.npz")
    env.save(path)
    _, pols = report.environment_policies(path, np.random.RandomState(0))
    assert list(pols) == ["random", "max", "mix", "belief", "imitation"]
    npath = str(tmp_path / "neural.params.npz")
    neural_sim.save_params(npath, *neural_sim.random_params(np.random.RandomState(0)))
    nenv, npols = report.environment_policies(npath, np.random.RandomState(0))
    assert list(npols) == ["random", "logging", "oracle", "oracle_train"]
    nrows = report.policy_rows(nenv, npols, seeds=[1], n_sessions=5, dataset="neural")
    assert "coverage" not in nrows[0] and len(nrows[1]["reward"]) == 1


def _cli(args, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "irecgan.cli.report"] + args,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, cwd=str(tmp_path), timeout=120)


def test_cli_writes_files_and_exit_codes(runs_root, tmp_path):
    rows_file = tmp_path / "policy.json"
    rows_file.write_text(json.dumps(POLICY_ENTRIES))
    out = tmp_path / "rep"
    proc = _cli(["--out=%s" % out, "--policy_rows=%s" % rows_file, "--published=sim",
                 str(runs_root / "toy"), str(runs_root / "alpha" / "*")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# irecgan results")
    assert "| toy | lstm | 3 (1, 2, 3) |" in proc.stdout
    for name in ("table.md", "table.csv", "toy_online_reward.png", "toy_coverage.png",
                 "toy_precision.png", "alpha_precision.png"):
        assert (out / name).is_file(), name
    assert (out / "table.md").read_text() == proc.stdout

    os.makedirs(str(tmp_path / "empty"))
    proc = _cli(["--out=%s" % (tmp_path / "rep2"), str(tmp_path / "empty")], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no run directory")


def test_report_modules_do_not_import_tensorflow():
    code = ("import sys, irecgan.report, irecgan.cli.report; "
            "print(any(m == 'tensorflow' or m.startswith('tensorflow.') for m in sys.modules))")
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                         universal_newlines=True, env=env, timeout=60)
    assert out.stdout.strip() == "False"


def test_discriminator_heldout_accuracy_after_pretraining_and_at_the_last_epoch(tmp_path):
    # irecgan seeds 1, 2: pretrain 0.6, 0.8 -> 0.7 +- sqrt((0.01 + 0.01) / 1) = 0.1414;
    # last adversarial epoch 0.9, 0.7 -> 0.8 +- 0.1414; pg has no D -> "-"
    for seed, pre, last in ((1, 0.6, 0.9), (2, 0.8, 0.7)):
        write_run(tmp_path, "toy", "irecgan", seed, test=test_p(1, 2, 3), online=online_result(1),
                  metrics=[{"phase": "d_pretrain", "d_heldout_accuracy": pre,
                            "d_heldout_auc": pre + 0.05},
                           {"phase": "adversarial", "epoch": 1, "d_heldout_accuracy": 0.5},
                           {"phase": "adversarial", "epoch": 2, "d_heldout_accuracy": last,
                            "d_heldout_auc": last + 0.05}])
    write_run(tmp_path, "toy", "pg", 1, test=test_p(1, 2, 3), online=online_result(1))
    rows = report_rows.run_rows(report.load_runs([str(tmp_path)]))
    irecgan = [r for r in rows if r["method"] == "irecgan"][0]
    assert irecgan["d_heldout_pretrain"][:2] == pytest.approx((0.7, 0.1414), abs=1e-4)
    assert irecgan["d_heldout_last"][:2] == pytest.approx((0.8, 0.1414), abs=1e-4)
    assert irecgan["d_auc_last"][0] == pytest.approx(0.85)
    cells = dict(zip(report_tables.MD_COLUMNS, report_tables.md_cells(irecgan)))
    assert cells["D held-out acc: pretrain / last"] == "0.700 +- 0.141 / 0.800 +- 0.141"
    pg = [r for r in rows if r["method"] == "pg"][0]
    assert dict(zip(report_tables.MD_COLUMNS, report_tables.md_cells(pg)))[
        "D held-out acc: pretrain / last"] == "-"
    rec = [r for r in report_tables.csv_records(rows) if r["method"] == "irecgan"][0]
    assert float(rec["d_heldout_last_mean"]) == pytest.approx(0.8)


def test_headroom_authors_figure_and_verbatim_share(tmp_path):
    root = tmp_path / "runs"
    for seed, reward, clicked, share in ((1, 3.0, 3.4, 0.0), (2, 3.5, 3.6, 2.0)):
        path = write_run(root, "sharp", "pg", seed, test=test_p(20.0, 60.0, 100.0),
                         online=online_result(reward, 0.5))
        with open(os.path.join(path, "results.json")) as handle:
            results = json.load(handle)
        results["online_sampled"] = dict(online_result(reward - 0.5),
                                         clicks_mean_clicked=clicked)
        results["data"] = {"test_verbatim_share_pct": share}
        with open(os.path.join(path, "results.json"), "w") as handle:
            json.dump(results, handle)
    entries = [
        {"dataset": "sharp", "method": "random", "reward": [2.0, 2.0],
         "clicks_clicked": [3.0, 3.0]},
        {"dataset": "sharp", "method": "belief", "reward": [4.0, 4.0]},
        {"dataset": "sharp", "method": "max", "reward": [10.0, 10.0]},
        {"dataset": "sharp", "method": "bayes (offline)", "seeds": [1, 2], "reward": [],
         "P@1": [21.0, 23.0], "P@5": [70.0, 70.0], "P@10": [100.0, 100.0]},
        {"dataset": "other", "method": "max", "reward": [10.0]},
        {"dataset": "other", "method": "belief", "reward": [4.0]},
    ]
    runs = report.load_runs([str(root)])
    rows = report.aggregate_rows(runs, entries)
    done, skipped = report.add_headroom(rows, {"sharp": "random", "other": "max"})
    assert done == {"sharp": ("random", 2.0, "belief", 4.0)}
    assert "not below the ceiling" in skipped["other"]
    by = dict((r["method"], r) for r in rows if r["dataset"] == "sharp")
    # pg: (3 - 2) / (4 - 2) = 50 %, (3.5 - 2) / 2 = 75 %: mean 62.5, std sqrt(2 * 12.5^2) = 17.68
    m, s, n = by["pg"]["headroom"]
    assert (m, n) == (62.5, 2) and s == pytest.approx(17.6777, abs=1e-4)
    assert by["random"]["headroom"][0] == 0.0 and by["belief"]["headroom"][0] == 100.0
    assert by["max"]["headroom"][0] == 400.0                 # (10 - 2) / 2
    assert by["bayes (offline)"]["headroom"][2] == 0         # no online figure
    assert by["pg"]["authors"][:1] == (3.5,) and by["pg"]["verbatim"][:1] == (1.0,)
    text = report.markdown(rows, runs, title="T", headroom=(done, skipped))
    assert "| sharp | pg | 2 (1, 2) | 2x512, emb 50 | 20.00 +- 0.00 | 60.00 +- 0.00 | " \
           "100.00 +- 0.00 | 3.250 +- 0.354 | 62.5 +- 17.7 | 3.500 +- 0.141 | " in text
    assert "| sharp | bayes (offline) | 2 (test splits of seeds 1, 2) | - | 22.00 +- 1.41 | " \
           "70.00 +- 0.00 | 100.00 +- 0.00 | - | - | - | - | - |" in text
    assert "| sharp | random | 2 (env seeds: 1, 2) | - | - | - | - | 2.000 +- 0.000 | " \
           "0.0 +- 0.0 | 3.000 +- 0.000 |" in text
    assert report.tables.fmt_stat((-1e-15, 1.0, 2), 1) == "0.0 +- 1.0"
    assert "* sharp: headroom captured = (reward - 2.000) / (4.000 - 2.000)" in text
    assert "* other: no headroom column: its logging policy max (10.000) is not below the " \
           "ceiling belief (4.000)." in text
    assert "* sharp: 1.00 % of the test sessions occur verbatim in the training split" in text
    methods = [r["method"] for r in rows if r["dataset"] == "sharp"]
    assert methods == ["random", "max", "belief", "bayes (offline)", "pg"]


def test_bayes_rows_use_each_runs_test_split(tmp_path):
    from irecgan.data.logfile import write_sessions
    from irecgan.data.splits import fold_split
    from irecgan.sim import belief
    env = mdp_sim.MDP.random(np.random.RandomState(0), transition_temperature=0.1)
    rng = np.random.RandomState(1)
    sessions, _ = mdp_sim.generate_log(env, mdp_sim.logging_policy(env, "random", rng), 200,
                                       rng)
    log, params = str(tmp_path / "d.log"), str(tmp_path / "d.npz")
    write_sessions(log, sessions)
    env.save(params)
    root = tmp_path / "runs"
    for seed, method in ((1, "lstm"), (2, "lstm"), (1, "pg")):
        path = write_run(root, "d", method, seed, test=test_p(1.0, 2.0, 3.0),
                         online=online_result(1.0))
        with open(os.path.join(path, "config.json")) as handle:
            config = json.load(handle)
        config.update(data=log, split="fold")
        with open(os.path.join(path, "config.json"), "w") as handle:
            json.dump(config, handle)
    runs = report.load_runs([str(root)])
    rows = report.bayes_rows(params, runs, "d")
    want = []
    for seed in (1, 2):
        hits, n = belief.offline_precision(env, fold_split(sessions, seed)[2])
        want.append(100.0 * hits[1] / n)
    # one value per test split: lstm and pg of seed 1 share one
    assert rows[0]["method"] == "bayes (offline)" and rows[0]["seeds"] == [1, 2]
    assert rows[0]["P@1"] == want and want[0] != want[1]
    assert report.bayes_rows(params, runs, "no such dataset") == []
    # through the CLI: the rows of --env_params, and the headroom of --logging_policy
    out = tmp_path / "rep"
    proc = _cli(["--out=%s" % out, "--env_params=d=%s" % params, "--policy_seeds=1",
                 "--policy_sessions=50", "--logging_policy=d=random", str(root)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "| d | bayes (offline) | 2 (test splits of seeds 1, 2) |" in proc.stdout
    assert "| d | belief | 1 (env seeds: 1) |" in proc.stdout
    assert "* d: headroom captured = (reward - " in proc.stdout
    saved = json.loads((out / "policy_rows.json").read_text())  # once each: cli.common.run_cli
    # parsed the flags twice, which held every --env_params value twice
    assert [r["method"] for r in saved] == ["random", "max", "mix", "belief", "imitation",
                                           "bayes (offline)"]
    proc = _cli(["--out=%s" % out, "--logging_policy=d", str(root)], tmp_path)
    assert proc.returncode == 2 and "NAME=POLICY" in proc.stderr


def _console_script(name):
    """The installed console script next to this interpreter, or None when not installed."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.isfile(path) else None


def test_repeated_env_params_give_each_policy_row_once(tmp_path):
    """Through the real entry points: N `--env_params` give N environments' rows, once each
    (an early flag parse used to keep both parses' values: every row twice)."""
    path = str(tmp_path / "mdp.params.npz")
    mdp_sim.MDP.random(np.random.RandomState(0)).save(path)
    run_dir = tmp_path / "runs"
    write_run(str(run_dir), "alpha", "lstm", 1, test=test_p(10, 50, 100))
    commands = [[sys.executable, "-m", "irecgan.cli.report"]]
    script = _console_script("irecgan-report")
    if script:
        commands.append([script])
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    for k, command in enumerate(commands):
        out = tmp_path / ("rep%d" % k)
        proc = subprocess.run(
            command + ["--out=%s" % out, "--policy_seeds=1", "--policy_sessions=5",
                       "--env_params=mdp_a=%s" % path, "--env_params=mdp_b=%s" % path,
                       str(run_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
            env=env, cwd=str(tmp_path), timeout=120)
        assert proc.returncode == 0, proc.stderr
        rows = json.loads((out / "policy_rows.json").read_text())
        pairs = [(r["dataset"], r["method"]) for r in rows]
        assert sorted(pairs) == sorted((d, m) for d in ("mdp_a", "mdp_b")
                                       for m in ("random", "max", "mix", "belief", "imitation"))
        table_pairs = [tuple(c.strip() for c in line.split("|")[1:3])
                       for line in proc.stdout.splitlines()
                       if line.startswith("| ") and not line.startswith(("| dataset", "| ---"))]
        assert len(table_pairs) == len(set(table_pairs)) == 11, proc.stdout


def test_a_dataset_and_method_given_twice_is_one_line_error(tmp_path):
    path = str(tmp_path / "mdp.params.npz")
    mdp_sim.MDP.random(np.random.RandomState(0)).save(path)
    run_dir = tmp_path / "runs"
    write_run(str(run_dir), "alpha", "lstm", 1, test=test_p(10, 50, 100))
    proc = _cli(["--out=%s" % (tmp_path / "rep"), "--policy_seeds=1", "--policy_sessions=5",
                 "--env_params=mdp=%s" % path, "--env_params=mdp=%s" % path, str(run_dir)],
                tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "mdp / max" in lines[0] and "more than once" in lines[0], lines


def test_aggregate_rows_refuses_duplicate_dataset_and_method(runs_root):
    runs = report.load_runs([str(runs_root / "toy")])
    entry = {"dataset": "toy", "method": "lstm", "reward": [1.0]}
    with pytest.raises(UserError, match="toy / lstm"):
        report.aggregate_rows(runs, [entry])
    rows = report.aggregate_rows(runs, [dict(entry, method="random")])
    keys = [(r["dataset"], r["method"]) for r in rows]
    assert len(keys) == len(set(keys)) and ("toy", "random") in keys


CLI_MODULE = '''
import sys
from absl import flags
from irecgan.cli.common import guarded, run_cli
flags.DEFINE_multi_string("x", [], "repeatable")
flags.DEFINE_list("y", [], "a list")
def main(argv):
    print(repr((flags.FLAGS.x, flags.FLAGS.y, argv[1:])))
    return 0
if __name__ == "__main__":
    run_cli(guarded(main), "__main__")
'''


def test_run_cli_parses_repeated_flags_once(tmp_path):
    module = tmp_path / "tiny_cli.py"
    module.write_text(CLI_MODULE)
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(module), "--x=a", "--x=b", "--x=c", "--y=1,2",
                           "pos"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == repr((["a", "b", "c"], ["1", "2"], ["pos"]))


def test_wall_time_comes_from_timing_json_before_results(tmp_path):
    path = write_run(tmp_path, "toy", "lstm", 1, wall=7.0)
    assert report.load_run(path).wall_time == 7.0
    with open(os.path.join(path, "results.json")) as handle:
        results = json.load(handle)
    assert "wall_time_s" not in results
    results["wall_time_s"] = 99.0  # a stale figure in an older layout loses to timing.json
    with open(os.path.join(path, "results.json"), "w") as handle:
        json.dump(results, handle)
    assert report.load_run(path).wall_time == 7.0
    os.remove(os.path.join(path, "timing.json"))
    assert report.load_run(path).wall_time == 99.0


def test_find_run_dirs_follows_links_to_reused_runs(tmp_path):
    from irecgan.report.runs import find_run_dirs
    real = tmp_path / "sim" / "log" / "pg" / "seed1"
    real.mkdir(parents=True)
    (real / "config.json").write_text("{}")
    own = tmp_path / "decomposition" / "log" / "pg"
    own.mkdir(parents=True)
    os.symlink(str(real), str(own / "seed1"))
    os.symlink(str(tmp_path / "decomposition"), str(own / "loop"))  # a cycle is walked once
    found = find_run_dirs([str(tmp_path / "decomposition")])
    assert found == [str(own / "seed1")]


def _report_sources():
    folder = os.path.join(SRC, "irecgan", "report")
    paths = [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".py")]
    return paths + [os.path.join(SRC, "irecgan", "cli", n) for n in ("decomposition.py",
                                                                       "report.py")]


def test_report_modules_use_no_private_name_of_another_module():
    # issue 31: shared helpers are public; a leading underscore stays inside its module
    import ast
    found = []
    for path in _report_sources():
        with open(path) as handle:
            tree = ast.parse(handle.read(), path)
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("irecgan"):
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append("%s imports %s" % (os.path.basename(path), alias.name))
                    modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                modules.update((a.asname or a.name).split(".")[0] for a in node.names
                               if a.name.startswith("irecgan"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id in modules):
                found.append("%s uses %s.%s" % (os.path.basename(path), node.value.id,
                                                node.attr))
    assert found == []


def test_cell_helpers_dash_csv_float_fmt_ci():
    t = report_tables
    assert t.dash("n/a") == "-" and t.dash("1.5") == "1.5"
    assert [t.csv_float(v) for v in (None, "x", True, float("nan"), float("inf"), 2, 0.1,
                                     np.float32(0.5))] == ["", "", "", "", "", "2.0", "0.1",
                                                           "0.5"]
    ci = {"mean": 1.23456, "half": 0.5, "low": 0.73456, "high": 1.73456}
    assert t.fmt_ci(ci) == "1.235 [0.735, 1.735]" and t.fmt_ci(ci, 1) == "1.2 [0.7, 1.7]"
    assert t.fmt_ci(dict(ci, half=float("nan"))) == "1.235 [n/a]"
    assert t.fmt_ci(dict(ci, mean=float("nan"))) == "-"


def test_write_records_is_csv_with_crlf_and_the_header_order(tmp_path):
    path = str(tmp_path / "x.csv")
    report_tables.write_records(path, ["b", "a"], [{"a": 1, "b": "x,y"}, {"a": "", "b": 2.5}])
    with open(path, "rb") as handle:
        assert handle.read() == b'b,a\r\n"x,y",1\r\n2.5,\r\n'


def test_stats_lookup_numbers_and_seed_order():
    from irecgan.report import stats
    assert [math.isnan(stats.as_number(v)) for v in (None, True, "x", [1])] == [True] * 4
    assert stats.as_number("2.5") == 2.5 and stats.as_number(3) == 3.0
    assert stats.get_nested({"a": {"b": 3}}, "a", "b") == 3
    assert stats.get_nested({"a": 1}, "a", "b") is None and stats.get_nested(None, "a") is None
    assert list(stats.finite_values([1, None, float("nan"), "2", True])) == [1.0, 2.0]
    assert sorted([10, 2, 1], key=stats.seed_key) == [1, 2, 10]  # not 1, 10, 2 as text


def test_rows_method_rank_and_datasets_in_order():
    names = ["irecgan", "zeta", "belief (10 sessions)", "lstm", "random"]
    assert sorted(names, key=report_rows.method_rank) == [
        "random", "belief (10 sessions)", "lstm", "irecgan", "zeta"]
    items = [{"dataset": "b"}, {"dataset": "a"}, {"dataset": "b"}, {"dataset": "c"}]
    assert report_rows.datasets_in_order(items) == ["b", "a", "c"]


def test_safe_file_name_of_a_plot():
    from irecgan.report.plots import safe_file_name
    assert safe_file_name("mdp sharp/1.x-y_z") == "mdp_sharp_1.x-y_z"
    assert safe_file_name("") == "_"
