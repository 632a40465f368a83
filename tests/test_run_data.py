"""A run directory holds what export, evaluation and scoring read of its data (RUN/data.json,
irecgan.rundir.rundata): it works after its log has moved; older run directories without the
file rebuild it from the log, with one line saying so."""
import json
import os
import shutil

import numpy as np
import pytest

from irecgan import config as configuration
from irecgan import experiment
from irecgan.data.dataset import load_dataset
from irecgan.errors import UserError
from irecgan.evaluation import scoring
from irecgan.export import export_agent
from irecgan.rundir.rundata import DATA, RunData, read_run_data
from tiny_logs import write_mdp_log

TINY_PG = dict(method="pg", embed_dim=4, hidden=8, layers=1, batch_size=16, agent_epochs=2,
               online_sessions=20, online_every=0, threads=1, seed=3, split="ratio")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny pg run on a frequency vocabulary (n_items=0: the vocabulary depends on the log's
    training split), its log moved away afterwards; returns (run dir, config, moved log,
    parameter file)."""
    root = tmp_path_factory.mktemp("travels")
    log, params = write_mdp_log(root, n_sessions=120)
    config = configuration.resolve(dict(TINY_PG, data=log, env_params=params))
    run_dir = str(root / "run")
    experiment.run(run_dir, config, show_progress=False)
    moved = str(root / "elsewhere.log")
    shutil.move(log, moved)
    return run_dir, config, moved, params


def test_the_run_directory_holds_the_vocabulary_and_data_facts(trained):
    run_dir, config, moved, _ = trained
    facts = read_run_data(run_dir)
    dataset = load_dataset(moved, split="ratio", seed=3, symbols=config["symbols"])
    assert facts.vocab == dataset.vocab and facts.vocab.size == dataset.vocab.size
    assert facts.has_purchase == dataset.has_purchase is False
    assert facts.purchase_rate == dataset.purchase_rate == 0.0


def test_export_evaluate_and_benchmark_without_the_log(trained, tmp_path):
    run_dir, config, moved, params = trained
    assert not os.path.exists(config["data"])
    out = export_agent(run_dir, str(tmp_path / "export"))
    with open(os.path.join(out, "assets.extra", "irecgan_export.json")) as handle:
        info = json.load(handle)
    assert info["vocab_size"] == read_run_data(run_dir).vocab.size
    # offline P@k on a given log (here: the moved one), with the run's vocabulary
    metrics = experiment.evaluate_log(run_dir, config, moved)
    assert metrics["sessions"] == 120 and 0.0 < metrics["P@10"] <= 100.0
    # the same figures as with the vocabulary rebuilt from the log (a run directory without
    # data.json, the log back in place)
    old = str(tmp_path / "old_run")
    shutil.copytree(run_dir, old)
    os.remove(os.path.join(old, DATA))
    shutil.copy(moved, config["data"])
    try:
        assert experiment.evaluate_log(old, config, moved) == metrics
    finally:
        os.remove(config["data"])
    policy = scoring.SavedModelPolicy(out)
    try:
        result = scoring.benchmark(policy, params, k=10, online_sessions=20, name="exported",
                                   policy_seeds=[1], policy_sessions=20)
    finally:
        policy.close()
    assert result["online"]["n_sessions"] == 20 and result["online"]["reward_mean"] > 0


def test_an_older_run_directory_rebuilds_the_facts_from_its_log_with_one_line(trained,
                                                                              tmp_path):
    run_dir, config, moved, _ = trained
    old = str(tmp_path / "old_run")
    shutil.copytree(run_dir, old)
    os.remove(os.path.join(old, DATA))
    lines = []
    with pytest.raises(UserError):   # the log is not where config.json says
        experiment.run_data(old, config, log=lines.append)
    shutil.copy(moved, config["data"])
    try:
        facts = experiment.run_data(old, config, log=lines.append)
    finally:
        os.remove(config["data"])
    assert facts.vocab == read_run_data(run_dir).vocab
    assert len(lines) == 2 and all("has no data.json" in line for line in lines)
    assert lines[0].endswith("rebuilt from %s" % config["data"])


@pytest.mark.parametrize("content,message", [
    ("{", "cannot read"),
    ('{"format": "other"}', "not a run's data file"),
    ('{"format": "irecgan-run-data", "version": 9}', "unsupported version 9"),
    ('{"format": "irecgan-run-data", "version": 1, "has_purchase": 1, "purchase_rate": 0}',
     "has_purchase must be true or false"),
    ('{"format": "irecgan-run-data", "version": 1, "has_purchase": false, "purchase_rate": 0,'
     ' "vocabulary": {"format": "x"}}', "(vocabulary): not a vocabulary file"),
])
def test_a_damaged_data_file_is_one_line_naming_it(tmp_path, content, message):
    (tmp_path / DATA).write_text(content)
    with pytest.raises(UserError, match=r"data\.json.*" + message.replace("(", r"\(")
                       .replace(")", r"\)")):
        read_run_data(str(tmp_path))


def test_run_data_round_trips_exactly():
    from irecgan.data.vocab import Vocabulary
    facts = RunData(Vocabulary(["b", "a", "c"]), True, 0.1 + 0.2)
    back = json.loads(json.dumps(facts.to_dict()))
    assert back["purchase_rate"] == 0.1 + 0.2 and back["has_purchase"] is True
    assert Vocabulary.from_dict(back["vocabulary"], "x").items == ["b", "a", "c"]
    assert np.isclose(back["purchase_rate"], 0.30000000000000004)


def test_results_and_the_report_say_where_the_runs_were_made(trained, tmp_path):
    from irecgan import report
    from irecgan.rundir import machine
    from irecgan.tfcompat import TF_VERSION
    run_dir = trained[0]
    with open(os.path.join(run_dir, "results.json")) as handle:
        made = json.load(handle)["machine"]
    assert made == {"python": __import__("platform").python_version(),
                    "numpy": np.__version__, "tensorflow": TF_VERSION,
                    "cpu_fingerprint": machine.kernel_hashes()["all"]}
    assert len(made["cpu_fingerprint"]) == 12
    out = str(tmp_path / "report")
    report.write_report(out, report.load_runs([run_dir]))
    stack = "Python %s, numpy %s, TF %s" % (made["python"], made["numpy"], TF_VERSION)
    with open(os.path.join(out, "table.md")) as handle:
        assert "* Made on: %s, CPU fingerprint %s (1 runs)." % (
            stack, made["cpu_fingerprint"]) in handle.read()
    # a table of runs made before results.json recorded the machine says nothing of it (so the
    # committed tables regenerate unchanged)
    with open(os.path.join(run_dir, "results.json")) as handle:
        results = json.load(handle)
    old = str(tmp_path / "old" / "run")
    shutil.copytree(run_dir, old)
    results.pop("machine")
    with open(os.path.join(old, "results.json"), "w") as handle:
        json.dump(results, handle)
    report.write_report(str(tmp_path / "old_report"), report.load_runs([old]))
    with open(os.path.join(str(tmp_path / "old_report"), "table.md")) as handle:
        assert "Made on" not in handle.read()
