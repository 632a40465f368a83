"""Every configuration value checked (issue 25): `config.resolve` validates the resolved
configuration against `config.RULES` (one rule per key of DEFAULTS) and the combinations
that cannot work, before any data is read or graph built; a bad value is one line naming the
flag, the value and what is allowed. The other programs' flags likewise, through their CLIs."""
import math
import os

import numpy as np
import pytest

from irecgan.config import DEFAULTS, RULES, resolve
from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from test_report import test_p, write_run
from test_runner import cli, own_lines, train_args
from tiny_logs import write_mdp_log

NAN, INF = float("nan"), float("inf")

# at least one bad value for every key of DEFAULTS (test_every_key_has_a_rule_a_bad_value_...
# keeps this table complete)
BAD = {
    "method": ["gan", 1],
    "data": ["", None],
    "split": ["random"],
    "split_file": [3],
    "split_ratios": [[0.5, 0.2], [0.9, 0.2, -0.1], [0.8, 0.1, 0.2], "0.8,0.1,0.1"],
    "n_items": [-5, 2.5],
    "symbols": [4, -1],
    "lenient": ["yes", 1],
    "seed": [-1, 2 ** 31],
    "embed_dim": [0, -1],
    "hidden": [0, -1],
    "layers": [0],
    "k": [0, -1, 2.5, True],
    "batch_size": [0, -3],
    "bucket_window": [-1],
    "batch_weighting": ["steps"],
    "agent_epochs": [-1],
    "user_epochs": [-2],
    "agent_lr": [0.0, NAN, -1e-4],
    "user_lr": [-5e-4, "fast"],
    "disc_lr": [INF],
    "clip_norm": [0.0, -5.0],
    "gamma": [1.5, -0.1, NAN],
    "lambda_r": [-1.0],
    "lambda_p": [-0.5, INF],
    "purchase_weight": ["0", "-3", "nan", "heavy", 0],
    "threads": [-1],
    "schedule": ["fast"],
    "adv_epochs": [-1],
    "g_steps": [-1],
    "d_steps": [-1],
    "d_epochs": [-1],
    "d_bucket_window": [-1, 1.5],
    "d_data": ["n"],
    "d_head": ["seq", 1],
    "agent_objective": ["ppo", 1],
    "normalize_advantage": ["yes", 1],
    "fused_lstm": ["yes", 1],
    "agent_q_d": ["yes", 1],
    "topk_propensity": ["known"],
    "topk_weight_cap": [0.0, -1.0, NAN],
    "logged_term": ["advantage", 1],
    "own_clicks": ["all", 1],
    "aux_lr": [0.0, NAN],
    "gen_temperature": [0.0, -0.5, NAN],
    "d_heldout_sessions": [-1],
    "gen_sessions": [0],
    "d_pretrain_sessions": [-1],
    "offline_ratio": [-0.1, "many"],
    "pool_size": [0],
    "n_rollouts": [0, -2],
    "max_len": [1, -1],
    "env_params": ["/nonexistent/sim.npz", 7],
    "online_sessions": [0],
    "online_seed": [-1, 2 ** 32],
    "online_every": [-1],
    "pretrain_cache": [3, None],
}
CASES = [(key, value) for key in sorted(BAD) for value in BAD[key]]


def shown(value):
    """How a message shows `value`: the list as typed on the command line, else repr."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(x) for x in value)
    return repr(value)


def test_every_key_has_a_rule_a_bad_value_and_its_default_passes():
    assert set(RULES) == set(DEFAULTS)
    assert set(BAD) == set(DEFAULTS)
    for key, value in DEFAULTS.items():
        if key != "data":   # the one key without a usable default
            expected = list(value) if isinstance(value, tuple) else value
            kept = RULES[key](value)
            assert kept == expected and type(kept) is type(expected), key
    config = resolve({"data": "some.log"})
    assert config == dict(DEFAULTS, data="some.log",
                          split_ratios=list(DEFAULTS["split_ratios"]))


@pytest.mark.parametrize("key,value", CASES, ids=["%s=%r" % case for case in CASES])
def test_a_bad_value_of_any_key_is_one_line_naming_flag_and_value(key, value):
    overrides = {"data": "some.log"}
    overrides[key] = value
    with pytest.raises(UserError) as err:
        resolve(overrides)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("--%s" % key), message
    # a path may be named as it is (the parameter file's own message)
    assert (message.endswith(", got " + shown(value))
            or (isinstance(value, str) and value and value in message)), message


def test_values_are_normalised():
    config = resolve({"data": "some.log", "offline_ratio": "0.1", "gamma": 1,
                      "purchase_weight": 3, "k": np.int64(5),
                      "split_ratios": ("1", 0, 0)})
    assert config["offline_ratio"] == 0.1 and config["gamma"] == 1.0
    assert type(config["gamma"]) is float
    assert config["purchase_weight"] == "3"
    assert config["k"] == 5 and type(config["k"]) is int
    assert config["split_ratios"] == [1.0, 0.0, 0.0]
    # the edges of the ranges are allowed
    config = resolve({"data": "some.log", "gamma": 0.0, "max_len": 2,
                      "agent_epochs": 0, "threads": 0, "online_seed": 2 ** 32 - 1,
                      "lambda_r": 0.0, "k": 50, "n_items": 50})
    assert config["max_len"] == 2 and config["online_seed"] == 2 ** 32 - 1


@pytest.fixture(scope="module")
def sim_files(tmp_path_factory):
    """The tests' MDP log (50 items) and its parameter file."""
    return write_mdp_log(tmp_path_factory.mktemp("sim"))


def raises(match, **overrides):
    config = {"data": "some.log"}
    config.update(overrides)
    with pytest.raises(UserError) as err:
        resolve(config)
    assert match in str(err.value), str(err.value)
    return str(err.value)


def test_combinations_that_cannot_work(sim_files, tmp_path):
    log, params = sim_files
    raises("--split=file needs --split_file", split="file")
    raises("--method=irecgan_true needs --env_params (the true simulator answers the agent's "
           "lists)", method="irecgan_true")
    raises("--k must be at most --n_items (50), got 51", n_items=50, k=51)
    raises("--k must be at most the 6 items of --symbols=10", symbols=10, k=7)
    # the simulator of --env_params has 50 items
    raises("--k must be at most the 50 items of the simulator of --env_params=%s, got 60"
           % params, env_params=params, k=60)
    raises("--n_items must be at most the 50 items of the simulator of --env_params=%s, got 60"
           % params, env_params=params, n_items=60)
    small = str(tmp_path / "small.npz")
    mdp_sim.MDP.random(np.random.RandomState(0), n_items=8, list_size=5).save(small)
    raises("--k must be at most the 8 items", env_params=small, k=10)
    raises("--env_params: parameter file %s is not a .npz archive" % log, env_params=log)
    config = resolve({"data": log, "env_params": params, "n_items": 50, "k": 50})
    assert config["k"] == 50


# ------------------------------------------------------------------------------------------------
# The command-line programs, in subprocesses: exit 2, one `error:` line, no traceback, nothing
# written

def one_error_line(rc, stderr):
    assert rc == 2, stderr
    assert "Traceback" not in stderr
    lines = own_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


TRAIN_CASES = [
    # (extra flags, the error line after "error: "); PARAMS: the simulator's parameter file
    (["--n_items=0", "--k=60", "--env_params=PARAMS"],
     "--k must be at most the 50 items of the simulator of --env_params=PARAMS, got 60"),
    (["--method=irecgan", "--n_rollouts=0"],
     "--n_rollouts must be an integer in 1..2147483647, got 0"),
    (["--agent_epochs=-1"], "--agent_epochs must be an integer in 0..2147483647, got -1"),
    (["--gamma=1.5"], "--gamma must be a number in [0, 1], got 1.5"),
    # TF aborted the interpreter (SIGABRT, a core dump) on a negative thread count
    (["--threads=-1"], "--threads must be an integer in 0..2147483647, got -1"),
    (["--max_len=1"], "--max_len must be 0 or an integer in 2..2147483647, got 1"),
    (["--method=irecgan_true"], "--method=irecgan_true needs --env_params (the true simulator "
     "answers the agent's lists)"),
    # read from the data: a frequency vocabulary of the log's 50 items
    (["--n_items=0", "--k=60"], "--k must be at most the 50 items of the training vocabulary "
     "of LOG, got 60"),
]


@pytest.mark.parametrize("extra,message", TRAIN_CASES, ids=[" ".join(c[0]) for c in TRAIN_CASES])
def test_train_cli_bad_flag_is_one_line_and_writes_no_run_directory(sim_files, tmp_path, extra,
                                                                    message):
    log, params = sim_files
    run_dir = tmp_path / "run"
    extra = [arg.replace("PARAMS", params) for arg in extra]
    rc, stdout, stderr = cli("train", *train_args(log, run_dir, "pg", *extra))
    line = one_error_line(rc, stderr)
    assert line == "error: " + message.replace("PARAMS", params).replace("LOG", log)
    assert stdout == ""
    assert not os.path.exists(str(run_dir))


def test_simulate_cli_bad_flags(tmp_path):
    out = tmp_path / "x.log"
    cases = [
        (["--states=100000"], "--states=100000 and --items=50 give a transition table of "),
        (["--params=" + str(tmp_path / "no.npz")], "--params: parameter file %s does not exist"
         % (tmp_path / "no.npz")),
        (["--params_out=" + str(tmp_path)], "--params_out must name a file, got the directory"),
    ]
    for extra, message in cases:
        rc, stdout, stderr = cli("simulate", "--sessions=10", "--out=%s" % out, *extra)
        assert message in one_error_line(rc, stderr), extra
        assert os.listdir(str(tmp_path)) == []
    rc, stdout, stderr = cli("simulate", "--sessions=10", "--out=%s" % tmp_path)
    assert "--out must name a file, got the directory" in one_error_line(rc, stderr)


def test_evaluate_cli_bad_flags(tmp_path):
    missing = str(tmp_path / "no_run")
    rc, stdout, stderr = cli("evaluate", "--run_dir=" + missing)
    assert one_error_line(rc, stderr) == ("error: --run_dir must be an existing run directory, "
                                          "got %r" % missing)
    rc, stdout, stderr = cli("evaluate", "--run_dir=" + str(tmp_path), "test")
    assert one_error_line(rc, stderr).startswith("error: unexpected arguments: test")
    assert os.listdir(str(tmp_path)) == []


def test_report_cli_bad_flags(tmp_path):
    runs = tmp_path / "runs"
    write_run(str(runs), "alpha", "lstm", 1, test=test_p(10, 50, 100))
    out = tmp_path / "rep"
    a_file = tmp_path / "a_file"
    a_file.write_text(u"")
    cases = [
        (["--out=%s" % a_file], "error: --out must name a folder, got the file %s" % a_file),
        (["--policy_rows=%s" % (tmp_path / "no.json")],
         "error: --policy_rows: file %s does not exist" % (tmp_path / "no.json")),
        (["--env_params=d=%s" % (tmp_path / "no.npz")],
         "error: --env_params: parameter file %s does not exist" % (tmp_path / "no.npz")),
        (["--policy_sessions=0"], "error: --policy_sessions must be >= 1, got 0"),
        (["--policy_seeds=-1"], "error: --policy_seeds must lie in 0..4294967295, got -1"),
    ]
    for extra, message in cases:
        rc, stdout, stderr = cli("report", "--out=%s" % out, *(extra + [str(runs)]))
        assert one_error_line(rc, stderr) == message, extra
        assert stdout == "" and not os.path.exists(str(out))
