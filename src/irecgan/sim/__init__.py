"""Simulators (numpy only, explicit RandomState): the MDP of SPEC 8 and the neural oracle of SPEC 8b."""
