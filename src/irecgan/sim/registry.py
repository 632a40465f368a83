"""Which simulator a parameter file holds, and what each simulator offers (numpy only).

`load_environment(path)`: the simulator of a parameter file; `item_count(path)`: its items.
"""
import numpy as np

from irecgan.errors import UserError
from irecgan.sim import mdp as mdp_sim
from irecgan.sim import neural as neural_sim
from irecgan.sim import recsim_env
from irecgan.sim.paramfile import read_kind


def load_environment(path):
    """The simulator whose parameters are in `path` (an MDP, a neural oracle or a RecSim file; a
    neural user samples its clicks when the file says the log was written so)."""
    kind = read_kind(path)
    if kind == mdp_sim.KIND:
        return mdp_sim.MDP.load(path)
    if kind == neural_sim.KIND:
        user_params, _ = neural_sim.load_params(path)
        switches = neural_sim.load_switches(path)
        return neural_sim.NeuralUser(user_params, sample_click=switches["sample_click"])
    if kind == recsim_env.KIND:
        return recsim_env.RecSimWorld.load(path)
    raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))


def item_count(path):
    """The number of items (raw ids 0..n-1) of the simulator whose parameters are in `path`;
    `UserError` when the file is no simulator parameter file. Numpy only: the MDP and the neural
    user are loaded (and so checked) in full, a RecSim file is read without RecSim."""
    kind = read_kind(path)
    if kind == mdp_sim.KIND:
        return mdp_sim.MDP.load(path).n_items
    if kind == neural_sim.KIND:
        return neural_sim.NeuralUser(neural_sim.load_params(path)[0]).n_items
    if kind == recsim_env.KIND:
        return int(np.asarray(recsim_env.load_arrays(path)["features"]).shape[0])
    raise UserError("%s holds no simulator parameters (kind %r)" % (path, kind))
