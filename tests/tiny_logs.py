"""Small simulator logs the tests train on (imported by the tests; conftest.py puts tests/ on
sys.path)."""
import os

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
