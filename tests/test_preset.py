"""The converged-preset rule of irecgan.report.preset on hand-computed cases."""
import math
import os

import pytest
from scipy import stats as sps

from irecgan.report import budget, preset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def row(log, variant, late, e=50):
    test = None if late is None else {"budget": e, "late": late, "early": late, "ci": {},
                                      "flat": True}
    return {"log": log, "variant": variant, "budget": None if late is None else e,
            "test": test, "verdict": ""}


def test_knobs_changed_counts_the_paper_knobs():
    assert [preset.knobs_changed(v) for v in ("lr1e-4_r10", "lr1e-3_r10", "lr1e-4_r0.1",
                                              "lr1e-3_r0.1", "lr0.0001_r10.0")] == [0, 1, 1, 2, 0]
    assert preset.variant_knobs("lr2.5e-4_r0.1") == (2.5e-4, 0.1)
    with pytest.raises(ValueError):
        preset.variant_knobs("pg")


def test_the_closest_variant_to_the_paper_within_reach_of_the_best_wins():
    # best: lr1e-3_r0.1, late means 4.0, 4.2, 4.1 -> 4.1, sd 0.1, half t_2 * 0.1 / sqrt(3)
    half = sps.t.ppf(0.975, 2) * 0.1 / math.sqrt(3.0)
    rows = [row("toy", "lr1e-3_r0.1", {1: 4.0, 2: 4.2, 3: 4.1}),
            row("toy", "lr1e-4_r10", {1: 3.9, 2: 3.9, 3: 3.9}),      # 0 knobs, 3.9 >= 4.1 - half
            row("toy", "lr1e-4_r0.1", {1: 3.8, 2: 3.8, 3: 3.8}),     # 3.8 < 4.1 - 0.248
            row("toy", "lr1e-3_r10", None),                          # not converged
            row("none", "lr1e-4_r10", None)]
    chosen = preset.choose_preset(rows)
    toy = chosen["toy"]
    assert toy["variant"] == "lr1e-4_r10" and toy["best"] == "lr1e-3_r0.1"
    assert toy["floor"] == pytest.approx(4.1 - half, rel=1e-9)
    assert [(c["variant"], c["knobs"], c["in_reach"]) for c in toy["candidates"]] == [
        ("lr1e-3_r0.1", 2, True), ("lr1e-4_r10", 0, True), ("lr1e-4_r0.1", 1, False)]
    assert chosen["none"] is None
    assert preset.preset_flags(toy) == ["--agent_lr=0.0001", "--offline_ratio=10",
                                        "--adv_epochs=50"]
    text = preset.preset_markdown(chosen)
    assert "| none | - | - | - | - | - | none: no converged variant |" in text
    assert "| toy | lr1e-4_r10 | 50 | 3.9000 [3.9000, 3.9000] | 0 | yes | --agent_lr=0.0001 " \
           "--offline_ratio=10 --adv_epochs=50 |" in text


def test_ties_in_knobs_go_to_the_higher_score_and_one_seed_has_no_width():
    rows = [row("toy", "lr1e-3_r10", {1: 3.0, 2: 3.2}, e=60),
            row("toy", "lr1e-4_r0.1", {1: 3.1, 2: 3.3}, e=70)]
    assert preset.choose_preset(rows)["toy"]["variant"] == "lr1e-4_r0.1"
    one = preset.choose_preset([row("toy", "lr1e-3_r10", {1: 3.0}),
                                row("toy", "lr1e-4_r10", {1: 2.99})])
    assert one["toy"]["variant"] == "lr1e-3_r10"   # half-width unknown: only the best is in reach


def test_write_preset_holds_the_budget_flags_only(tmp_path):
    chosen = preset.choose_preset([row("a/b", "lr1e-3_r0.1", {1: 4.0, 2: 4.2})])["a/b"]
    path = budget.write_preset(str(tmp_path), chosen, "T")
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert os.path.basename(path) == "converged_a_b.cfg"
    assert [l for l in lines if not l.startswith("#")] == [
        "--agent_lr=0.001", "--offline_ratio=0.1", "--adv_epochs=50"]


def test_the_preset_rule_is_written_down_word_for_word():
    doc = preset.__doc__
    rule = doc[doc.index("    For each log"):doc.index("convergence leaves that log out.") + 32]
    with open(os.path.join(ROOT, "docs", "RESULTS.md")) as handle:
        text = handle.read()
    section = text[text.index("### The preset rule"):]
    section = section[:section.index("\n## ")]
    quoted = " ".join(l[1:].strip() for l in section.splitlines() if l.startswith(">"))
    assert " ".join(quoted.split()) == " ".join(rule.split())
