"""Small numpy helpers shared by training and evaluation."""
import numpy as np

SEED_MAX = 2 ** 31 - 1


def sigmoid(x):
    """The logistic function in float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def new_seed(rng):
    """A seed for the stateless random ops (int64 [2]), drawn from a numpy RandomState."""
    return np.array([rng.randint(SEED_MAX), rng.randint(SEED_MAX)], np.int64)
