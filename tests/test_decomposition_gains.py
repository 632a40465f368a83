"""What the adversarial phase adds, in the decomposition report (issue 34's reading): end -
start per method paired by seed, its difference to irecgan_true's gain (same agent objective),
gaps.md's section and seeds.csv's start column, on hand-made runs."""
import csv
import os

import pytest

from irecgan import report
from irecgan.report import decomposition as dec
from irecgan.report.decomposition_tables import gain_lines
from test_decomposition import POLICIES, write_run

T_975_DF1 = 12.706204736174696   # scipy.stats.t.ppf(0.975, 1)


def curve(agent_last, adversarial):
    """metrics.jsonl records: two agent epochs (the last one `agent_last`), then the
    adversarial epochs' online rewards."""
    records = [{"phase": "user", "epoch": 1, "valid_loss": 3.0},
               {"phase": "agent", "epoch": 1, "online_reward_mean": agent_last - 1.0},
               {"phase": "agent", "epoch": 2, "online_reward_mean": agent_last}]
    return records + [{"phase": "adversarial", "epoch": e + 1, "online_reward_mean": v}
                      for e, v in enumerate(adversarial)]


def test_gains_pair_end_and_start_by_seed_and_against_irecgan_trues(tmp_path):
    adv = {"agent_objective": "advantage"}
    # irecgan_nod: start 2.0, 3.0; end 2.5, 3.0 -> gains 0.5, 0.0
    write_run(tmp_path, "toy", "irecgan_nod", 1, 2.5, metrics=curve(2.0, [1.0, 2.5]))
    write_run(tmp_path, "toy", "irecgan_nod", 2, 3.0, metrics=curve(3.0, [9.0, 3.0]))
    # irecgan_true: gains 1.0, 2.0
    write_run(tmp_path, "toy", "irecgan_true", 1, 3.0, metrics=curve(2.0, [2.0, 3.0]))
    write_run(tmp_path, "toy", "irecgan_true", 2, 5.0, metrics=curve(3.0, [4.0, 5.0]))
    # an objective: irecgan_nod@advantage gains 0.25 (seed 1 only), irecgan_true@advantage 1.0
    write_run(tmp_path, "toy", "irecgan_nod@advantage", 1, 2.25,
              dict(adv, method="irecgan_nod"), metrics=curve(2.0, [2.25]))
    write_run(tmp_path, "toy", "irecgan_true@advantage", 1, 3.0,
              dict(adv, method="irecgan_true"), metrics=curve(2.0, [3.0]))
    # pg has no adversarial phase; a run without its agent phase's evaluation is left out
    write_run(tmp_path, "toy", "pg", 1, 2.0, metrics=curve(2.0, []))
    write_run(tmp_path, "toy", "irecgan", 1, 2.0, metrics=curve(2.0, [])[3:] + [
        {"phase": "adversarial", "epoch": 1, "online_reward_mean": 2.0}])
    runs = report.load_runs([str(tmp_path)])
    rows = dict((g["method"], g) for g in dec.gain_rows(runs, "toy"))
    assert sorted(rows) == ["irecgan_nod", "irecgan_nod@advantage", "irecgan_true",
                            "irecgan_true@advantage"]
    nod, true = rows["irecgan_nod"], rows["irecgan_true"]
    assert (nod["n"], nod["start"], nod["end"]) == (2, 2.5, 2.75)
    assert nod["gain"]["mean"] == pytest.approx(0.25)
    assert nod["gain"]["half"] == pytest.approx(T_975_DF1 * 0.25)   # sd 0.3536 / sqrt 2
    # nod - true, by seed: -0.5, -2.0 -> mean -1.25, sd 1.0607, half t_1 * 0.75
    assert nod["vs_true"]["mean"] == pytest.approx(-1.25)
    assert nod["vs_true"]["half"] == pytest.approx(T_975_DF1 * 0.75)
    assert nod["vs_true"]["seeds"] == [1, 2] and true["vs_true"] is None
    # a method@X pairs with irecgan_true@X, not with the paper objective's control
    assert rows["irecgan_nod@advantage"]["vs_true"]["mean"] == pytest.approx(-0.75)
    assert rows["irecgan_true@advantage"]["vs_true"] is None
    text = "\n".join(gain_lines(dec.gain_rows(runs, "toy")))
    assert ("| toy | irecgan_nod | 2 | 2.500 | 2.750 | 0.250 [-2.927, 3.427]: no evidence | "
            "-1.250 [-10.780, 8.280]: no evidence |") in text
    assert "| toy | irecgan_true@advantage | 1 | 2.000 | 3.000 | 1.000 [n/a] | - |" in text
    # the report: gaps.md's section, seeds.csv's start column (empty for pg)
    out = str(tmp_path / "out")
    gaps_text, _ = dec.write_decomposition(out, runs, POLICIES, {"toy": "random"}, ["toy"])
    assert "What the adversarial phase adds" in gaps_text
    assert "| toy | irecgan_true | 2 | 2.500 | 4.000 | 1.500 [" in gaps_text
    with open(os.path.join(out, "seeds.csv")) as handle:
        seeds = dict(((r["method"], r["seed"]), r) for r in csv.DictReader(handle))
    assert seeds["irecgan_nod", "2"]["adversarial_start_reward"] == "3.0"
    assert seeds["pg", "1"]["adversarial_start_reward"] == ""
    assert seeds["irecgan", "1"]["adversarial_start_reward"] == ""


def test_no_section_without_adversarial_curves(tmp_path):
    write_run(tmp_path, "toy", "irecgan_nod", 1, 2.0)   # no metrics records
    runs = report.load_runs([str(tmp_path)])
    assert dec.gain_rows(runs, "toy") == []
    gaps_text, _ = dec.write_decomposition(str(tmp_path / "out"), runs, POLICIES,
                                           {"toy": "random"}, ["toy"])
    assert "What the adversarial phase adds" not in gaps_text


def test_a_no_q_d_run_pairs_with_the_controls_of_its_objective(tmp_path):
    adv = {"agent_objective": "advantage"}
    # irecgan_true@advantage gains 1.0, 2.0; irecgan@advantage+no_q_d 1.5, 1.5 -> +0.5, -0.5
    for seed, (start, end) in ((1, (2.0, 3.0)), (2, (3.0, 5.0))):
        write_run(tmp_path, "toy", "irecgan_true@advantage", seed, end,
                  dict(adv, method="irecgan_true"), metrics=curve(start, [end]))
        write_run(tmp_path, "toy", "irecgan@advantage+no_q_d", seed, start + 1.5,
                  dict(adv, method="irecgan", agent_q_d=False), metrics=curve(start, [start + 1.5]))
    runs = report.load_runs([str(tmp_path)])
    assert sorted(r.method for r in runs)[0] == "irecgan@advantage+no_q_d"
    rows = dict((g["method"], g) for g in dec.gain_rows(runs, "toy"))
    versus = rows["irecgan@advantage+no_q_d"]["vs_true"]
    assert versus["mean"] == pytest.approx(0.0) and versus["seeds"] == [1, 2]
    assert dec.control_label("irecgan_nod", "advantage+no_q_d") == "irecgan_nod@advantage"
    assert dec.control_label("irecgan_nod", "no_q_d") == "irecgan_nod"
    assert dec.control_label("irecgan_true", "slate+paper_logged") == \
        "irecgan_true@slate+paper_logged"
    assert dec.control_label("irecgan_true", "") == "irecgan_true"


def test_u_error_of_a_no_q_d_run_pairs_with_irecgan_nod_of_its_objective(tmp_path):
    from test_model_value import write_run as write_value_run
    adv = {"agent_objective": "advantage"}
    # U - truth: irecgan_nod@advantage -1.0, -0.5; irecgan@advantage+no_q_d -0.25, -0.25
    write_value_run(tmp_path, "irecgan_nod@advantage", 1, 2.0, 3.0, dict(adv, method="irecgan_nod"))
    write_value_run(tmp_path, "irecgan_nod@advantage", 2, 2.5, 3.0, dict(adv, method="irecgan_nod"))
    for seed in (1, 2):
        write_value_run(tmp_path, "irecgan@advantage+no_q_d", seed, 2.75, 3.0,
                        dict(adv, method="irecgan", agent_q_d=False))
    rows = dict((r["method"], r) for r in dec.value_rows(report.load_runs([str(tmp_path)]),
                                                         "mdp_sharp"))
    assert rows["irecgan@advantage+no_q_d"]["clicks_vs_nod"]["mean"] == pytest.approx(0.5)
