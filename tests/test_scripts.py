"""The reproduction scripts end to end at toy size (SMOKE=1), as CI runs them."""
import csv
import json
import os
import re
import shlex
import subprocess
import sys

from irecgan.rundir.runlock import RunLock
from irecgan.sim.recsim_env import available

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_script(args, tmp_path, name, cwd=ROOT):
    """`bash CWD/args[0] args[1:]` with SMOKE=1 in `cwd` (default: this checkout)."""
    env = dict(os.environ, SMOKE="1", PY=sys.executable, PYTHONPATH=os.path.join(cwd, "src"))
    log = tmp_path / (name + ".log")
    with open(str(log), "w") as handle:
        proc = subprocess.run(["bash", os.path.join(cwd, args[0])] + args[1:], cwd=cwd,
                              env=env, stdout=handle, stderr=subprocess.STDOUT, timeout=900)
    text = log.read_text()
    assert proc.returncode == 0, text[-3000:]
    return text


def test_run_sim_smoke_then_rerun_does_only_what_is_missing(sim_smoke_local, tmp_path):
    # the image's SMOKE=1 ./run_sim.sh, run in a copy of the checkout (conftest.py); run again
    # there the same way (its logs record the relative paths they were made with)
    runs, out, text = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    args = ["run_sim.sh"]
    recsim, why = available()  # the recsim log only where the optional extra is installed
    datasets = ["mdp_random", "mdp_max", "mdp_sharp", "neural"] + (["recsim"] if recsim else [])
    assert "%d runs to do" % (8 * len(datasets)) in text  # logs x 4 methods x 2 seeds
    assert recsim or "recsim rows skipped: " + why in text
    out_dir = out + "_smoke"
    for name in ("table.md", "table.csv", "mdp_random_online_reward.png",
                 "mdp_random_coverage.png", "neural_precision.png"):
        assert os.path.getsize(os.path.join(out_dir, name)) > 0, name
    with open(os.path.join(out_dir, "table.csv")) as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(r.get("dataset"), r.get("method")) for r in rows]
    assert len(pairs) == len(set(pairs)), sorted(pairs)  # no (dataset, method) row twice
    methods = set(pairs)
    for dataset in datasets:
        for method in ("lstm", "pg", "irecgan_nod", "irecgan"):
            assert (dataset, method) in methods
    if recsim:
        for policy in ("random", "quality", "oracle"):
            assert ("recsim", policy) in methods
    for dataset in ("mdp_random", "mdp_max", "mdp_sharp"):
        for policy in ("random", "max", "mix", "belief", "bayes (offline)"):
            assert (dataset, policy) in methods
    with open(os.path.join(out_dir, "policy_rows.json")) as handle:
        policy_pairs = [(r["dataset"], r["method"]) for r in json.load(handle)]
    assert len(policy_pairs) == len(set(policy_pairs)), sorted(policy_pairs)
    for dataset, ceiling in (("mdp_random", "belief"), ("mdp_sharp", "belief"),
                             ("neural", "oracle")):
        headroom = [float(r["headroom_pct_mean"]) for r in rows
                    if r["dataset"] == dataset and r["method"] == ceiling]
        assert len(headroom) == 1 and abs(headroom[0] - 100.0) < 1e-9
    verbatim = [float(r["test_verbatim_pct_mean"]) for r in rows
                if r["dataset"] == "neural" and r["test_verbatim_pct_mean"]]
    assert verbatim and max(verbatim) <= 5.0  # sampled clicks and lists

    # the neural oracle's log buys at ~50 %: its user model weighs purchases by (1 - p) / p
    run_root = os.path.join(runs + "_smoke", "runs")
    for dataset, weight in (("neural", "auto"), ("mdp_random", "reference")):
        with open(os.path.join(run_root, dataset, "irecgan", "seed1", "config.json")) as h:
            assert json.load(h)["purchase_weight"] == weight

    # a run that did not finish (its results.json missing) is the only one done again
    redo = os.path.join(run_root, "neural", "pg", "seed2")
    os.remove(os.path.join(redo, "results.json"))
    other = os.path.join(run_root, "mdp_random", "irecgan", "seed1", "results.json")
    before = os.path.getmtime(other)
    # an unfinished run that another process holds (here: this one) is skipped, untouched
    busy = os.path.join(run_root, "mdp_max", "lstm", "seed1")
    os.remove(os.path.join(busy, "results.json"))
    busy_metrics = os.path.getmtime(os.path.join(busy, "metrics.jsonl"))
    with RunLock(busy):
        text = run_script(args, tmp_path, "second", cwd=image)
    assert "2 runs to do" in text
    assert "skip %s: in use by process %d" % (os.path.relpath(busy, image), os.getpid()) \
        in text.splitlines()
    assert not os.path.exists(os.path.join(busy, "results.json"))
    assert os.path.getmtime(os.path.join(busy, "metrics.jsonl")) == busy_metrics
    assert os.path.exists(os.path.join(redo, "results.json"))
    assert os.path.getmtime(other) == before


def test_run_sim_report_of_some_logs_leaves_the_other_logs_runs_out(sim_smoke_local, tmp_path):
    # the smoke runs hold every log; --datasets=mdp_sharp reports mdp_sharp's rows and plots only
    runs, _, _ = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    out = str(tmp_path / "one")
    text = run_script(["run_sim.sh", "--report_only", "--datasets=mdp_sharp", "--out=" + out],
                      tmp_path, "one_log", cwd=image)
    assert "0 runs to do" in text
    with open(os.path.join(out + "_smoke", "table.csv")) as handle:
        rows = [r for r in csv.DictReader(handle) if r["source"] != "published"]
    assert rows and set(r["dataset"] for r in rows) == {"mdp_sharp"}
    assert set(r["method"] for r in rows) >= {"lstm", "pg", "irecgan_nod", "irecgan", "belief"}
    plots = sorted(n for n in os.listdir(out + "_smoke") if n.endswith(".png"))
    assert plots == ["mdp_sharp_coverage.png", "mdp_sharp_online_reward.png",
                     "mdp_sharp_precision.png"]


def run_script_status(args, tmp_path):
    """(exit status, stdout, stderr) of a script that is expected to stop early."""
    proc = subprocess.run(["bash", os.path.join(ROOT, args[0])] + args[1:], cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_run_cikm_without_data_names_the_files_and_folder(tmp_path):
    empty = str(tmp_path / "cikm")
    code, out, err = run_script_status(["run_cikm.sh", "--data_dir=" + empty,
                                        "--runs=" + str(tmp_path / "runs")], tmp_path)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, (code, out, err)
    for name in ("train-queries.csv", "train-clicks.csv", "train-purchases.csv",
                 empty + "/raw/", empty + "/processed.txt"):
        assert name in lines[0], lines[0]
    assert not os.path.exists(str(tmp_path / "runs"))


def test_run_sim_refuses_a_log_made_with_other_flags(tmp_path):
    data = tmp_path / "sim"
    data.mkdir()
    (data / "mdp_random.log").write_text("1;0;0;;0\n")
    (data / "mdp_random.log.flags").write_text("--env=mdp --policy=random --sessions=7 --seed=1\n")
    code, out, err = run_script_status(["run_sim.sh", "--data_dir=" + str(data),
                                        "--runs=" + str(tmp_path / "runs"),
                                        "--out=" + str(tmp_path / "out")], tmp_path)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, (code, out, err)
    assert "mdp_random.log was made with other flags" in lines[0] and "--sessions=7" in lines[0]


def test_run_cikm_smoke_on_synthetic_raw_files(tmp_path):
    """No --raw_dir / --processed: the synthetic files sit where data/README.md says
    (DATA_DIR/raw/, with --data_dir pointing at a temporary data/cikm), written by the
    converter's defaults exactly as data/README.md's quick check does."""
    raw = str(tmp_path / "cikm" / "raw")
    subprocess.run([sys.executable, "-m", "irecgan.cli.prepare_cikm", "--synthetic_out=" + raw],
                   cwd=ROOT, check=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")),
                   stdout=subprocess.DEVNULL)
    runs, out = str(tmp_path / "runs"), str(tmp_path / "results")
    text = run_script(["run_cikm.sh", "--data_dir=" + str(tmp_path / "cikm"), "--runs=" + runs,
                       "--out=" + out], tmp_path, "cikm")
    assert "8 runs to do" in text
    table = open(os.path.join(out + "_smoke", "table.md")).read()
    assert "irecgan" in table and "32.89" in table  # our rows and the published LSTM figure


def run_ablation_table(out, *runs):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "ablation_table.py"),
                           "--out=" + out] + list(runs), cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)


def test_ablation_table_counts_run_sim_runs_as_their_variants(sim_smoke_local, tmp_path):
    # a run's variant comes from its flags, not its folder: SMOKE=1 run_sim.sh's irecgan /
    # irecgan_nod / pg runs (configs/smoke.cfg: --offline_ratio=2 --agent_epochs=2) are
    # authors_r2 / nod_r2 / pg_2ep (at the CPU preset: authors_r10 / nod_r10 / pg_10ep)
    runs, _, _ = sim_smoke_local
    proc = run_ablation_table(str(tmp_path / "ab"), runs + "_smoke/runs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(str(tmp_path / "ab" / "table.csv")) as handle:
        rows = list(csv.DictReader(handle))
    cells = dict(((r["dataset"], r["variant"]), r) for r in rows)
    for dataset in ("mdp_random", "mdp_sharp", "neural"):
        for variant in ("authors_r2", "nod_r2", "pg_2ep"):
            assert cells[(dataset, variant)]["seeds"] == "1 2"
        diff = cells[(dataset, "authors_r2 - nod_r2")]
        assert diff["kind"] == "paired_diff" and diff["reward_n"] == "2"
        # D's held-out figures exist for irecgan only
        assert 0.0 <= float(cells[(dataset, "authors_r2")]["d_acc_pre_mean"]) <= 1.0
        assert cells[(dataset, "nod_r2")]["d_acc_pre_n"] == "0"
    assert not any(r["variant"].startswith("lstm") for r in rows)


def test_ablation_table_refuses_a_cell_of_mixed_settings(sim_smoke_local, tmp_path):
    import shutil
    runs, _, _ = sim_smoke_local
    src = os.path.join(runs + "_smoke", "runs", "mdp_random", "irecgan")
    for seed in ("seed1", "seed2"):
        shutil.copytree(os.path.join(src, seed), str(tmp_path / "r" / seed))
    config = str(tmp_path / "r" / "seed2" / "config.json")
    with open(config) as handle:
        saved = json.load(handle)
    saved["pretrain_cache"] = ""   # a run without the cache: the same numbers (UNBOUND_KEYS)
    with open(config, "w") as handle:
        json.dump(saved, handle)
    proc = run_ablation_table(str(tmp_path / "ab0"), str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved["hidden"] = saved["hidden"] + 1
    with open(config, "w") as handle:
        json.dump(saved, handle)
    proc = run_ablation_table(str(tmp_path / "ab"), str(tmp_path / "r"))
    assert proc.returncode != 0
    assert "mdp_random / authors_r2 differ in hidden" in proc.stderr
    shutil.copytree(os.path.join(src, "seed1"), str(tmp_path / "s" / "a"))
    shutil.copytree(os.path.join(src, "seed1"), str(tmp_path / "s" / "b"))
    proc = run_ablation_table(str(tmp_path / "ab2"), str(tmp_path / "s"))
    assert proc.returncode != 0 and "has a seed twice" in proc.stderr


def test_compare_tables_ignores_wall_time_and_names_every_difference(tmp_path):
    header = "dataset,method,source,online_reward_mean,wall_time_s_mean\n"
    first = tmp_path / "a.csv"
    first.write_text(header + "mdp,pg,ours,3.5,10\nmdp,lstm,ours,3.4,9\n")
    same = tmp_path / "b.csv"
    same.write_text(header + "mdp,lstm,ours,3.4,99\nmdp,pg,ours,3.5,12\n")  # order, wall time
    other = tmp_path / "c.csv"
    other.write_text(header + "mdp,pg,ours,3.50001,10\nneural,pg,ours,2.0,5\n")
    script = os.path.join(ROOT, "scripts", "compare_tables.py")

    def compare(a, b):
        return subprocess.run([sys.executable, script, str(a), str(b)],
                              stdout=subprocess.PIPE, universal_newlines=True)

    ok = compare(first, same)
    assert ok.returncode == 0, ok.stdout
    assert "2 rows compared, 0 differences" in ok.stdout
    bad = compare(first, other)
    assert bad.returncode == 1
    assert "mdp/pg/ours: online_reward_mean '3.5' != '3.50001'" in bad.stdout
    assert "mdp/lstm/ours: only in the first table" in bad.stdout
    assert "neural/pg/ours: only in the second table" in bad.stdout
    assert compare(first, tmp_path / "missing.csv").returncode == 2


def test_cpu_fingerprint_is_repeatable_and_the_oneDNN_cap_no_longer_moves_it():
    from irecgan.tfcompat import TF_VERSION
    script = os.path.join(ROOT, "scripts", "cpu_fingerprint.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))

    def fingerprint(*args):
        proc = subprocess.run([sys.executable, script] + list(args), env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return dict(line.split() for line in proc.stdout.splitlines())

    first = fingerprint()
    assert sorted(first) == ["fingerprint", "log_softmax", "matmul_long_k", "matmul_short_k",
                             "reduce_sum", "tanh_sigmoid"]
    assert all(len(value) == 12 for value in first.values())
    assert fingerprint() == first  # same machine, same bytes
    # the package's own kernel, named explicitly, is the default
    assert fingerprint("--matmul=eigen") == first
    # with the package's pins no oneDNN code is left under any of these kernels: a narrower
    # instruction set for oneDNN (as an older CPU would run) changes no byte
    assert fingerprint("--isa=SSE41") == first
    flags = ""
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    if TF_VERSION.startswith("2.") and " avx2" in flags:
        # the former kernel, oneDNN's sgemm, rounds otherwise under another cap (which is what
        # made the tables depend on the CPU); the elementwise kernels never moved
        onednn = fingerprint("--matmul=onednn")
        other = fingerprint("--matmul=onednn", "--isa=SSE41")
        assert other["matmul_short_k"] != onednn["matmul_short_k"]
        assert other["matmul_long_k"] != onednn["matmul_long_k"]
        assert other["log_softmax"] == onednn["log_softmax"] == first["log_softmax"]
        assert other["fingerprint"] != onednn["fingerprint"]


def load_compare_tables():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "compare_tables", os.path.join(ROOT, "scripts", "compare_tables.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_tables_welch_and_holm_match_hand_computed_cases():
    from scipy import stats
    ct = load_compare_tables()
    # t = 0.5 / sqrt(0.1^2/5 * 2) = 7.906, dof = 8: p = 2 * P(T_8 > 7.906)
    assert abs(ct.welch(3.5, 0.1, 5, 3.0, 0.1, 5) - 2 * stats.t.sf(0.5 / 0.004 ** 0.5, 8)) < 1e-12
    ref = stats.ttest_ind_from_stats(3.62, 0.23, 5, 3.636, 0.2, 10, equal_var=False)
    assert abs(ct.welch(3.62, 0.23, 5, 3.636, 0.2, 10) - ref.pvalue) < 1e-12
    assert ct.welch(1.0, 0.0, 5, 1.0, 0.0, 5) == 1.0   # deterministic cells: equal or not
    assert ct.welch(1.0, 0.0, 5, 1.1, 0.0, 5) == 0.0
    # Holm at 0.05 over 4: 0.01 <= 0.05/4 rejected; 0.03 > 0.05/3 stops the procedure
    assert ct.holm([0.01, 0.04, 0.03, 0.5]) == [True, False, False, False]
    assert ct.holm([0.001, 0.012, 0.02, 0.04]) == [True, True, True, True]
    assert ct.holm([]) == []


def test_compare_tables_stat_mode_counts_cells_beyond_chance_only(tmp_path):
    header = ("dataset,method,source,online_reward_mean,online_reward_std,online_reward_n,"
              "wall_time_s_mean\n")
    committed = tmp_path / "a.csv"
    committed.write_text(header + "mdp,pg,ours,3.50,0.20,5,10\nmdp,lstm,ours,3.40,0.20,5,9\n"
                         "neural,pg,ours,2.0,0.1,5,3\n")
    # a rerun of the mdp rows only, on another CPU: other last digits, within the seeds' spread
    rerun = tmp_path / "b.csv"
    rerun.write_text(header + "mdp,pg,ours,3.51,0.21,5,11\nmdp,lstm,ours,3.40,0.20,5,9\n")
    shifted = tmp_path / "c.csv"
    shifted.write_text(header + "mdp,pg,ours,4.50,0.20,5,11\nmdp,lstm,ours,3.40,0.20,5,9\n")
    script = os.path.join(ROOT, "scripts", "compare_tables.py")

    def compare(*args):
        return subprocess.run([sys.executable, script] + [str(a) for a in args],
                              stdout=subprocess.PIPE, universal_newlines=True)

    assert compare(committed, rerun).returncode == 1    # bytes differ
    same = compare("--stat", committed, rerun)
    assert same.returncode == 0, same.stdout
    assert "0 cells differ beyond chance at 95 % (Holm over 2 cells tested" in same.stdout
    assert "not compared: neural/pg/ours (only in the first table)" in same.stdout
    moved = compare("--stat", committed, shifted)
    assert moved.returncode == 1, moved.stdout
    assert "mdp/pg/ours: online_reward 3.5 vs 4.5" in moved.stdout
    assert "1 cells differ beyond chance" in moved.stdout
    assert compare("--stat", committed).returncode == 2


def test_run_sim_shares_pretraining_in_one_process_per_log_and_seed(sim_smoke_local, tmp_path):
    # SMOKE=1 run_sim.sh (conftest): the runs of a (log, seed) ran in one irecgan.cli.sweep
    # process, irecgan_nod before irecgan, and irecgan restored irecgan_nod's pretraining from
    # RUNS/pretrain_cache (the same for pg and lstm, which share nothing with each other)
    runs, _, text = sim_smoke_local
    image = os.path.dirname(os.path.dirname(runs))
    root = os.path.relpath(runs + "_smoke", image)   # as run_sim.sh names it: runs/sim_smoke
    cache = os.path.join(root, "pretrain_cache")
    lines = text.splitlines()
    for dataset in ("mdp_random", "mdp_sharp", "neural"):
        for seed in ("seed1", "seed2"):
            def log(method):
                with open(os.path.join(image, root, "runs", dataset, method, seed + ".log")) as h:
                    return h.read()
            first = "done %s" % os.path.join(root, "runs", dataset, "irecgan_nod", seed)
            second = "done %s" % os.path.join(root, "runs", dataset, "irecgan", seed)
            assert lines.index(first) < lines.index(second)
            stored = [l for l in log("irecgan_nod").splitlines()
                      if l.startswith("pretraining stored in %s/" % cache)]
            assert len(stored) == 1, log("irecgan_nod")
            key = stored[0].rsplit("/", 1)[1]
            assert ("pretraining (user epoch 2) restored from %s/%s" % (cache, key)
                    in log("irecgan").splitlines())
            assert "restored from" not in log("pg") + log("lstm")
    # the restored run's files are the bytes of an irecgan-train process without the cache
    shared = os.path.join(image, root, "runs", "mdp_sharp", "irecgan", "seed1")
    alone = str(tmp_path / "alone")
    proc = subprocess.run(
        [sys.executable, "-m", "irecgan.cli.train", "--flagfile=configs/smoke.cfg",
         "--method=irecgan", "--data=%s/data/mdp_sharp.log" % root, "--n_items=50", "--k=10",
         "--split=fold", "--env_params=%s/data/mdp_sharp.params.npz" % root, "--seed=1",
         "--threads=1", "--progress=false", "--run_dir=" + alone], cwd=image,
        env=dict(os.environ, PYTHONPATH=os.path.join(image, "src")), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    configs = []
    for run_dir in (shared, alone):
        with open(os.path.join(run_dir, "config.json")) as handle:
            configs.append(json.load(handle))
    assert configs[0].pop("pretrain_cache") == cache and configs[1].pop("pretrain_cache") == ""
    assert configs[0] == configs[1]   # the same run but for the cache
    for name in ("metrics.jsonl", "results.json"):
        with open(os.path.join(shared, name), "rb") as a, open(os.path.join(alone, name), "rb") as b:
            assert a.read() == b.read(), name


def test_run_sim_job_lines_group_a_log_and_seed_in_sharing_order(tmp_path):
    # --report_only writes the jobs file and runs nothing (no log is made)
    def jobs(name, *extra):
        runs = str(tmp_path / name)
        proc = subprocess.run(
            ["bash", os.path.join(ROOT, "run_sim.sh"), "--report_only", "--runs=" + runs,
             "--out=" + str(tmp_path / "out"), "--datasets=mdp_sharp",
             "--methods=irecgan irecgan_true irecgan_nod pg"] + list(extra), cwd=ROOT,
            env=dict(os.environ, SMOKE="1", PY=sys.executable,
                     PYTHONPATH=os.path.join(ROOT, "src")),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
            timeout=300)
        assert "8 runs to do" in proc.stdout, proc.stdout[-3000:]
        with open(os.path.join(runs + "_smoke", "jobs.txt")) as handle:
            return runs + "_smoke", handle.read().splitlines()
    order = ("pg", "irecgan_true", "irecgan_nod", "irecgan")
    runs, lines = jobs("one")
    assert len(lines) == 2   # one irecgan.cli.sweep per seed
    for seed, line in zip(("1", "2"), lines):
        words = shlex.split(line)
        assert words[1:3] == ["-m", "irecgan.cli.sweep"]
        specs = [w[len("--run="):] for w in words if w.startswith("--run=")]
        assert [re.search(r"--run_dir=(\S+)", s).group(1) for s in specs] == [
            "%s/runs/mdp_sharp/%s/seed%s" % (runs, m, seed) for m in order]
        assert all(" --seed=%s --pretrain_cache=%s/pretrain_cache --threads=1 " % (seed, runs)
                   in s for s in specs)
    runs, lines = jobs("own", "--no_pretrain_cache", "--process_per_run")
    assert len(lines) == 2 and "--pretrain_cache" not in "".join(lines)
    assert [re.findall(r"irecgan.cli.train .*?--run_dir=(\S+)", l) for l in lines] == [
        ["%s/runs/mdp_sharp/%s/seed%s" % (runs, m, seed) for m in order] for seed in "12"]
