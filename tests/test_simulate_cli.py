"""`irecgan-simulate` end to end, in subprocesses (irecgan.cli.simulate)."""
import os
import subprocess
import sys

import pytest

from irecgan.data.logfile import read_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def simulate(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.simulate"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def read_bytes(path):
    with open(str(path), "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("env,policy", [("mdp", "mix"), ("neural", None)])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, env, policy):
    extra = ["--env=" + env, "--sessions=300", "--eval_sessions=100"]
    if policy:
        extra.append("--policy=" + policy)
    outs = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = str(tmp_path / (name + ".log"))
        rc, stdout, stderr = simulate("--seed=%d" % seed, "--out=" + out, *extra)
        assert rc == 0, stderr
        outs.append((read_bytes(out), read_bytes(out + ".params.npz"),
                     stdout.replace(out, "OUT")))
    assert outs[0] == outs[1]
    assert outs[0][0] != outs[2][0] and outs[0][1] != outs[2][1]
    sessions, report = read_log(str(tmp_path / "a.log"))  # strict reader, SPEC 2.1 filters
    assert len(sessions) == 300 and report.sessions_found == 300
    assert all(2 <= len(s.clicks) <= (40 if env == "mdp" else 5) for s in sessions)
    stdout = outs[0][2]
    assert "sessions:            300 " in stdout
    assert "mean session length:" in stdout and "mean reward/session:" in stdout
    if env == "neural":
        assert "purchase rate:" in stdout and "logging  reward/session" in stdout
    else:
        for name in ("random", "max", "mix"):
            assert "\n  %-8s reward/session" % name in stdout


def test_params_file_reproduces_the_log(tmp_path):
    first, second = str(tmp_path / "first.log"), str(tmp_path / "second.log")
    params = str(tmp_path / "mdp.npz")
    rc, _, err = simulate("--policy=random", "--sessions=200", "--seed=3", "--out=" + first,
                          "--params_out=" + params, "--eval_sessions=0")
    assert rc == 0, err
    assert not os.path.exists(first + ".params.npz")
    # another seed for the sessions would change them: keep 3, but the parameters come from the
    # file, which must give the very same MDP
    rc, out, err = simulate("--policy=random", "--sessions=200", "--seed=3", "--out=" + second,
                            "--params=" + params, "--eval_sessions=0")
    assert rc == 0, err
    assert "loaded from" in out
    assert read_bytes(first) == read_bytes(second)
    assert read_bytes(params) == read_bytes(second + ".params.npz")


@pytest.mark.parametrize("args,message", [
    (["--policy=greedy"], "--policy must be one of random, max, mix, belief"),
    (["--sessions=0"], "--sessions must be >= 1"),
    (["--sessions=abc"], "--sessions"),
    (["--env=bandit"], "--env must be one of mdp, neural"),
    (["--env=neural", "--policy=max"], "--policy must be one of logging, oracle, random"),
    (["--env=neural", "--transition_temperature=0.1"], "--transition_temperature applies to "
     "--env=mdp only"),
    (["--transition_temperature=0"], "--transition_temperature must be > 0"),
    (["--states=0"], "--states must be >= 1"),
    (["--items=5"], "--list_size (10) must not exceed --items (5)"),
    (["--no_such_flag=1"], "no_such_flag"),
    (["--sample_click"], "apply to --env=neural only"),
    (["--params=/nonexistent/p.npz"], "does not exist"),
    (["--out=/nonexistent/dir/x.log"], "does not exist"),
    (["stray"], "unexpected argument"),
])
def test_bad_flags_are_one_line_errors_with_status_2(tmp_path, args, message):
    # absl: a later --flag overrides an earlier one
    rc, stdout, stderr = simulate("--sessions=10", "--out=" + str(tmp_path / "x.log"), *args)
    assert rc == 2
    assert stderr.count("\n") == 1 and stderr.startswith("error: ") and message in stderr
    assert "Traceback" not in stderr
    assert not os.path.exists(str(tmp_path / "x.log"))


def test_missing_out_is_an_error():
    rc, _, stderr = simulate("--sessions=10")
    assert rc == 2 and "--out=FILE is required" in stderr


def test_help_lists_the_flags():
    _, stdout, stderr = simulate("--help")  # absl exits with status 1 after --help
    assert "--env" in stdout + stderr and "--params_out" in stdout + stderr
    assert "Unknown command line flag" not in stderr


def _reward(stdout, name):
    for line in stdout.splitlines():
        if line.startswith("  %-8s reward/session" % name):
            return float(line.split()[2])
    raise AssertionError("no online line for %s in\n%s" % (name, stdout))


def test_mdp_belief_policy_and_knobs_print_their_rewards(tmp_path):
    out = str(tmp_path / "sharp.log")
    rc, stdout, stderr = simulate("--env=mdp", "--policy=belief", "--seed=1", "--sessions=100",
                                  "--eval_sessions=300", "--transition_temperature=0.05",
                                  "--out=" + out)
    assert rc == 0, stderr
    assert "env:                 mdp (policy belief)" in stdout
    assert "world:               10 states, 50 items, lists of 10, transition temperature " \
           "0.05" in stdout
    random, belief, best = (_reward(stdout, n) for n in ("random", "belief", "max"))
    assert random < belief < best  # measured: 2.06 < 5.73 < 10.25 at 500 sessions
    from irecgan.sim import mdp as M
    back = M.MDP.load(out + ".params.npz")
    assert back.transition_temperature == 0.05
    small = str(tmp_path / "small.log")
    rc, stdout, stderr = simulate("--env=mdp", "--seed=1", "--sessions=50", "--states=3",
                                  "--items=12", "--list_size=4", "--eval_sessions=0",
                                  "--out=" + small)
    assert rc == 0, stderr
    back = M.MDP.load(small + ".params.npz")
    assert (back.n_states, back.n_items, back.list_size) == (3, 12, 4)


def test_neural_oracle_and_sampling_switches_travel_with_the_parameters(tmp_path):
    out = str(tmp_path / "n.log")
    rc, stdout, stderr = simulate("--env=neural", "--policy=oracle", "--seed=1",
                                  "--sessions=100", "--eval_sessions=200", "--sample_click",
                                  "--sample_list", "--out=" + out)
    assert rc == 0, stderr
    assert "world:               sampled clicks, sampled logging lists" in stdout
    assert _reward(stdout, "oracle") > _reward(stdout, "logging") + 1.0  # measured 3.83 vs 1.80
    # reusing the file keeps its switches unless a flag says otherwise
    again = str(tmp_path / "again.log")
    rc, stdout, stderr = simulate("--env=neural", "--seed=1", "--sessions=20", "--eval_sessions=0",
                                  "--params=" + out + ".params.npz", "--out=" + again)
    assert rc == 0, stderr
    assert "sampled clicks, sampled logging lists" in stdout
    rc, stdout, stderr = simulate("--env=neural", "--seed=1", "--sessions=20", "--eval_sessions=0",
                                  "--params=" + out + ".params.npz", "--nosample_click",
                                  "--out=" + again)
    assert rc == 0, stderr
    assert "argmax clicks, sampled logging lists" in stdout
