"""Issue 22's decomposition: the intervals (hand-computed), the gap table, the report's files,
the reference lines of the reward plots, run_sim.sh's --datasets and irecgan_seq alias, and
scripts/decomposition.sh end to end on SMOKE=1 run_sim.sh's runs (nothing trained again)."""
import csv
import json
import math
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SRC
from irecgan import report
from irecgan.report import decomposition as dec
from irecgan.report import decomposition_tables as dec_tables
from irecgan.report import stats
from irecgan.errors import UserError
from irecgan.report.plots import online_reward_figure, reference_label, reward_bars_figure

T_975_DF2 = 4.302652729911275   # Student t quantile 0.975, 2 degrees of freedom (tables: 4.303)
T_975_DF4 = 2.7764451051977987  # ... 4 degrees of freedom (tables: 2.776)


def test_paired_ci_pairs_by_seed_hand_computed():
    # seeds 1..3 in both (seed 4 only in a, seed 5's b is None): d = 3-1, 5-2, 4-3 = 2, 3, 1
    # mean 2, sd sqrt(((0)^2 + 1^2 + 1^2) / 2) = 1, half = 4.3027 * 1 / sqrt(3) = 2.48414
    a = {1: 3.0, 2: 5.0, 3: 4.0, 4: 9.0, 5: 1.0}
    b = {3: 3.0, 1: 1.0, 2: 2.0, 5: None}
    ci = stats.paired_ci(a, b)
    assert ci["seeds"] == [1, 2, 3] and ci["n"] == 3 and ci["df"] == 2
    assert ci["mean"] == pytest.approx(2.0) and ci["sd"] == pytest.approx(1.0)
    assert ci["half"] == pytest.approx(T_975_DF2 / math.sqrt(3.0))
    assert ci["low"] == pytest.approx(2.0 - 2.484138, abs=1e-6)
    assert ci["high"] == pytest.approx(2.0 + 2.484138, abs=1e-6)
    assert stats.excludes_zero(ci) is False  # [-0.484, 4.484]
    # unpaired, the same numbers would give a different interval: the pairing matters
    # a single pair: a mean, no interval
    one = stats.paired_ci({1: 2.0}, {1: 0.5})
    assert one["mean"] == 1.5 and math.isnan(one["half"]) and stats.excludes_zero(one) is None


def test_mean_ci_and_welch_ci_hand_computed():
    # mean_ci of 1..5: mean 3, sd sqrt(10 / 4) = 1.5811, half = 2.7764 * 1.5811 / sqrt(5) = 1.9632
    ci = stats.mean_ci([1, 2, 3, 4, 5, float("nan")])
    assert ci["n"] == 5 and ci["mean"] == 3.0
    assert ci["half"] == pytest.approx(T_975_DF4 * math.sqrt(2.5) / math.sqrt(5.0))
    assert ci["half"] == pytest.approx(1.963243, abs=1e-6)
    # welch_ci of [1, 2, 3] (mean 2, var 1) and [4, 6] (mean 5, var 2): diff -3,
    # se^2 = 1/3 + 2/2 = 4/3, df = (4/3)^2 / ((1/3)^2 / 2 + 1^2 / 1) = (16/9) / (19/18) = 32/19
    ci = stats.welch_ci([1.0, 2.0, 3.0], [4.0, 6.0])
    assert ci["mean"] == pytest.approx(-3.0)
    assert ci["df"] == pytest.approx(32.0 / 19.0)
    assert ci["half"] == pytest.approx(stats.t_quantile(32.0 / 19.0) * math.sqrt(4.0 / 3.0))
    assert stats.t_quantile(2) == pytest.approx(T_975_DF2)
    # equal variances and sizes: df = 2n - 2 (here 4); [1, 2, 3] vs [2, 3, 4]: diff -1,
    # se = sqrt(1/3 + 1/3), half = 2.7764 * 0.8165 = 2.2669
    ci = stats.welch_ci([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert ci["df"] == pytest.approx(4.0)
    assert ci["half"] == pytest.approx(T_975_DF4 * math.sqrt(2.0 / 3.0))
    assert stats.excludes_zero(ci) is False
    # no spread on either side: a point interval
    ci = stats.welch_ci([2.0, 2.0], [1.0, 1.0, 1.0])
    assert ci["mean"] == 1.0 and ci["half"] == 0.0 and stats.excludes_zero(ci) is True


def test_gap_table_adds_the_differences_asked_for():
    rewards = {"irecgan_nod": {1: 2.0, 2: 3.0, 3: 4.0}, "pg": {1: 1.0, 2: 1.5, 3: 3.5}}
    gaps = dec.gap_table("log", rewards, ("belief", [5.0, 6.0, 7.0]), ("random", [1.0, 3.0]),
                         differences=[("irecgan_nod", "pg"), ("ceiling", "pg"), ("lstm", "pg")])
    asked = [g for g in gaps if g["gap"] == "x"]
    assert [g["label"] for g in asked] == ["irecgan_nod - pg", "ceiling (belief) - pg",
                                           "lstm - pg"]
    # paired: d = 1, 1.5, 0.5 -> mean 1, sd 0.5, half = t(2) * 0.5 / sqrt(3); C - L = 6 - 2
    nod = asked[0]
    assert nod["kind"] == "paired" and nod["ci"]["mean"] == pytest.approx(1.0)
    assert nod["ci"]["half"] == pytest.approx(T_975_DF2 * 0.5 / math.sqrt(3.0))
    assert nod["headroom"]["mean"] == pytest.approx(25.0)
    assert nod["meaning"] == "a difference asked for (--differences)"
    # against the ceiling: Welch, 6 - 2 = 4
    assert asked[1]["kind"] == "welch" and asked[1]["ci"]["mean"] == pytest.approx(4.0)
    assert asked[2]["missing"] == "no lstm runs"
    # never ranked as the largest gap
    assert all(g["gap"] != "x" for g in dec.largest_gap(gaps)[1] + [dec.largest_gap(gaps)[0]]
               if g is not None)


def test_cli_differences_parse_and_refuse_other_forms():
    from irecgan.cli.decomposition import parse_differences
    assert parse_differences(["irecgan_seq@no_q_d-irecgan_nod", " ceiling - pg "]) == [
        ("irecgan_seq@no_q_d", "irecgan_nod"), ("ceiling", "pg")]
    for bad in ("irecgan", "a-b-c", "-pg", "pg-"):
        with pytest.raises(UserError, match="is not MINUEND-SUBTRAHEND"):
            parse_differences([bad])


def test_gap_table_paired_welch_headroom_and_missing():
    # ceiling 5, 6, 7 (mean 6); logging 1, 3 (mean 2): C - L = 4
    rewards = {"irecgan_nod": {1: 2.0, 2: 3.0, 3: 4.0},
               "irecgan_true": {1: 4.0, 2: 6.0, 3: 5.0},
               "irecgan": {1: 2.5, 2: 3.5, 3: 4.5},
               "irecgan_true_r01": {1: 9.0, 2: 9.0, 3: 9.0}}
    gaps = dec.gap_table("log", rewards, ("belief", [5.0, 6.0, 7.0]), ("random", [1.0, 3.0]))
    by = dict((g["label"], g) for g in gaps)
    assert [g["gap"] for g in gaps] == ["a", "b", "c", "c", "a+b", "w"]
    # (w) a context line, paired: d = 5, 3, 4 -> 4; larger than (b) but never "the largest gap"
    w = by["irecgan_true_r01 - irecgan_true"]
    assert w["kind"] == "paired" and w["ci"]["mean"] == pytest.approx(4.0)
    # (a) ceiling - irecgan_true, Welch: 6 - 5 = 1, both variances 1: df 4
    a = by["ceiling (belief) - irecgan_true"]
    assert a["kind"] == "welch" and a["ci"]["mean"] == pytest.approx(1.0)
    assert a["ci"]["half"] == pytest.approx(T_975_DF4 * math.sqrt(2.0 / 3.0))
    assert a["headroom"]["mean"] == pytest.approx(25.0)  # 1 / 4
    assert a["headroom"]["half"] == pytest.approx(25.0 * T_975_DF4 * math.sqrt(2.0 / 3.0))
    # (b) irecgan_true - irecgan_nod paired: d = 2, 3, 1 -> mean 2 (50 % of 4), half 2.48414
    b = by["irecgan_true - irecgan_nod"]
    assert b["kind"] == "paired" and b["ci"]["mean"] == pytest.approx(2.0)
    assert b["ci"]["half"] == pytest.approx(T_975_DF2 / math.sqrt(3.0))
    assert b["headroom"]["mean"] == pytest.approx(50.0)
    assert b["excludes_zero"] is False
    # (c) irecgan - irecgan_nod: d = 0.5 x 3, no spread: [0.5, 0.5], excludes 0
    c = by["irecgan - irecgan_nod"]
    assert c["ci"]["mean"] == pytest.approx(0.5) and c["ci"]["half"] == pytest.approx(0.0)
    assert c["excludes_zero"] is True and c["headroom"]["mean"] == pytest.approx(12.5)
    assert by["irecgan_seq - irecgan_nod"]["missing"] == "no irecgan_seq runs"
    assert by["irecgan_seq - irecgan_nod"]["excludes_zero"] is None
    total = by["ceiling (belief) - irecgan_nod"]
    assert total["ci"]["mean"] == pytest.approx(3.0)  # = (a) + (b)
    # the largest of (a), (b), (c) by |mean|: (b), 2 [-0.48, 4.48]; |gap| intervals: (a) 1 +-
    # 2.27 -> [0, 3.27] overlaps; (c) [0.5, 0.5] lies inside [0, 4.48] -> overlaps too
    top, overlap = dec.largest_gap(gaps)
    assert top is b and set(g["gap"] for g in overlap) == {"a", "c"}
    text = dec_tables.largest_text(dec.largest_by_log(gaps)[0])
    assert "the largest gap is (b) irecgan_true - irecgan_nod = 2.000 [-0.484, 4.484]" in text
    assert "not established" in text and "irecgan_seq - irecgan_nod: no irecgan_seq runs" in text
    # without irecgan_true and without a logging row: (a), (b) missing, no headroom %
    gaps = dec.gap_table("log", {"irecgan_nod": rewards["irecgan_nod"],
                                 "irecgan": rewards["irecgan"]}, ("belief", [5.0, 6.0, 7.0]))
    by = dict((g["gap"] + g["label"], g) for g in gaps)
    assert by["aceiling (belief) - irecgan_true"]["missing"] == "no irecgan_true runs"
    assert all(g["headroom"] is None for g in gaps)
    top, overlap = dec.largest_gap(gaps)
    assert top["label"] == "irecgan - irecgan_nod" and overlap == []
    assert dec.gap_table("log", rewards)[0]["missing"] == "no a ceiling policy row"


def test_largest_gap_separated_intervals_do_not_overlap():
    def gap(name, mean, half):
        return {"gap": name, "label": name, "missing": None,
                "ci": {"mean": mean, "low": mean - half, "high": mean + half, "half": half}}
    # |gap| intervals: a [2.5, 3.5]; b -1 +- 0.5 -> [0.5, 1.5]; c [-0.2, 0.6] -> [0, 0.6]
    gaps = [gap("a", 3.0, 0.5), gap("b", -1.0, 0.5), gap("c", 0.2, 0.4)]
    top, overlap = dec.largest_gap(gaps)
    assert top["gap"] == "a" and overlap == []
    # a negative gap of larger size wins by |mean|; b's [0.5, 1.5] vs c's [0, 0.6] overlap
    gaps = [gap("b", -1.0, 0.5), gap("c", 0.2, 0.4)]
    top, overlap = dec.largest_gap(gaps)
    assert top["gap"] == "b" and [g["gap"] for g in overlap] == ["c"]


def write_run(root, dataset, method, seed, reward, config=None, results=None, metrics=()):
    path = os.path.join(str(root), dataset, method, "seed%d" % seed)
    os.makedirs(path)
    cfg = {"method": method, "data": "/data/%s.log" % dataset, "seed": seed, "layers": 1,
           "hidden": 16, "embed_dim": 8, "agent_epochs": 2}
    cfg.update(config or {})
    res = {"seed": seed, "online": {"reward_mean": reward},
           "offline": {"test": {"P@1": 10.0 + seed}}}
    res.update(results or {})
    for name, obj in (("config.json", cfg), ("results.json", res),
                      ("timing.json", {"wall_time_s": 30.0})):
        with open(os.path.join(path, name), "w") as handle:
            json.dump(obj, handle)
    with open(os.path.join(path, "metrics.jsonl"), "w") as handle:
        for record in metrics:
            handle.write(json.dumps(record) + "\n")
    return path


POLICIES = [{"dataset": "toy", "method": "random", "reward": [1.0, 3.0]},
            {"dataset": "toy", "method": "belief", "reward": [5.0, 6.0, 7.0]},
            {"dataset": "toy", "method": "max", "reward": [10.0, 10.0]}]


@pytest.fixture
def toy_runs(tmp_path):
    root = tmp_path / "runs"
    fit = {"P@1": 20.0, "ll": -2.5, "P@1_click": 25.0, "ll_click": -2.0, "n_steps": 100,
           "truth": {"P@1": 0.0, "ll": -1.5, "P@1_click": 50.0, "ll_click": -1.0,
                     "kind": "bayes"}}
    adv = [{"phase": "adversarial", "epoch": 1, "d_heldout_accuracy": 0.9,
            "d_heldout_auc": 0.95},
           {"phase": "adversarial", "epoch": 2, "d_heldout_accuracy": 0.6,
            "d_heldout_auc": 0.7}]
    for seed, nod, true, gan, seq in ((1, 2.0, 4.0, 2.5, 2.0), (2, 3.0, 6.0, 3.5, 3.5),
                                      (3, 4.0, 5.0, 4.5, 4.0)):
        # U's fit: seed 1 in results.json, seed 2 in user_fit.json (older runs), seed 3 none
        extra = {"user_fit": fit} if seed == 1 else None
        path = write_run(root, "toy", "irecgan_nod", seed, nod, results=extra)
        if seed == 2:
            with open(os.path.join(path, "user_fit.json"), "w") as handle:
                json.dump(dict(fit, **{"P@1_click": 35.0, "ll_click": -1.5}), handle)
        write_run(root, "toy", "irecgan_true", seed, true)
        write_run(root, "toy", "irecgan", seed, gan, metrics=adv)
        write_run(root, "toy", "irecgan_seq", seed, seq, config={"method": "irecgan",
                                                                "d_head": "sequence"})
        write_run(root, "toy", "lstm", seed, 1.5)
    write_run(root, "other", "lstm", 1, 1.0)
    return root


def test_decomposition_rows_user_fit_d_heads_and_the_sequence_label(toy_runs):
    runs = report.load_runs([str(toy_runs)])
    assert sorted(set(r.method for r in runs)) == ["irecgan", "irecgan_nod", "irecgan_seq",
                                                   "irecgan_true", "lstm"]
    rows, gaps, (done, _) = dec.decomposition(runs, POLICIES, {"toy": "random"}, ["toy"])
    assert [r["method"] for r in rows] == ["random", "belief", "lstm", "irecgan_nod", "irecgan",
                                           "irecgan_seq", "irecgan_true"]  # max left out
    assert done["toy"] == ("random", 2.0, "belief", 6.0)
    by = dict((r["method"], r) for r in rows)
    nod = by["irecgan_nod"]
    # U's P@1 25 % and 35 % (seed 3 has no fit): mean 30, std sqrt(50) = 7.0711; truth 50 % x 2
    u_p1 = nod["user_P@1_click"]
    assert u_p1[0] == pytest.approx(30.0) and u_p1[2] == 2
    assert u_p1[1] == pytest.approx(math.sqrt(50.0))
    assert nod["true_P@1_click"][:1] == (50.0,)
    assert nod["user_ll_click"][0] == pytest.approx(-1.75)
    # headroom of irecgan_nod: (2, 3, 4 - 2) / 4 -> 0, 25, 50 % -> 25
    assert nod["headroom"][0] == pytest.approx(25.0)
    assert by["irecgan"]["d_heldout_last"][0] == pytest.approx(0.6)
    assert by["irecgan"]["d_auc_last"][0] == pytest.approx(0.7)
    cells = dec_tables.table_cells(nod)
    assert cells[6] == "30.00 +- 7.07 [2/3] / 50.00 +- 0.00 [2/3]"
    seq = [g for g in gaps if g["label"] == "irecgan_seq - irecgan_nod"][0]
    assert seq["ci"]["mean"] == pytest.approx(1.0 / 6.0)  # d = 0, 0.5, 0 -> 1/6
    assert [dec.needs_user_fit(r) for r in runs if r.method == "irecgan_nod"] == [
        False, False, True]
    assert not any(dec.needs_user_fit(r) for r in runs if r.method in ("lstm", "irecgan_true"))


def test_write_decomposition_files(toy_runs, tmp_path):
    runs = report.load_runs([str(toy_runs)])
    out = str(tmp_path / "out")
    text, written = dec.write_decomposition(out, runs, POLICIES, {"toy": "random"}, ["toy"])
    names = sorted(os.path.basename(p) for p in written)
    assert names == ["gaps.csv", "gaps.md", "seeds.csv", "table.csv", "table.md",
                     "toy_decomposition.png"]
    with open(os.path.join(out, "gaps.csv")) as handle:
        gaps = list(csv.DictReader(handle))
    b = [g for g in gaps if g["difference"] == "irecgan_true - irecgan_nod"][0]
    assert b["kind"] == "paired" and b["n"] == "3" and b["seeds"] == "1 2 3"
    assert float(b["mean"]) == pytest.approx(2.0)
    assert float(b["ci_high"]) == pytest.approx(2.0 + T_975_DF2 / math.sqrt(3.0))
    assert float(b["headroom_pct_mean"]) == pytest.approx(50.0) and b["ci_excludes_0"] == "no"
    assert "* toy: the largest gap is (b)" in text
    with open(os.path.join(out, "table.csv")) as handle:
        table = dict((r["method"], r) for r in csv.DictReader(handle))
    assert float(table["irecgan_nod"]["user_P@1_mean"]) == pytest.approx(30.0)
    assert table["irecgan_nod"]["user_P@1_n"] == "2"
    assert float(table["irecgan"]["d_heldout_auc_last_mean"]) == pytest.approx(0.7)
    assert float(table["lstm"]["wall_time_s_mean"]) == 30.0
    with open(os.path.join(out, "toy_decomposition.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    # seeds.csv: every finished run of the reported log ("other" left out), in table order
    with open(os.path.join(out, "seeds.csv")) as handle:
        seeds = list(csv.DictReader(handle))
    assert [(r["method"], r["seed"]) for r in seeds] == [
        (m, str(s)) for m in ("lstm", "irecgan_nod", "irecgan", "irecgan_seq", "irecgan_true")
        for s in (1, 2, 3)]
    by = dict(((r["method"], r["seed"]), r) for r in seeds)
    assert float(by["irecgan_true", "2"]["online_reward"]) == 6.0
    assert float(by["irecgan_seq", "3"]["test_P@1"]) == 13.0
    # U's fit: seed 1 from results.json, seed 2 from user_fit.json, seed 3 has none
    assert [by["irecgan_nod", s]["user_ll_click"] for s in "123"] == ["-2.0", "-1.5", ""]
    assert by["irecgan_nod", "1"]["truth_ll_click"] == "-1.0"
    assert by["irecgan", "1"]["d_heldout_auc_last"] == "0.7"      # the last adversarial epoch
    assert by["lstm", "1"]["d_heldout_auc_last"] == "" and by["lstm", "1"]["wall_time_s"] == "30.0"
    assert by["lstm", "1"]["cpu_fingerprint"] == "" and by["lstm", "1"]["value_clicks_user"] == ""
    with open(os.path.join(out, "seeds.csv")) as handle:   # no machine's paths
        assert "path" not in seeds[0] and str(tmp_path) not in handle.read()
    with pytest.raises(UserError, match="seed 1 twice"):
        dec.decomposition(runs + [r for r in runs if r.dataset == "toy"][:1], POLICIES, {},
                          ["toy"])


def test_seed_records_carry_model_value_and_the_machine(tmp_path):
    machine = {"cpu_fingerprint": "abc123", "python": "3.6.15", "numpy": "1.18.5",
               "tensorflow": "1.15.5"}
    path = write_run(tmp_path, "toy", "irecgan_nod", 4, 3.25, results={"machine": machine})
    with open(os.path.join(path, "model_value.json"), "w") as handle:
        json.dump({"user": {"clicks": 2.0}, "truth": {"clicks": 2.5},
                   "fit": {"ll_click": -2.25, "truth": {"ll_click": -1.75}}}, handle)
    write_run(tmp_path, "toy", "pg", 4, 3.0)
    (rec_pg, rec_nod) = dec_tables.seed_records(report.load_runs([str(tmp_path)]), ["toy"])
    assert (rec_pg["method"], rec_nod["method"]) == ("pg", "irecgan_nod")
    assert (rec_nod["value_clicks_user"], rec_nod["value_clicks_truth"]) == ("2.0", "2.5")
    assert (rec_nod["value_ll_user"], rec_nod["value_ll_truth"]) == ("-2.25", "-1.75")
    assert rec_nod["cpu_fingerprint"] == "abc123"
    assert rec_nod["stack"] == "Python 3.6.15, numpy 1.18.5, TF 1.15.5"
    assert rec_nod["online_reward"] == "3.25" and rec_nod["seed"] == 4
    assert dec_tables.seed_records(report.load_runs([str(tmp_path)]), ["other"]) == []


def _reference_lines(ax):
    return dict((line.get_label(), line.get_ydata()[0]) for line in ax.get_lines()
                if not line.get_label().startswith("_"))


def test_reward_plots_draw_the_ceiling_and_the_logging_policy(toy_runs):
    import matplotlib.pyplot as plt
    runs = report.load_runs([str(toy_runs)])
    rows = report.aggregate_rows(runs, POLICIES)
    ceiling = [r for r in rows if r["method"] == "belief"][0]
    logged = [r for r in rows if r["method"] == "random"][0]
    assert reference_label("ceiling", ceiling) == "ceiling: belief, history-based (6.000)"
    assert reference_label("logging policy", logged) == (
        "logging policy: random, history-based (2.000)")
    fig = reward_bars_figure("toy", rows, "random")
    try:
        lines = _reference_lines(fig.axes[0])
        assert lines == {"ceiling: belief, history-based (6.000)": 6.0,
                         "logging policy: random, history-based (2.000)": 2.0}
        bars = [p.get_height() for p in fig.axes[0].patches]
        assert bars == pytest.approx([1.5, 3.0, 3.5, 19.0 / 6.0, 5.0])  # lstm .. irecgan_true
    finally:
        plt.close(fig)
    # the learning curves of irecgan-report (results/sim/*_online_reward.png) have them too
    for run in runs:
        run.metrics.append({"phase": "agent", "epoch": 1, "online_reward_mean": 2.5})
    policy = [r for r in rows if r["kind"] == "policy"]
    fig = online_reward_figure("toy", [r for r in runs if r.dataset == "toy"], policy, "random")
    try:
        lines = _reference_lines(fig.axes[0])
        assert lines["ceiling: belief, history-based (6.000)"] == 6.0
        assert lines["logging policy: random, history-based (2.000)"] == 2.0
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert "ceiling: belief, history-based (6.000)" in legend
        assert "logging policy: random, history-based (2.000)" in legend
    finally:
        plt.close(fig)
    # no logging policy named: the ceiling alone
    fig = online_reward_figure("toy", [r for r in runs if r.dataset == "toy"], policy)
    try:
        assert [k for k in _reference_lines(fig.axes[0]) if ":" in k] == [
            "ceiling: belief, history-based (6.000)"]
    finally:
        plt.close(fig)


def run_cli(args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "irecgan.cli.decomposition"] + args, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=SRC), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120)


def test_cli_lists_runs_without_user_fit_and_writes_the_report(toy_runs, tmp_path):
    proc = run_cli(["--list_user_fit", str(toy_runs)])
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split()
    assert sorted(os.path.relpath(p, str(toy_runs)) for p in listed) == [
        "toy/irecgan/seed1", "toy/irecgan/seed2", "toy/irecgan/seed3",
        "toy/irecgan_nod/seed3", "toy/irecgan_seq/seed1", "toy/irecgan_seq/seed2",
        "toy/irecgan_seq/seed3"]  # irecgan_true has no user model
    rows = str(tmp_path / "policy_rows.json")
    with open(rows, "w") as handle:
        json.dump(POLICIES, handle)
    out = str(tmp_path / "out")
    proc = run_cli(["--out=" + out, "--policy_rows=" + rows, "--logging_policy=toy=random",
                    "--datasets=toy", str(toy_runs)])
    assert proc.returncode == 0, proc.stderr
    assert "| toy | (b) | irecgan_true - irecgan_nod |" in proc.stdout
    assert os.path.exists(os.path.join(out, "toy_decomposition.png"))
    assert not os.path.exists(os.path.join(out, "other_decomposition.png"))
    for bad, says in ((["--datasets=nope"], "no run of nope"),
                      (["--confidence=1.5"], "strictly between 0 and 1"),
                      (["--logging_policy=toy"], "NAME=POLICY")):
        proc = run_cli(["--out=" + out] + bad + [str(toy_runs)])
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and says in lines[-1], proc.stderr


def dry_run(args, tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    return subprocess.run(["bash", os.path.join(ROOT, "run_sim.sh"), "--launcher=slurm",
                           "--dry_run", "--runs=" + str(tmp_path / "runs"),
                           "--out=" + str(tmp_path / "out")] + args, cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


def test_run_sim_datasets_and_the_irecgan_seq_alias(tmp_path):
    proc = dry_run(["--datasets=neural mdp_sharp", "--methods=irecgan_seq irecgan_true pg"],
                   tmp_path)
    assert proc.returncode == 0, proc.stderr
    jobs = [line for line in proc.stdout.splitlines() if "-m irecgan.cli.train" in line]
    assert len(jobs) == 12  # 2 logs x 3 methods x 2 seeds
    runs = os.path.join(str(tmp_path / "runs") + "_smoke", "runs")
    seq = [j for j in jobs if "--run_dir=%s/neural/irecgan_seq/seed2 " % runs in j]
    assert len(seq) == 1 and "--method=irecgan --d_head=sequence --data=" in seq[0]
    assert "neural.log" in seq[0]
    true = [j for j in jobs if "--run_dir=%s/mdp_sharp/irecgan_true/seed1 " % runs in j]
    assert len(true) == 1 and "--method=irecgan_true --data=" in true[0]
    assert not any("mdp_random" in j or "recsim" in j for j in jobs)
    assert "recsim rows skipped" not in proc.stdout  # not asked for
    for bad, says in ((["--datasets=mdp_nope"], "unknown dataset mdp_nope"),
                      (["--methods=irecgan_nope"], "unknown method irecgan_nope")):
        proc = dry_run(bad, tmp_path)
        assert proc.returncode == 2 and says in proc.stderr, proc.stderr


@pytest.mark.stack("2")  # a shell script over finished runs: the same on both stacks
def test_decomposition_script_links_run_sim_runs_and_writes_the_report(sim_smoke_local,
                                                                        tmp_path):
    # SMOKE=1 run_sim.sh's runs (conftest) are linked into the decomposition's own tree, never
    # trained again; only irecgan_seq and irecgan_true are (one log keeps it short); run_sim.sh's
    # own runs folder gets nothing new, so its table keeps its seeds
    runs, _, _ = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    env = dict(os.environ, SMOKE="1", PY=sys.executable, PYTHONPATH=os.path.join(image, "src"))
    log = str(tmp_path / "decomposition.log")
    with open(log, "w") as handle:
        proc = subprocess.run(["bash", os.path.join(image, "scripts", "decomposition.sh"),
                               "--jobs=2", "--datasets=mdp_sharp",
                               "--methods=lstm pg irecgan_nod irecgan irecgan_seq irecgan_true "
                               "irecgan_true_r01"], cwd=image, env=env,
                              stdout=handle, stderr=subprocess.STDOUT, timeout=600)
    text = open(log).read()
    assert proc.returncode == 0, text[-3000:]
    assert "decomposition.sh: 8 finished runs of runs/sim_smoke linked" in text
    assert "run_sim.sh: 6 runs to do" in text   # irecgan_seq, _true, _true_r01 x 2 seeds
    tree = os.path.join(image, "runs", "decomposition_smoke", "runs", "mdp_sharp")
    assert os.path.islink(os.path.join(tree, "pg", "seed1"))
    assert os.path.isfile(os.path.join(tree, "irecgan_seq", "seed2", "results.json"))
    assert not os.path.exists(os.path.join(runs + "_smoke", "runs", "mdp_sharp", "irecgan_seq"))
    with open(os.path.join(tree, "irecgan_seq", "seed1", "config.json")) as handle:
        assert json.load(handle)["d_head"] == "sequence"
    assert "every run with a user model has its user_fit" in text
    # U's answers to each final agent's own lists: irecgan_nod, irecgan, irecgan_seq x 2 seeds
    assert "decomposition.sh: the model_value of 6 runs (2 at a time)" in text
    with open(os.path.join(tree, "irecgan_seq", "seed2", "model_value.json")) as handle:
        value = json.load(handle)
    with open(os.path.join(tree, "irecgan_seq", "seed2", "config.json")) as handle:
        sessions = json.load(handle)["online_sessions"]   # the online evaluation's number
    assert value["sessions"] == value["user"]["sessions"] == value["truth"]["sessions"] == sessions
    assert value["difference"]["clicks"] == value["user"]["clicks"] - value["truth"]["clicks"]
    out = os.path.join(image, "results", "decomposition_smoke")
    for name in ["table.md", "gaps.md", "table.csv", "gaps.csv", "mdp_sharp_decomposition.png",
                 "curves/budget.md", "curves/budget.csv", "curves/mdp_sharp_budget.png"]:
        assert os.path.getsize(os.path.join(out, name)) > 0, name
    with open(os.path.join(out, "curves", "budget.csv")) as handle:   # every method's curve
        assert set(r["method"] for r in csv.DictReader(handle)) >= set(
            ["irecgan_nod", "irecgan", "irecgan_seq", "irecgan_true"])
    with open(os.path.join(out, "gaps.csv")) as handle:
        gaps = list(csv.DictReader(handle))
    assert [g["gap"] for g in gaps] == ["a", "b", "c", "c", "a+b", "w"]
    for g in gaps:
        assert g["missing"] == "" and g["mean"] != "", g
        assert g["kind"] == ("welch" if g["gap"] in ("a", "a+b") else "paired")
    with open(os.path.join(out, "table.csv")) as handle:
        table = [(r["log"], r["method"]) for r in csv.DictReader(handle)]
    assert table == [("mdp_sharp", m) for m in ("random", "belief", "imitation", "lstm", "pg",
                                                 "irecgan_nod", "irecgan", "irecgan_seq",
                                                 "irecgan_true", "irecgan_true_r01")]
    with open(os.path.join(tree, "irecgan_true_r01", "seed1", "config.json")) as handle:
        assert json.load(handle)["offline_ratio"] == 0.1
    gaps_md = open(os.path.join(out, "gaps.md")).read()
    assert "* mdp_sharp: the largest gap is" in gaps_md
    assert "U's error on the agent's own lists" in gaps_md
    for method in ("irecgan_nod", "irecgan", "irecgan_seq"):
        assert "| mdp_sharp | %s | 2 | " % method in gaps_md


@pytest.mark.stack("2")  # a shell function over finished runs: the same on both stacks
def test_user_figures_makes_only_what_a_run_with_u_lacks(sim_smoke_local, tmp_path):
    # scripts/lib/user_figures.sh, which decomposition.sh and objectives_study.sh call: a copy of
    # a finished irecgan_nod run and of a pg run (no U) of the smoke sweep (conftest)
    runs, _, _ = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    tree = tmp_path / "tree"
    for method in ("irecgan_nod", "pg"):
        target = str(tree / method / "seed1")
        shutil.copytree(os.path.join(runs + "_smoke", "runs", "mdp_sharp", method, "seed1"),
                        target)
        if os.path.exists(os.path.join(target, "model_value.json")):
            os.remove(os.path.join(target, "model_value.json"))
    value = str(tree / "irecgan_nod" / "seed1" / "model_value.json")

    def user_figures(report_only):
        proc = subprocess.run(
            ["bash", "-c", '. scripts/lib/user_figures.sh && user_figures some.sh "$0" 1 %d "$1"'
             % report_only, sys.executable, str(tree)], cwd=image,
            env=dict(os.environ, PYTHONPATH=os.path.join(image, "src")), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return proc.stdout
    text = user_figures(1)
    assert "some.sh: every run with a user model has its user_fit" in text  # in results.json
    assert "some.sh: --report_only: 1 runs without a model_value, not made" in text
    assert not os.path.exists(value)
    assert "some.sh: the model_value of 1 runs (1 at a time)" in user_figures(0)
    with open(value) as handle:
        made = json.load(handle)
    assert made["difference"]["clicks"] == made["user"]["clicks"] - made["truth"]["clicks"]
    assert not os.path.exists(str(tree / "pg" / "seed1" / "model_value.json"))
    assert "some.sh: every run with a user model has its model_value" in user_figures(0)


def test_ablation_table_leaves_the_sequence_head_out_of_its_variants():
    # run_sim.sh's irecgan_seq runs sit beside its irecgan runs (adversarial_ablation.sh reads
    # that folder too): they must not count as a second authors_r10 run of their seed
    import runpy
    table = runpy.run_path(os.path.join(ROOT, "scripts", "ablation_table.py"), run_name="x")
    variant = table["variant_from_config"]
    assert variant({"method": "irecgan", "offline_ratio": 10}) == "authors_r10"
    assert variant({"method": "irecgan", "d_head": "authors", "offline_ratio": 10}) == \
        "authors_r10"
    assert variant({"method": "irecgan", "d_head": "sequence", "offline_ratio": 10}) is None


def test_method_labels_of_the_variants():
    from irecgan.report.runs import method_label
    assert method_label({"method": "irecgan"}) == "irecgan"
    assert method_label({"method": "irecgan", "d_head": "authors"}) == "irecgan"
    assert method_label({"method": "irecgan", "d_head": "sequence"}) == "irecgan_seq"
    assert method_label({"method": "irecgan_true", "offline_ratio": 10.0}) == "irecgan_true"
    assert method_label({"method": "irecgan_true", "offline_ratio": 0.1}) == "irecgan_true_r01"
    # run_sim.sh --preset=converged runs every method at 0.1: its irecgan_true folder is the control
    assert method_label({"method": "irecgan_true", "offline_ratio": 0.1},
                        "irecgan_true") == "irecgan_true"
    assert method_label({"method": "irecgan_true", "offline_ratio": 0.1},
                        "irecgan_true_r01") == "irecgan_true_r01"
    assert method_label({"method": "irecgan_true", "agent_objective": "paper"}) == "irecgan_true"
    assert method_label({"method": "irecgan", "d_head": "sequence", "agent_q_d": False}) == \
        "irecgan_seq@no_q_d"
    assert method_label({"method": "irecgan", "agent_q_d": True}) == "irecgan"
    assert method_label({"method": "irecgan", "d_head": "sequence",
                         "agent_objective": "slate"}) == "irecgan_seq@slate"
    assert method_label({"method": "irecgan_true", "agent_objective": "slate",
                         "logged_term": "paper"}) == "irecgan_true@slate+paper_logged"
    assert method_label({"method": "pg", "agent_objective": "advantage",
                         "logged_term": "objective"}) == "pg@advantage"
    assert method_label({"method": "irecgan_true", "agent_objective": "slate",
                         "logged_term": "paper", "own_clicks": "paper",
                         "gen_temperature": 0.5}) == (
        "irecgan_true@slate+paper_logged+paper_own+T0.5")
    assert method_label({"method": "irecgan_true", "agent_objective": "paper",
                         "gen_temperature": 0.25}) == "irecgan_true@T0.25"
    assert method_label({"method": "irecgan_true", "gen_temperature": 1.0}) == "irecgan_true"
    assert method_label({"method": "irecgan_true", "offline_ratio": 2.0}) == "irecgan_true"
    assert method_label({"method": "irecgan_nod", "offline_ratio": 0.1}) == "irecgan_nod"


def test_split_label_inverts_the_variant_suffix():
    from irecgan.report.runs import method_label, split_label
    config = {"method": "irecgan", "d_head": "sequence", "agent_objective": "slate",
              "logged_term": "paper", "own_clicks": "paper"}
    assert split_label(method_label(config)) == ("irecgan_seq", "slate+paper_logged+paper_own")
    assert split_label(method_label({"method": "irecgan_nod"})) == ("irecgan_nod", "")
    assert split_label("irecgan_true@T0.5") == ("irecgan_true", "T0.5")
    # the per-objective gaps pair each method@X with its plain method and with the others @X
    gaps = dec.gaps_for(["irecgan_nod", "irecgan_true", "irecgan_true@slate",
                         "irecgan_nod@slate"])
    assert ("o@slate", "irecgan_true@slate", "irecgan_true") in gaps
    assert ("b@slate", "irecgan_true@slate", "irecgan_nod@slate") in gaps


def test_magnitude_and_percent_of_an_interval():
    def ci(low, high):
        return {"mean": (low + high) / 2.0, "low": low, "high": high, "half": (high - low) / 2.0}
    assert stats.magnitude(ci(1.0, 2.0)) == (1.0, 2.0)
    assert stats.magnitude(ci(-3.0, -1.0)) == (1.0, 3.0)
    assert stats.magnitude(ci(-1.0, 3.0)) == (0.0, 3.0)
    assert stats.magnitude(ci(-3.0, 1.0)) == (0.0, 3.0)
    assert stats.magnitude({"mean": -2.0, "low": float("nan"), "high": float("nan")}) == (
        2.0, 2.0)
    pct = stats.percent_of({"mean": 1.0, "low": 0.5, "high": 1.5, "half": 0.5, "n": 3,
                            "df": 2, "sd": 1.0, "seeds": [1, 2, 3]}, 4.0)
    assert pct == {"mean": 25.0, "low": 12.5, "high": 37.5, "half": 12.5, "n": 3, "df": 2,
                   "sd": 1.0, "seeds": [1, 2, 3]}


def test_largest_by_log_one_finding_per_log_in_order():
    def gap(dataset, name, mean, missing=None):
        return {"dataset": dataset, "gap": name, "label": name, "missing": missing,
                "ci": {"mean": mean, "low": mean - 0.1, "high": mean + 0.1, "half": 0.1}}
    gaps = [gap("y", "a", 1.0), gap("y", "b", 3.0), gap("y", "a+b", 9.0),
            gap("x", "a", 0.0, "no irecgan_true runs"), gap("x", "w", 0.0, "no r01 runs")]
    found = dec.largest_by_log(gaps)
    assert [f["dataset"] for f in found] == ["y", "x"]
    assert found[0]["top"] is gaps[1] and found[0]["overlap"] == [] and found[0]["missing"] == []
    assert found[1]["top"] is None and found[1]["missing"] == [gaps[3]]  # (w) is context
    assert dec_tables.largest_text(found[1]) == "* x: no gap computed."


def test_reward_bars_group_an_objectives_runs_after_the_papers_in_their_methods_colours():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from irecgan.report.plots import label_order, method_color

    def row(method, values):
        return {"dataset": "toy", "kind": "run", "method": method, "reward_values": values,
                "reward": (sum(values) / len(values), 0.0, len(values))}
    rows = [row("irecgan_nod@advantage", [4.0, 4.0]), row("pg", [1.0, 1.0]),
            row("pg@advantage", [3.0, 3.0]), row("irecgan_nod", [2.0, 2.0])]
    assert sorted(["pg@b", "irecgan_nod@a", "irecgan_nod", "pg@a", "pg"], key=label_order) == [
        "pg", "irecgan_nod", "pg@a", "irecgan_nod@a", "pg@b"]
    fig = reward_bars_figure("toy", rows)
    try:
        ax = fig.axes[0]
        assert [p.get_height() for p in ax.patches] == [1.0, 2.0, 3.0, 4.0]
        assert [p.get_hatch() for p in ax.patches] == [None, None, "//", "//"]
        for patch, method in zip(ax.patches, ["pg", "irecgan_nod", "pg", "irecgan_nod"]):
            assert patch.get_facecolor()[:3] == pytest.approx(to_rgba(method_color(method))[:3])
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "pg\n(n=2)", "irecgan_nod\n(n=2)", "pg\n@advantage\n(n=2)",
            "irecgan_nod\n@advantage\n(n=2)"]
    finally:
        plt.close(fig)


def test_plot_reward_bars_without_runs_writes_nothing(tmp_path):
    from irecgan.report.plots import plot_reward_bars
    path = str(tmp_path / "bars.png")
    assert plot_reward_bars(path, "toy", []) is False and not os.path.exists(path)


def test_gaps_per_agent_objective_and_against_the_paper_objective():
    rewards = {"irecgan_true": {1: 4.0, 2: 5.0, 3: 6.0},
               "irecgan_true@slate": {1: 5.0, 2: 7.0, 3: 6.0},
               "irecgan_nod@slate": {1: 4.5, 2: 6.5, 3: 5.5}}
    assert dec.gaps_for(rewards)[len(dec.GAPS):] == [
        ("a@slate", dec.CEILING, "irecgan_true@slate"),
        ("b@slate", "irecgan_true@slate", "irecgan_nod@slate"),
        ("a+b@slate", dec.CEILING, "irecgan_nod@slate"),
        ("o@slate", "irecgan_true@slate", "irecgan_true")]
    gaps = dec.gap_table("log", rewards, ("belief", [7.0, 8.0, 9.0]), ("random", [1.0, 3.0]))
    by = dict((g["gap"], g) for g in gaps)
    # (o@slate) paired: d = 1, 2, 0 -> 1 (of C - L = 6: 16.7 %)
    assert by["o@slate"]["ci"]["mean"] == pytest.approx(1.0)
    assert by["o@slate"]["ci"]["half"] == pytest.approx(T_975_DF2 / math.sqrt(3.0))
    assert by["o@slate"]["meaning"] == "what the agent objective buys over the paper's " \
                                       "(objective slate)"
    assert by["a@slate"]["ci"]["mean"] == pytest.approx(2.0)      # 8 - 6, Welch
    assert by["b@slate"]["ci"]["mean"] == pytest.approx(0.5) and by["b@slate"]["ci"]["half"] == 0.0
    # the largest gap is ranked among the paper objective's (a), (b), (c) only
    top, _ = dec.largest_gap(gaps)
    assert top["gap"] == "a" and top["ci"]["mean"] == pytest.approx(3.0)
