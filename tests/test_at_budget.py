"""Issue 34: each agent objective read at the budget the rule picks from its own control
(irecgan.report.at_budget), on hand-made curves."""
import math

import pytest

from irecgan.report import at_budget

T_975_1 = 12.706204736174696  # scipy.stats.t.ppf(0.975, 1)


def rule_row(method, budget, tested=None, variant="lr1e-3_r0.1"):
    test = None if tested is None else {"budget": tested, "flat": budget is not None,
                                        "ci": {"low": 0.01, "high": 0.2}}
    return {"log": "toy", "variant": variant, "method": method, "budget": budget, "test": test}


def test_values_and_epochs_read_by_hand():
    curves = {2: {50: 4.0, 60: 5.0}, 1: {50: 3.0}, 3: {60: 1.0}}
    assert list(at_budget.values_at(curves, 50).items()) == [(1, 3.0), (2, 4.0)]
    assert at_budget.reported_epoch(rule_row("irecgan_true", 50, 50)) == (50, True)
    assert at_budget.reported_epoch(rule_row("irecgan_true", None, 200)) == (200, False)
    assert at_budget.reported_epoch(rule_row("irecgan_true", None)) == (None, None)


def test_each_control_at_its_own_epoch_and_paired_to_the_paper_objective():
    groups = {("toy", "lr1e-3_r0.1", "irecgan_true"): {1: {50: 4.0, 200: 9.0},
                                                         2: {50: 4.2, 200: 9.0}},
              ("toy", "lr1e-3_r0.1", "irecgan_true@slate"): {1: {50: 3.0, 120: 4.5, 200: 4.6},
                                                               2: {50: 3.0, 120: 4.9, 200: 5.0},
                                                               3: {120: 7.0}},
              ("toy", "lr1e-3_r0.1", "irecgan_true@advantage"): {1: {200: 1.0}, 2: {200: 2.0}}}
    rules = [rule_row("irecgan_true", 50, 50), rule_row("irecgan_true@slate", 120, 120),
             rule_row("irecgan_true@advantage", None, 200), rule_row("irecgan_true@x", None)]
    rows = at_budget.at_budget_rows(groups, rules)
    assert [(r["method"], r["epoch"], r["flat"]) for r in rows] == [
        ("irecgan_true", 50, True), ("irecgan_true@slate", 120, True),
        ("irecgan_true@advantage", 200, False)]   # no tested budget: no row
    paper, slate, adv = rows
    assert paper["vs_paper"] is None and paper["ci"]["mean"] == pytest.approx(4.1)
    # slate at 120 (seeds 1-3: 4.5, 4.9, 7.0) minus the paper objective at 50 (4.0, 4.2),
    # paired on seeds 1, 2: differences 0.5, 0.7 -> mean 0.6, sd 0.1414, half t_1 * 0.1
    assert slate["ci"]["n"] == 3 and slate["ci"]["mean"] == pytest.approx(16.4 / 3)
    d = slate["vs_paper"]
    assert d["seeds"] == [1, 2] and d["mean"] == pytest.approx(0.6)
    assert d["half"] == pytest.approx(T_975_1 * 0.1, rel=1e-9)
    assert slate["paper_epoch"] == 50
    assert adv["vs_paper"]["mean"] == pytest.approx(1.5 - 4.1)
    text = "\n".join(at_budget.at_budget_markdown(rows, {"toy": (2.0, 6.0)}))
    # headroom of slate: (5.4667 - 2) / (6 - 2)
    assert "| toy | lr1e-3_r0.1 | irecgan_true@slate | 120 | 5.467 [" in text
    assert "| 86.7 % | 0.600 [-0.671, 1.871] (epoch 50): no evidence | 3 |" in text
    assert "| irecgan_true@advantage | 200 (still rising) | 1.500 [" in text
    # a control whose last test falls is read at that budget and called falling
    falling = dict(rule_row("irecgan_true@advantage", None, 200),
                   test={"budget": 200, "flat": False, "ci": {"low": -0.3, "high": -0.1}})
    rows = at_budget.at_budget_rows(groups, [falling])
    assert rows[0]["trend"] == "falling" and rows[0]["epoch"] == 200
    assert "| irecgan_true@advantage | 200 (falling) | 1.500 [" in "\n".join(
        at_budget.at_budget_markdown(rows, {}))
    # (1.5 - 2) / 4; differences -3.0, -2.2: sd 0.5657, half t_1 * 0.4 = 5.082
    assert "| -12.5 % | -2.600 [-7.682, 2.482] (epoch 50): no evidence | 2 |" in text
    assert "| irecgan_true | 50 | 4.100 [" in text and "| 52.5 % | - | 2 |" in text


def test_headroom_needs_both_references_and_a_gap():
    assert at_budget.headroom_percent(3.0, (2.0, 6.0)) == 25.0
    for refs in (None, (2.0, 2.0), (float("nan"), 6.0)):
        assert math.isnan(at_budget.headroom_percent(3.0, refs))


def test_objective_curves_get_distinct_colours_and_one_rule_line_per_budget():
    from irecgan.report import budget_plots
    from irecgan.report.plots import method_color
    methods = ["irecgan_true", "irecgan_true@slate", "irecgan_true@advantage", "pg"]
    colors = budget_plots.curve_colors(methods)
    assert colors["irecgan_true"] == method_color("irecgan_true")
    assert colors["pg"] == method_color("pg")
    # objectives in sorted label order (advantage, slate), skipping pg's orange
    assert budget_plots.VARIANT_COLORS[:3] == ("tab:blue", "tab:orange", "tab:green")
    assert (colors["irecgan_true@advantage"], colors["irecgan_true@slate"]) == \
        ("tab:blue", "tab:green")
    # beside irecgan_nod (tab:green) and irecgan_true, six objectives get six other colours
    many = ["irecgan_nod", "irecgan_true"] + ["irecgan_true@o%d" % i for i in range(6)]
    colors = budget_plots.curve_colors(many)
    assert len(set(colors.values())) == len(many)
    assert colors["irecgan_nod"] == method_color("irecgan_nod") == "tab:green"
    rules = [{"variant": "v", "method": "irecgan_true", "budget": 50},
             {"variant": "v", "method": "irecgan_true@slate", "budget": None},
             {"variant": "v", "method": "irecgan_true@advantage", "budget": 50},
             {"variant": "v", "method": "irecgan_true@T0.5", "budget": 120},
             {"variant": "w", "method": "irecgan_true", "budget": 60}]
    assert budget_plots.rule_lines(rules, "v") == [
        (50, ["irecgan_true", "irecgan_true@advantage"]), (120, ["irecgan_true@T0.5"])]
    assert budget_plots.rule_lines(rules, "w") == [(60, ["irecgan_true"])]
