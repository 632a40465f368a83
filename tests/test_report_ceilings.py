"""What the report's reference rows know (issue 32, SPEC 6): labels from the registry, headroom
against the history-based ceiling, the labels in the notes, the CSV, legends and budget lines."""
import csv

import pytest

from irecgan import report
from irecgan.report import budget
from irecgan.report import decomposition as dec
from irecgan.report import rows as R
from irecgan.report.plots import reference_label
from irecgan.sim import registry
from irecgan.sim.simulator import label_notes


def entries(dataset, rewards):
    return [{"dataset": dataset, "method": m, "reward": list(v)} for m, v in rewards.items()]


RECSIM = entries("rs", {"random": [7.0, 7.0], "quality": [16.0, 17.0], "oracle": [27.0, 28.0],
                        "posterior": [20.0, 21.0]})
NEURAL = entries("nn", {"random": [1.9, 1.9], "logging": [1.8, 1.8], "oracle": [3.8, 3.8],
                        "oracle_train": [3.0, 3.0]})
MDP = entries("md", {"random": [2.0, 2.0], "max": [10.0, 10.0], "mix": [4.0, 4.0],
                     "belief": [5.5, 5.9], "imitation": [5.0, 5.0]})


def by_method(rows, dataset):
    return dict((r["method"], r) for r in rows if r["dataset"] == dataset)


def test_the_registry_finds_the_simulator_of_a_tables_rows():
    assert registry.for_policies(["random", "quality", "oracle"]).name == "recsim"
    assert registry.for_policies(["random", "logging", "oracle"]).name == "neural"
    assert registry.for_policies(["random", "belief", "my-policy"]).name == "mdp"
    assert registry.for_policies(["random", "oracle"]) is None   # neural and recsim tie
    assert registry.for_policies(["random"]) is None             # fewer than two names


def test_rows_are_labelled_and_headroom_uses_the_history_based_ceiling():
    rows = report.aggregate_rows([], RECSIM + NEURAL + MDP)
    done, skipped = report.add_headroom(rows, {"rs": "random", "nn": "logging", "md": "random"})
    rs, nn, md = by_method(rows, "rs"), by_method(rows, "nn"), by_method(rows, "md")
    assert [rs[m]["knows"] for m in ("random", "quality", "oracle", "posterior")] == [
        "history-based", "history-based", "state-aware", "history-based"]
    assert (rs["posterior"]["role"], rs["oracle"]["role"]) == (R.CEILING, R.STATE_CEILING)
    assert md["max"]["knows"] == "state-aware" and md["imitation"]["knows"] == "history-based"
    assert nn["oracle_train"]["knows"] == "history-based" and nn["oracle_train"]["role"] == R.BOUND
    assert md["imitation"]["role"] == R.BOUND and md["mix"]["role"] is None
    assert done["rs"] == ("random", 7.0, "posterior", 20.5)
    assert done["nn"] == ("logging", 1.8, "oracle", 3.8)
    assert done["md"] == ("random", 2.0, "belief", 5.7)
    # per seed: (27 - 7) / (20.5 - 7) = 148.1..., (28 - 7) / 13.5 = 155.5...
    assert rs["oracle"]["headroom"][0] == pytest.approx(100.0 * (20.0 + 21.0) / 2 / 13.5)
    text = report.markdown(rows, [], headroom=(done, skipped))
    assert ("* rs, what the reference rows know: history-based: `random`, `quality`, "
            "`posterior` (the ceiling); state-aware: `oracle`.") in text
    assert "100 = `posterior`, the history-based ceiling; per seed" in text
    assert "100 = `belief`, the history-based ceiling" in text


def test_without_a_history_based_row_the_notes_say_plainly_what_headroom_is_against():
    legacy = [e for e in RECSIM if e["method"] != "posterior"]   # a policy_rows.json of before
    rows = report.aggregate_rows([], legacy)
    done, skipped = report.add_headroom(rows, {"rs": "random"})
    assert done["rs"] == ("random", 7.0, "oracle", 27.5)
    text = report.markdown(rows, [], headroom=(done, skipped))
    assert "100 = `oracle`, a STATE-AWARE reference (it reads the user's hidden state" in text


def test_the_csv_has_the_labels(tmp_path):
    rows = report.aggregate_rows([], RECSIM)
    path = str(tmp_path / "t.csv")
    report.write_csv(path, rows)
    with open(path) as handle:
        got = dict((r["method"], r["knows"]) for r in csv.DictReader(handle))
    assert got == {"random": "history-based", "quality": "history-based",
                   "oracle": "state-aware", "posterior": "history-based"}


def test_decomposition_legends_and_budget_lines_use_the_labelled_ceiling():
    rows, gaps, (done, _) = dec.decomposition([], RECSIM, {"rs": "random"}, ["rs"])
    assert sorted(r["method"] for r in rows) == ["oracle", "posterior", "random"]
    assert done["rs"][2] == "posterior"
    assert [g["label"] for g in gaps][0] == "ceiling (posterior) - irecgan_true"
    ceiling, _ = R.reference_rows(rows, "rs")
    assert reference_label("ceiling", ceiling) == "ceiling: posterior, history-based (20.500)"
    assert budget.reference_lines(RECSIM, "rs", "random") == [
        ("ceiling: posterior, history-based", 20.5), ("logging policy: random", 7.0)]


def test_the_bounds_are_shown_beside_the_ceiling_in_tables_legends_and_budget_lines():
    rows, gaps, (done, _) = dec.decomposition([], MDP + NEURAL, {"md": "random", "nn": "logging"},
                                              ["md", "nn"])
    assert sorted((r["dataset"], r["method"]) for r in rows) == [
        ("md", "belief"), ("md", "imitation"), ("md", "random"),
        ("nn", "logging"), ("nn", "oracle"), ("nn", "oracle_train")]
    assert done["md"][2] == "belief" and done["nn"][2] == "oracle"   # bounds are not the 100 %
    assert by_method(rows, "md")["imitation"]["headroom"][0] == pytest.approx(
        100.0 * (5.0 - 2.0) / (5.7 - 2.0))
    assert [r["method"] for r in R.bound_rows(rows, "md")] == ["imitation"]
    assert budget.reference_lines(MDP, "md", "random") == [
        ("ceiling: belief, history-based", 5.7), ("bound: imitation, history-based", 5.0),
        ("logging policy: random", 2.0)]
    text = report.markdown(report.aggregate_rows([], MDP), [])
    assert "`belief` (the ceiling), `imitation` (a bound)" in text


def test_simulate_summary_notes_come_from_the_labels():
    notes = label_notes({"a": "history-based", "b": "state-aware", "c": "history-based"},
                        "a", "b")
    assert notes == {"a": "  (history-based, the ceiling)",
                     "b": "  (state-aware, the state-aware reference)",
                     "c": "  (history-based)"}
    recsim = registry.by_name("recsim")
    assert recsim.notes["oracle"] == "  (state-aware, the state-aware reference)"
