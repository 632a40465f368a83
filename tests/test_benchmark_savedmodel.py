"""Acceptance (issue 23): the exported agent of a tiny run, scored by `irecgan-benchmark
--policy=savedmodel:DIR` on the run's simulator with the run's k, sessions and seed, gives
exactly the online figures the run recorded in results.json (irecgan.export writes the
SavedModel; irecgan.evaluation.scoring reads it through plain TensorFlow)."""
import json
import os
import subprocess
import sys

import pytest

from tiny_logs import ROOT, TINY_IRECGAN, train_tiny, write_mdp_log


@pytest.mark.parametrize("method", ["lstm", "irecgan"])
def test_exported_agent_gives_the_online_figures_its_run_recorded(tmp_path, method):
    from irecgan.export import export_agent
    log, params = write_mdp_log(tmp_path)
    run_dir = str(tmp_path / method)
    status, err = train_tiny(sys.executable, run_dir, log, params, method=method)
    assert status == 0, err[-3000:]
    with open(os.path.join(run_dir, "results.json")) as handle:
        recorded = json.load(handle)["online"]
    with open(os.path.join(run_dir, "config.json")) as handle:
        config = json.load(handle)
    exported = export_agent(run_dir, str(tmp_path / "exported"))
    assert exported == str(tmp_path / "exported")
    out = subprocess.run(
        [sys.executable, "-m", "irecgan.cli.benchmark", "--policy=savedmodel:" + exported,
         "--env_params=" + params, "--k=%d" % config["k"],
         "--online_sessions=%d" % config["online_sessions"],
         "--online_seed=%d" % config["online_seed"], "--policy_seeds=1",
         "--policy_sessions=10", "--out=" + str(tmp_path / "bench")],
        cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(str(tmp_path / "bench" / "benchmark.json")) as handle:
        result = json.load(handle)
    assert result["online"] == recorded
