"""The benchmark scripts still run (smoke runs at tiny sizes: the figures are not checked, only
that each script finishes, prints its last line and records what it promises), and the
benchmark's length matching computes what its docstring says."""
import json
import os
import re
import subprocess
import sys

import pytest

from bench_import import load_benchmark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


def run_script(name, *args):
    out = subprocess.run([sys.executable, os.path.join(BENCH, name), "--quick"] + list(args),
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()


def check_record(path, benchmark):
    with open(path) as f:
        record = json.load(f)
    assert record["benchmark"] == benchmark
    env = record["environment"]
    for key in ("commit", "tensorflow", "numpy", "python", "cpu_model", "cpus"):
        assert key in env
    assert env["tensorflow"] and env["numpy"] and env["python"] and env["cpu_model"]
    if os.path.exists(os.path.join(ROOT, ".git")):  # a checkout (CI), not a copied tree
        assert re.match(r"^[0-9a-f]{40}$", env["commit"] or "")
    for moment in ("machine_before", "machine_after"):
        assert "load_average" in record[moment] and "busy_processes" in record[moment]
    assert record["args"]["quick"] is True
    return record


def test_generation_benchmark_quick_prints_its_last_line_and_records(tmp_path):
    path = str(tmp_path / "generation.json")
    lines = run_script("generation.py", "--profile", "--record", path)
    match = re.match(r"^speedup_vs_reference: (\d+\.\d)$", lines[-1])
    assert match, lines[-1]
    record = check_record(path, "generation")
    figures = record["figures"]
    assert figures["speedup_vs_reference"] == pytest.approx(float(match.group(1)), abs=0.051)
    assert [size["items"] for size in figures["sizes"]] == [50, 500]
    sim = figures["sizes"][0]
    for key in ("q_d", "no_q_d"):
        assert sim[key]["batched"]["steps"] > 0 and sim[key]["reference"]["steps"] > 0
    assert sim["profile"]["op_ms_total"] > 0


def test_training_benchmark_quick_prints_its_last_line_and_records(tmp_path):
    path = str(tmp_path / "training.json")
    lines = run_script("training.py", "--record", path)
    match = re.match(r"^fraction_of_matmul_peak: (\d+\.\d{3})$", lines[-1])
    assert match, lines[-1]
    record = check_record(path, "training")
    assert record["figures"]["fraction_of_matmul_peak"] == pytest.approx(
        float(match.group(1)), abs=0.0006)


def test_model_steps_benchmark_quick_prints_its_last_line_and_records(tmp_path):
    path = str(tmp_path / "model_steps.json")
    lines = run_script("model_steps.py", "--record", path)
    match = re.match(r"^d_step_ms_whole: (\d+\.\d)$", lines[-1])
    assert match, lines[-1]
    figures = check_record(path, "model_steps")["figures"]
    assert figures["whole"]["d_step_ms"] == pytest.approx(float(match.group(1)), abs=0.051)
    for path_name in ("whole", "gathered"):
        for key in ("d_step_ms", "u_step_ms", "a_step_ms"):
            assert figures[path_name][key] > 0


@pytest.fixture(scope="module")
def bench_generation():
    return load_benchmark("generation")


def test_reference_rate_is_taken_at_the_batched_length_mix(bench_generation):
    # reference: sessions of length 2 took 1 s and 3 s (mean 2 s), one of length 4 took 6 s.
    # batched lengths [2, 2, 4]: 8 steps that the reference would do in 2 + 2 + 6 = 10 s
    rate, missing = bench_generation.matched_rate([2, 2, 4], [2, 2, 4], [1.0, 3.0, 6.0])
    assert rate == pytest.approx(0.8)  # 8 / 10
    assert missing == []
    # its raw rate (8 steps in 10 s) would be the same only by chance: with batched lengths
    # [4, 4] it is 8 / (6 + 6) = 0.667
    assert bench_generation.matched_rate([4, 4], [2, 2, 4], [1.0, 3.0, 6.0])[0] == \
        pytest.approx(8.0 / 12.0)


def test_a_length_the_reference_never_produced_is_scaled_from_the_nearest(bench_generation):
    # length 5 is missing; the nearest is 4 (6 s): 6 * 5 / 4 = 7.5 s; steps 5 + 2 = 7
    rate, missing = bench_generation.matched_rate([5, 2], [2, 4], [2.0, 6.0])
    assert missing == [5]
    assert rate == pytest.approx(7.0 / (7.5 + 2.0))


@pytest.mark.slow  # three interpreters importing TensorFlow: ~35 CPU-s
def test_profile_quick_records_the_phases_and_leaves_the_run_byte_identical(tmp_path):
    """benchmarks/run_profile.py on a 300-session MDP log (toy sizes): the record holds the
    process start, the phases of an irecgan run with their session.run calls, and the profiled
    run's metrics.jsonl and results.json equal those of irecgan-train with the same flags."""
    log, params = str(tmp_path / "mdp.log"), str(tmp_path / "mdp.params.npz")
    subprocess.run([sys.executable, "-m", "irecgan.cli.simulate", "--env=mdp", "--sessions=300",
                    "--seed=1", "--out=" + log, "--params_out=" + params, "--eval_sessions=0"],
                   cwd=ROOT, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")))
    train = ["--method=irecgan", "--data=" + log, "--n_items=50", "--k=10", "--split=fold",
             "--env_params=" + params, "--seed=1", "--threads=1", "--embed_dim=8", "--hidden=8",
             "--agent_epochs=1", "--user_epochs=1", "--adv_epochs=1", "--gen_sessions=8",
             "--d_pretrain_sessions=16", "--online_sessions=20", "--batch_size=16",
             "--d_heldout_sessions=8", "--d_epochs=1"]
    reference = str(tmp_path / "reference")
    subprocess.run([sys.executable, "-m", "irecgan.cli.train", "--run_dir=" + reference,
                    "--progress=false"] + train, cwd=ROOT, check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, env=dict(os.environ,
                                                    PYTHONPATH=os.path.join(ROOT, "src")))
    path = str(tmp_path / "profile.json")
    out = subprocess.run([sys.executable, os.path.join(BENCH, "run_profile.py"), "--label=toy",
                          "--record=" + path, "--check_against=" + reference, "--"] + train,
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.match(r"^profiled_run_cpu_s: \d+\.\d$", out.stdout.strip().splitlines()[-1])
    with open(path) as f:
        case = json.load(f)["cases"][0]
    assert case["byte_identical_to"]["files"] == {"metrics.jsonl": True, "results.json": True}
    steps = [s["step"] for s in case["process_start"]["steps"]]
    assert steps[:2] == ["import irecgan", "import tensorflow"]
    phases = dict((r["phase"], r) for r in case["phases"])
    for name in ("pretrain agent", "pretrain user", "D pretraining: D updates",
                 "g-steps: rollouts + D scoring", "d-steps: D updates", "online evaluation"):
        assert phases[name]["calls"] > 0, name
    assert sum(r["calls"] for r in case["phases"]) == case["run"]["session_run_calls"]
    assert phases["d-steps: D updates"]["ops_per_call"] > 0


def test_records_hold_no_absolute_path_of_the_machine_that_made_them():
    common = load_benchmark("_common")
    cut = common.without_machine_paths
    assert cut("/work/x/.venv/bin/python -m a --data=/tmp/y/z.log b/c") == (
        ".../python -m a --data=.../z.log b/c")
    assert cut('{"A": "/etc/ssl/cert.pem", "B": "rel/dir/f"}') == (
        '{"A": ".../cert.pem", "B": "rel/dir/f"}')
    assert cut("python /x.py ./runs/a/b ~/a/b") == "python /x.py ./runs/a/b ~/a/b"
    results = os.path.join(BENCH, "results")
    for name in sorted(os.listdir(results)):
        with open(os.path.join(results, name)) as f:
            text = f.read()
        assert cut(text) == text, name
