"""Issue 32's budget curves: the interval per epoch, the budget rule on synthetic curves,
budget.md / budget.csv from tiny fake run directories, and run_sim.sh's --train_flags."""
import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SRC
from irecgan import report
from irecgan.report import budget

T_975_2 = 4.302652729749464   # scipy.stats.t.ppf(0.975, 2)
T_975_4 = 2.7764451051977987  # scipy.stats.t.ppf(0.975, 4)


def test_interval_per_epoch_on_three_seeds():
    curves = {1: {0: 1.0, 1: 2.0}, 2: {0: 2.0, 1: 2.0}, 3: {0: 3.0}}
    points = budget.epoch_ci(curves)
    assert [e for e, _ in points] == [0, 1]
    ci = points[0][1]
    # mean 2, sd 1, n 3: half = t_{0.975,2} / sqrt(3)
    assert ci["n"] == 3 and ci["mean"] == 2.0
    assert ci["half"] == pytest.approx(T_975_2 / math.sqrt(3.0), rel=1e-9)
    assert ci["low"] == pytest.approx(2.0 - T_975_2 / math.sqrt(3.0), rel=1e-9)
    one = points[1][1]   # seeds 1 and 2 only, no spread
    assert one["n"] == 2 and one["mean"] == 2.0 and one["half"] == 0.0


def test_variant_names():
    assert budget.number_name(1e-4) == "1e-4" and budget.number_name(2.5e-4) == "2.5e-4"
    assert budget.number_name(1e-3) == "1e-3" and budget.number_name(10) == "10"
    assert budget.number_name(0.1) == "0.1"
    assert budget.variant_name({"method": "irecgan", "agent_lr": 0.0001,
                                "offline_ratio": 10.0}) == "lr1e-4_r10"
    assert budget.variant_name({"method": "irecgan_true", "agent_lr": 0.001,
                                "offline_ratio": 0.1}) == "lr1e-3_r0.1"
    assert budget.variant_name({"method": "pg", "agent_lr": 0.001}) == "pg"
    assert budget.budget_method({"method": "irecgan_true", "offline_ratio": 0.1}) == \
        "irecgan_true"
    assert budget.budget_method({"method": "irecgan", "d_head": "sequence"}) == "irecgan_seq"


def test_windows_by_hand():
    # E = 10: early = epochs 7, 8; late = 9, 10
    curves = {1: dict((e, float(e)) for e in range(1, 11)),
              2: dict((e, float(e) + (1.0 if e > 8 else 0.0)) for e in range(1, 11))}
    test = budget.window_test(curves, 10)
    assert test["early"] == {1: 7.5, 2: 7.5} and test["late"] == {1: 9.5, 2: 10.5}
    # differences 2 and 3: mean 2.5, sd sqrt(0.5), half t_{0.975,1} * 0.5 = 6.35: two seeds
    # this far apart give an interval [-3.85, 8.85] that holds 0, so the rule calls it flat
    assert test["ci"]["mean"] == 2.5
    assert test["ci"]["half"] == pytest.approx(12.706204736174696 * 0.5, rel=1e-9)
    assert test["flat"] is True
    # a third seed with difference 2.5: sd 0.5, half t_{0.975,2} * 0.5 / sqrt(3) < 2.5
    curves[3] = dict((e, float(e) + (0.5 if e > 8 else 0.0)) for e in range(1, 11))
    test = budget.window_test(curves, 10)
    assert test["ci"]["mean"] == 2.5 and test["flat"] is False
    assert test["ci"]["half"] == pytest.approx(T_975_2 * 0.5 / math.sqrt(3.0), rel=1e-9)


def test_rule_on_a_curve_rising_throughout():
    rng = np.random.RandomState(0)
    curves = dict((s, dict((e, 0.01 * e + rng.normal(0, 0.001)) for e in range(0, 101)))
                  for s in range(1, 6))
    e, test = budget.converged_budget(curves)
    assert e is None and test["budget"] == 100 and test["flat"] is False
    assert budget.verdict(e, test) == "still rising at 100"


def test_rule_on_a_curve_flat_from_epoch_40():
    # min(e, 40) / 40 plus noise of sd 0.002: at E = 60 the early window (36, 48] still holds
    # the rise (late - early = 0.0125 for every seed), at E = 70 both windows are flat
    rng = np.random.RandomState(1)
    curves = dict((s, dict((e, min(e, 40) / 40.0 + rng.normal(0, 0.002)) for e in range(0, 101)))
                  for s in range(1, 6))
    e, test = budget.converged_budget(curves)
    assert e == 70 and test["flat"] is True and len(test["ci"]["seeds"]) == 5
    assert test["ci"]["low"] <= 0.0 <= test["ci"]["high"]
    assert budget.window_test(curves, 60)["flat"] is False
    assert budget.verdict(e, test) == "flat at 70"


def test_rule_needs_two_seeds():
    one = {1: dict((e, 1.0) for e in range(0, 51))}
    assert budget.converged_budget(one) == (None, None)
    assert budget.verdict(None, None).startswith("no budget to test (fewer than 2 seeds")
    assert budget.window_test(one, 10)["flat"] is None
    with pytest.raises(ValueError):
        budget.candidate_budgets(one, step=0)
    # a second seed that stopped at epoch 65: candidates 50 and 60 only (MIN_BUDGET = 50)
    one = {1: dict((e, 1.0) for e in range(0, 101))}
    two = {1: one[1], 2: dict((e, 1.0) for e in range(0, 66))}
    assert budget.candidate_budgets(two) == [50, 60]
    assert budget.candidate_budgets(two, min_budget=10) == [10, 20, 30, 40, 50, 60]


def write_run(root, log, method, seed, rewards, config=None, final=None, phase="adversarial"):
    path = os.path.join(str(root), log, method, "seed%d" % seed)
    os.makedirs(path)
    cfg = {"method": method, "data": "/data/%s.log" % log, "seed": seed, "layers": 1,
           "hidden": 16, "embed_dim": 8, "agent_epochs": 2, "agent_lr": 0.0001,
           "offline_ratio": 10.0}
    cfg.update(config or {})
    with open(os.path.join(path, "config.json"), "w") as handle:
        json.dump(cfg, handle)
    with open(os.path.join(path, "results.json"), "w") as handle:
        json.dump({"seed": seed, "online": {"reward_mean": final if final is not None
                                            else rewards[-1]}}, handle)
    with open(os.path.join(path, "metrics.jsonl"), "w") as handle:
        handle.write(json.dumps({"phase": "agent", "epoch": 2, "online_reward_mean": 0.5}) + "\n")
        for epoch, value in enumerate(rewards, 1):
            handle.write(json.dumps({"phase": phase, "epoch": epoch,
                                     "online_reward_mean": value}) + "\n")
    return path


def fake_runs(root):
    flat = [1.0] * 50
    for seed, bump in ((1, 0.0), (2, 0.1), (3, -0.1)):
        write_run(root, "toy", "irecgan_true", seed, [v + bump for v in flat])
        write_run(root / "fast", "toy", "irecgan_true", seed,
                  [float(e) for e in range(1, 51)], config={"agent_lr": 0.001})
        write_run(root, "toy", "irecgan", seed, [2.0 + seed] * 50)
    for seed in (1, 2):
        write_run(root / "pg", "toy", "pg", seed, [1.5, 2.5], config={"agent_epochs": 2},
                  phase="agent", final=2.0 + seed)


def test_budget_md_and_csv_from_fake_runs(tmp_path):
    fake_runs(tmp_path / "runs")
    policies = [{"dataset": "toy", "method": "random", "reward": [1.0, 3.0]},
                {"dataset": "toy", "method": "belief", "reward": [5.0, 7.0]}]
    out = str(tmp_path / "out")
    text, written = budget.write_budget(out, report.load_runs([str(tmp_path / "runs")]),
                                        policies, {"toy": "random"})
    # lr1e-4_r10: late - early = 0 for every seed -> flat at 50 (MIN_BUDGET), CI [0, 0]
    assert "| lr1e-4_r10 | 50 | flat at 50 | 50 | 1.0000 | 1.0000 | 0.0000 [0.0000, 0.0000] " \
           "| 3 |" in text
    # lr1e-3_r10: epochs 31-40 vs 41-50: 10 for every seed -> still rising at 50
    assert "| lr1e-3_r10 | - | still rising at 50 | 50 | 35.5000 | 45.5000 | " \
           "10.0000 [10.0000, 10.0000] | 3 |" in text
    assert "pg (its own budget): final online reward 3.500 over 2 seeds." in text
    assert "irecgan |" not in text   # the rule never looks at the compared methods
    assert "Run time: 11 runs, 0 with a recorded wall time, 0 s summed (0.0 core-hours" in text
    assert "| toy | lr1e-4_r10 | 50 | 1.0000 [0.7516, 1.2484] | 0 | yes | --agent_lr=0.0001 " \
           "--offline_ratio=10 --adv_epochs=50 |" in text   # the preset: the paper's knobs
    with open(os.path.join(out, "budget.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == budget.CSV_COLUMNS
    irecgan = [r for r in rows if r["method"] == "irecgan" and r["epoch"] == "1"]
    assert len(irecgan) == 1 and irecgan[0]["variant"] == "lr1e-4_r10"
    assert float(irecgan[0]["mean"]) == 4.0 and irecgan[0]["n"] == "3"
    half = T_975_2 * 1.0 / math.sqrt(3.0)
    assert float(irecgan[0]["ci_low"]) == pytest.approx(4.0 - half, rel=1e-9)  # old scipy: t to 1e-10
    zero = [r for r in rows if r["method"] == "irecgan_true" and r["epoch"] == "0"
            and r["variant"] == "lr1e-4_r10"]
    assert float(zero[0]["mean"]) == 0.5   # epoch 0: the agent after pretraining
    pg = [r for r in rows if r["method"] == "pg"]
    assert [(r["variant"], r["epoch"], r["mean"]) for r in pg] == [("pg", "1", "1.5"),
                                                                   ("pg", "2", "2.5")]
    assert os.path.exists(os.path.join(out, "toy_budget.png"))
    assert budget.reference_lines(policies, "toy", "random") == [
        ("ceiling: belief, history-based", 6.0), ("logging policy: random", 2.0)]


def test_pg_of_two_objectives_is_two_rows_not_one_mean(tmp_path):
    root = tmp_path / "runs"
    for seed in (1, 2):
        write_run(root, "toy", "irecgan_true", seed, [1.0] * 50)
        write_run(root / "pg", "toy", "pg", seed, [1.5, 2.5], config={"agent_epochs": 2},
                  phase="agent", final=2.0 + seed)                   # 3.0, 4.0 -> 3.5
        write_run(root / "adv", "toy", "pg", seed, [1.5, 2.5],
                  config={"agent_epochs": 2, "agent_objective": "advantage"},
                  phase="agent", final=5.0 + seed)                   # 6.0, 7.0 -> 6.5
    runs = report.load_runs([str(root)])
    assert budget.pg_finals(runs) == {"toy": {"pg": [3.0, 4.0], "pg@advantage": [6.0, 7.0]}}
    text, _ = budget.write_budget(str(tmp_path / "out"), runs)
    assert "pg (its own budget): final online reward 3.500 over 2 seeds.\n\n" \
           "pg@advantage (its own budget): final online reward 6.500 over 2 seeds." in text
    assert "over 4 seeds" not in text


def test_each_objectives_control_gets_the_rule_and_never_picks_the_preset(tmp_path):
    root = tmp_path / "runs"
    for seed, bump in ((1, 0.0), (2, 0.2)):
        write_run(root, "toy", "irecgan_true", seed, [1.0 + bump] * 50)
        # an objective's irecgan_true: rising through epoch 51, flat after it; at E = 50 and
        # at E = 60 (the last candidate) late - early is the same for both seeds and > 0
        rising = [float(min(e, 51)) + bump for e in range(1, 61)]
        write_run(root / "slate", "toy", "irecgan_true", seed, rising,
                  config={"agent_objective": "slate"})
        # a higher, flat slate curve at another variant must not become the preset either
        write_run(root / "slate_fast", "toy", "irecgan_true", seed, [9.0 + bump] * 50,
                  config={"agent_objective": "slate", "agent_lr": 0.001})
    runs = report.load_runs([str(root)])
    rows = budget.budget_rows(budget.group_curves(runs))
    found = dict(((r["variant"], r["method"]), (r["budget"], r["verdict"])) for r in rows)
    assert found == {("lr1e-4_r10", "irecgan_true"): (50, "flat at 50"),
                     ("lr1e-4_r10", "irecgan_true@slate"): (None, "still rising at 60"),
                     ("lr1e-3_r10", "irecgan_true@slate"): (50, "flat at 50")}
    assert [budget.row_variant(r) for r in rows] == [
        "lr1e-3_r10, irecgan_true@slate", "lr1e-4_r10", "lr1e-4_r10, irecgan_true@slate"]
    chosen = budget.choose_preset(rows)["toy"]
    assert (chosen["variant"], chosen["best"]) == ("lr1e-4_r10", "lr1e-4_r10")
    assert [c["variant"] for c in chosen["candidates"]] == ["lr1e-4_r10"]
    text, _ = budget.write_budget(str(tmp_path / "out"), runs)
    assert "on irecgan_true only (each agent objective's on its own control, " \
           "irecgan_true@OBJ): the smallest" in text
    assert "| lr1e-3_r10, irecgan_true@slate | 50 | flat at 50 | 50 | 9.1000 | 9.1000 |" in text
    # without objective runs the header reads as before (results/budget/budget.md unchanged)
    plain = [r for r in runs if "@" not in budget.budget_method(r.config)]
    assert "on irecgan_true only: the smallest" in budget.budget_markdown(
        budget.budget_rows(budget.group_curves(plain)), {}, "t")


def test_cli_writes_and_fails_in_one_line(tmp_path):
    fake_runs(tmp_path / "runs")
    env = dict(os.environ, PYTHONPATH=SRC)
    out = str(tmp_path / "out")
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.budget", "--out=" + out,
                           str(tmp_path / "runs")], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "flat at 50" in proc.stdout and os.path.exists(os.path.join(out, "budget.csv"))
    for bad, says in (([str(tmp_path / "nope")], "no such file"),
                      (["--confidence=2", str(tmp_path / "runs")], "strictly between 0 and 1")):
        proc = subprocess.run([sys.executable, "-m", "irecgan.cli.budget", "--out=" + out] + bad,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and says in lines[-1] and len(lines) == 1, proc.stderr


def test_cli_finished_only_leaves_runs_in_progress_out(tmp_path):
    fake_runs(tmp_path / "runs")
    # a fourth seed in progress: no results.json yet, 10 epochs written, far above the others
    path = write_run(tmp_path / "runs", "toy", "irecgan", 4, [50.0] * 10)
    os.remove(os.path.join(path, "results.json"))
    env = dict(os.environ, PYTHONPATH=SRC)

    def irecgan_epoch1(*extra):
        out = str(tmp_path / ("out%d" % len(extra)))
        proc = subprocess.run([sys.executable, "-m", "irecgan.cli.budget", "--out=" + out]
                              + list(extra) + [str(tmp_path / "runs")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        with open(os.path.join(out, "budget.csv")) as handle:
            return [(r["n"], float(r["mean"])) for r in csv.DictReader(handle)
                    if r["method"] == "irecgan" and r["epoch"] == "1"]

    assert irecgan_epoch1() == [("4", (3.0 + 4.0 + 5.0 + 50.0) / 4)]   # the budget study's view
    assert irecgan_epoch1("--finished_only") == [("3", 4.0)]            # the tables' runs only
    # nothing finished: one line on stderr, exit 2
    path = write_run(tmp_path / "unfinished", "toy", "irecgan", 1, [1.0] * 5)
    os.remove(os.path.join(path, "results.json"))
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.budget", "--finished_only",
                           "--out=" + str(tmp_path / "none"), str(tmp_path / "unfinished")],
                          env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "no finished run" in lines[0], proc.stderr


def dry_run(tmp_path, name, args):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    proc = subprocess.run(["bash", os.path.join(ROOT, "run_sim.sh"), "--launcher=slurm",
                           "--dry_run", "--runs=" + str(tmp_path / name),
                           "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp neural",
                           "--methods=irecgan_true irecgan"] + args, cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if "-m irecgan.cli.train" in line]


def test_run_sim_train_flags_in_every_job_and_none_by_default(tmp_path):
    flags = "--agent_lr=0.001 --offline_ratio=0.1 --adv_epochs=100"
    jobs = dry_run(tmp_path, "a", ["--train_flags=" + flags])
    assert len(jobs) == 8   # 2 logs x 2 methods x 2 seeds
    for job in jobs:
        assert (" " + flags + " > ") in job and job.index("--run_dir=") < job.index(flags)
    plain = dry_run(tmp_path, "b", [])
    assert len(plain) == 8 and not any("--agent_lr" in j for j in plain)
    # without the option, the jobs are today's: the same lines but for the flags and folder
    assert [j.replace(" " + flags, "").replace(str(tmp_path / "a"), "R") for j in jobs] == \
        [j.replace(str(tmp_path / "b"), "R") for j in plain]
    assert plain[0].endswith("; fi") and "--run_dir=%s" % str(tmp_path / "b") in plain[0]
    assert "--threads=1 --progress=false --run_dir=" in plain[0]
    assert "/seed1 > " in plain[0]


def test_the_rule_is_written_down_word_for_word():
    doc = budget.__doc__
    rule = doc[doc.index("    For each log"):doc.index("largest candidate E.") + 20]
    words = " ".join(rule.split())
    with open(os.path.join(ROOT, "docs", "RESULTS.md")) as handle:
        text = handle.read()
    section = text[text.index("## Budget curves and the converged preset (issue 32): the rule, "
                              "fixed before the comparison"):]
    section = section[:section.index("\n### The preset rule")]
    assert "2026-12-04" in section and "2026-12-04" in doc
    quoted = " ".join(l[1:].strip() for l in section.splitlines() if l.startswith(">"))
    assert " ".join(quoted.split()) == words


def test_budget_curves_dry_run_drives_run_sim_per_variant_and_pg(tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "budget_curves.sh"),
                           "--launcher=slurm", "--dry_run", "--runs=" + str(tmp_path / "runs"),
                           "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp",
                           "--variants=lr1e-4_r10 lr1e-3_r0.1"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    jobs = [l for l in proc.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert len(jobs) == 2 * 4 * 2 + 2   # variants x methods x seeds, then pg x seeds
    root = str(tmp_path / "runs") + "_smoke"
    for variant, flags in (("lr1e-4_r10", "--agent_lr=1e-4 --offline_ratio=10 --adv_epochs=4"),
                           ("lr1e-3_r0.1", "--agent_lr=1e-3 --offline_ratio=0.1 --adv_epochs=4")):
        mine = [j for j in jobs if "--run_dir=%s/%s_smoke/runs/" % (root, variant) in j]
        assert len(mine) == 8 and all(" %s > " % flags in j for j in mine)
        assert sum("--method=irecgan --d_head=sequence" in j for j in mine) == 2
    pg = [j for j in jobs if "/pg_smoke/runs/mdp_sharp/pg/seed" in j]
    assert len(pg) == 2 and all(" --agent_epochs=4 --online_every=1 > " in j for j in pg)
    assert "budget_curves.sh: --dry_run: 18 runs to do, no report" in proc.stdout
    bad = subprocess.run(["bash", os.path.join(ROOT, "scripts", "budget_curves.sh"),
                          "--variants=fast"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert bad.returncode == 2 and "variant fast is not lr<LR>_r<RATIO>" in bad.stderr


def test_budget_curves_methods_option_selects_runs_and_pg(tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")

    def dry(name, methods):
        return subprocess.run(["bash", os.path.join(ROOT, "scripts", "budget_curves.sh"),
                               "--launcher=slurm", "--dry_run", "--runs=" + str(tmp_path / name),
                               "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp",
                               "--variants=lr1e-4_r10 lr1e-3_r0.1", "--methods=" + methods],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)
    only = dry("a", "irecgan_true")
    assert only.returncode == 0, only.stderr
    jobs = [l for l in only.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert len(jobs) == 2 * 2 and all("--method=irecgan_true " in j for j in jobs)
    assert "--dry_run: 4 runs to do" in only.stdout
    pg = dry("b", "pg")
    jobs = [l for l in pg.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert pg.returncode == 0 and len(jobs) == 2 and all("--method=pg " in j for j in jobs)
    bad = dry("c", "irecgan_true bogus")
    assert bad.returncode == 2 and "unknown method bogus" in bad.stderr


def test_converged_study_refuses_unknown_options_and_prints_its_help():
    script = os.path.join(ROOT, "scripts", "converged_study.sh")
    bad = subprocess.run(["bash", script, "--bogus"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert bad.returncode == 2 and "unknown option --bogus" in bad.stderr
    helped = subprocess.run(["bash", script, "--help"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert helped.returncode == 0 and "4. each gap against the budget" in helped.stdout


def test_objectives_study_runs_each_objective_at_the_converged_preset(tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    script = os.path.join(ROOT, "scripts", "objectives_study.sh")
    proc = subprocess.run(["bash", script, "--dry_run", "--runs=" + str(tmp_path / "runs"),
                           "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp mdp_max",
                           "--objectives=slate advantage slate+paper_logged+paper_own+T0.5 "
                           "paper+T0.25", "--seeds=1 2"],
                          cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "mdp_max left out: no converged preset" in proc.stdout
    jobs = [l for l in proc.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert len(jobs) == 4 * 2   # objectives x seeds, irecgan_true only
    for objective, flags in (("slate", "--agent_objective=slate"),
                             ("advantage", "--agent_objective=advantage"),
                             ("slate+paper_logged+paper_own+T0.5",
                              "--agent_objective=slate --logged_term=paper --own_clicks=paper "
                              "--gen_temperature=0.5"),
                             ("paper+T0.25", "--agent_objective=paper --gen_temperature=0.25")):
        # SMOKE: run_sim.sh's toy sizes, 2 seeds, each objective's tree RUNS/<objective>_smoke
        mine = [j for j in jobs if "/%s_smoke/runs/mdp_sharp/irecgan_true/seed" % objective in j]
        assert len(mine) == 2 and all(" %s > " % flags in j for j in mine)
        assert all("--flagfile=configs/converged/mdp_sharp.cfg --method=irecgan_true " in j
                   for j in mine)
    for wrong in ("paper", "advantage+paper_own", "topk_correction+paper_logged", "slate+T",
                  "ppo"):
        bad = subprocess.run(["bash", script, "--objectives=slate " + wrong], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60)
        assert bad.returncode == 2 and "unknown objective %s " % wrong in bad.stderr, wrong


def test_objectives_study_reports_only_the_methods_asked_for(tmp_path):
    # a tree holding other methods' runs of the objective (a decomposition study's) adds none
    # of them to the report: every report command is recorded by a stand-in for python
    shim, log = tmp_path / "py.sh", tmp_path / "calls.txt"
    shim.write_text(u'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$SHIM_LOG"\n')
    os.chmod(str(shim), 0o755)
    runs = tmp_path / "runs"
    for method in ("pg", "irecgan_true"):
        os.makedirs(str(runs / "advantage" / "runs" / "neural" / method / "seed1"))
    os.makedirs(str(tmp_path / "paper" / "runs" / "neural" / "irecgan_true" / "seed1"))
    env = dict(os.environ, PY=str(shim), SHIM_LOG=str(log))
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "objectives_study.sh"),
                           "--report_only", "--objectives=advantage", "--datasets=neural",
                           "--runs=" + str(runs), "--out=" + str(tmp_path / "out"),
                           "--paper_runs=" + str(tmp_path / "paper")],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    calls = [l for l in log.read_text().splitlines()
             if "irecgan.cli.decomposition --out=" in l or "irecgan.cli.budget" in l]
    assert len(calls) == 2
    for call in calls:
        assert call.endswith(" %s %s" % (tmp_path / "paper" / "runs" / "neural" / "irecgan_true",
                                         runs / "advantage" / "runs" / "neural" / "irecgan_true"))
        assert "/pg" not in call


def test_objectives_study_at_a_longer_budget_runs_the_paper_objective_too(tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    script = os.path.join(ROOT, "scripts", "objectives_study.sh")
    proc = subprocess.run(["bash", script, "--dry_run", "--runs=" + str(tmp_path / "runs"),
                           "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp",
                           "--objectives=paper slate+paper_logged", "--adv_epochs=200"],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    jobs = [l for l in proc.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert len(jobs) == 2 * 2   # SMOKE: 2 seeds
    for objective, flags in (("paper", "--agent_objective=paper --adv_epochs=200"),
                             ("slate+paper_logged",
                              "--agent_objective=slate --adv_epochs=200 --logged_term=paper")):
        mine = [j for j in jobs if "/%s_smoke/runs/mdp_sharp/irecgan_true/seed2 " % objective in j]
        # the budget flag comes after the preset's flagfile, so it wins
        assert len(mine) == 1 and " %s > " % flags in mine[0]
        assert "--flagfile=configs/converged/mdp_sharp.cfg " in mine[0]
    for wrong in ("--adv_epochs=0", "--adv_epochs=x", "--adv_epochs="):
        bad = subprocess.run(["bash", script, wrong], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
        assert bad.returncode == 2 and "--adv_epochs must be a positive integer" in bad.stderr
    alone = subprocess.run(["bash", script, "--dry_run", "--objectives=paper"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
    assert alone.returncode == 2 and "unknown objective paper " in alone.stderr


def test_decomposition_at_the_converged_preset_reads_each_logs_preset(tmp_path):
    env = dict(os.environ, PY=sys.executable, PYTHONPATH=SRC, SMOKE="1")
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "decomposition.sh"),
                           "--preset=converged", "--launcher=slurm", "--dry_run",
                           "--runs=" + str(tmp_path / "runs"), "--out=" + str(tmp_path / "out"),
                           "--datasets=mdp_sharp mdp_max", "--methods=irecgan_true irecgan"],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "mdp_max left out: no converged preset" in proc.stdout
    assert "0 finished runs of %s_smoke linked" % (tmp_path / "runs") in proc.stdout
    # the preset is named as what it is (the base sizes plus each log's budget knobs)
    assert "preset converged (smoke + configs/converged/<log>.cfg)" in proc.stdout
    jobs = [l for l in proc.stdout.splitlines() if "-m irecgan.cli.train" in l]
    assert len(jobs) == 2 * 2 and all(
        "--flagfile=configs/smoke.cfg --flagfile=configs/converged/mdp_sharp.cfg --method=" in j
        for j in jobs)
    asked = subprocess.run(["bash", os.path.join(ROOT, "run_sim.sh"), "--preset=converged",
                            "--datasets=mdp_max", "--dry_run", "--launcher=slurm",
                            "--runs=" + str(tmp_path / "r2")], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=120)
    assert asked.returncode == 2 and "no converged preset for mdp_max" in asked.stderr
