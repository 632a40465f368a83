"""Small simulator logs the tests train on (imported by the tests; conftest.py puts tests/ on
sys.path)."""
import os
import subprocess

import numpy as np

from irecgan.data.logfile import write_sessions
from irecgan.sim import mdp as mdp_sim


def write_mdp_log(root, n_sessions=160, policy="random"):
    """The MDP of seed 1 and `n_sessions` sessions of its `policy` (seed 2), written to
    root/mdp.log with its parameter file root/mdp.npz; returns (log path, parameter path)."""
    mdp = mdp_sim.MDP.random(np.random.RandomState(1))
    rng = np.random.RandomState(2)
    sessions, _ = mdp_sim.generate_log(mdp, mdp_sim.logging_policy(mdp, policy, rng),
                                       n_sessions, rng)
    log, params = os.path.join(str(root), "mdp.log"), os.path.join(str(root), "mdp.npz")
    write_sessions(log, sessions)
    mdp.save(params)
    return log, params


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A tiny irecgan run with every phase (2 + 2 pretraining epochs, D pretraining, 2 adversarial
# epochs of (g, d, eval)): 11 checkpoints, seconds of CPU
TINY_IRECGAN = dict(embed_dim=4, hidden=8, layers=1, batch_size=16, agent_epochs=2,
                    user_epochs=2, adv_epochs=2, g_steps=1, d_steps=1, d_epochs=2,
                    gen_sessions=8, offline_ratio=2, n_rollouts=2, online_sessions=20, threads=1,
                    n_items=50, seed=3, method="irecgan")


def train_tiny(python, run_dir, log, params, env=None, **overrides):
    """`python -m irecgan.cli.train` of TINY_IRECGAN (with `overrides`) on `log` / `params` into
    `run_dir`, in a subprocess with os.environ updated by `env` (IRECGAN_FAULT_AT only when given
    there); returns (exit status, stderr)."""
    config = dict(TINY_IRECGAN, **overrides)
    full_env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    full_env.pop("IRECGAN_FAULT_AT", None)
    full_env.update(env or {})
    args = ["--%s=%s" % item for item in sorted(config.items())]
    proc = subprocess.run([python, "-m", "irecgan.cli.train", "--data=" + log,
                           "--env_params=" + params, "--run_dir=" + str(run_dir),
                           "--noprogress"] + args, cwd=ROOT, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    return proc.returncode, proc.stderr.decode("utf-8", "replace")
