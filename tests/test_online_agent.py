"""The trained agent against the simulator (evaluation/agent_policy.py): greedy lists (our online figure)
and Gumbel-sampled lists (the authors' figure: clicks over sessions with at least one click)."""
import numpy as np

from irecgan import experiment
from irecgan.config import resolve
from irecgan.data.logfile import write_sessions
from irecgan.sim import mdp as mdp_sim

TINY = dict(embed_dim=4, hidden=8, layers=1, batch_size=16, agent_epochs=1, online_sessions=30,
            threads=1, n_items=50, method="lstm", seed=3, online_every=0)


def test_final_results_hold_greedy_and_sampled_online_figures(tmp_path):
    mdp = mdp_sim.MDP.random(np.random.RandomState(1))
    rng = np.random.RandomState(2)
    sessions, _ = mdp_sim.generate_log(mdp, mdp_sim.logging_policy(mdp, "random", rng), 120,
                                       rng)
    log, params = str(tmp_path / "mdp.log"), str(tmp_path / "mdp.npz")
    write_sessions(log, sessions)
    mdp.save(params)
    config = resolve(dict(TINY, data=log, env_params=params))
    first = experiment.run(str(tmp_path / "a"), config, show_progress=False, log=lambda m: None)
    again = experiment.run(str(tmp_path / "b"), config, show_progress=False, log=lambda m: None)
    greedy, sampled = first["online"], first["online_sampled"]
    assert sampled["n_sessions"] == greedy["n_sessions"] == 30
    assert sampled["clicks_mean_clicked"] >= sampled["clicks_mean"] > 0
    # a sampled list is not the greedy one: the figures differ, and repeat for the same seed
    assert sampled["coverage@10"] != greedy["coverage@10"]
    assert again["online_sampled"] == sampled and again["online"] == greedy
    assert 0.0 <= first["data"]["test_verbatim_share_pct"] <= 100.0
