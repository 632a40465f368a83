"""Each decomposition gap against the training budget (irecgan.report.gap_budget)."""
import os
import subprocess
import sys

import pytest

from irecgan.errors import UserError
from irecgan.report import gap_budget

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")
HEADER = ("log,gap,difference,kind,n,df,mean,ci_low,ci_high,headroom_pct_mean,"
          "headroom_pct_ci_low,headroom_pct_ci_high,ci_excludes_0,confidence,seeds,missing\n")


def write(path, rows):
    with open(str(path), "w") as handle:
        handle.write(HEADER)
        for r in rows:
            handle.write(r + "\n")
    return str(path)


def two_reports(tmp_path):
    short = write(tmp_path / "short.csv", [
        "toy,b,irecgan_true - irecgan_nod,paired,10,9,0.05,-0.1,0.2,,,,no,0.95,,",
        "toy,a,ceiling (belief) - irecgan_true,welch,5,11,2.0,1.9,2.1,,,,yes,0.95,,"])
    long = write(tmp_path / "long.csv", [
        "toy,a,ceiling (belief) - irecgan_true,welch,10,11,1.5,1.4,1.6,,,,yes,0.95,,",
        "toy,b,irecgan_true - irecgan_nod,paired,10,9,0.6,0.4,0.8,,,,yes,0.95,,",
        "other,c,irecgan - irecgan_nod,paired,10,9,0.0,-0.1,0.1,,,,no,0.95,,"])
    return short, long


def test_gaps_join_by_budget_in_gap_order(tmp_path):
    short, long = two_reports(tmp_path)
    joined = gap_budget.gaps_by_budget([("short", gap_budget.read_gaps(short)),
                                        ("long", gap_budget.read_gaps(long))])
    assert list(joined) == ["toy", "other"]
    assert list(joined["toy"]) == ["ceiling (belief) - irecgan_true", "irecgan_true - irecgan_nod"]
    assert [(l, r["mean"]) for l, r in joined["toy"]["irecgan_true - irecgan_nod"]] == [
        ("short", 0.05), ("long", 0.6)]
    text = gap_budget.budget_gap_markdown(joined, ["short", "long"])
    assert "| irecgan_true - irecgan_nod | 0.050 [-0.100, 0.200] (no evidence) | " \
           "0.600 [0.400, 0.800] |" in text
    assert "| irecgan - irecgan_nod | - | 0.000 [-0.100, 0.100] (no evidence) |" in text


def test_cli_writes_table_and_plots_and_refuses_bad_pairs(tmp_path):
    short, long = two_reports(tmp_path)
    env = dict(os.environ, PYTHONPATH=SRC)
    out = str(tmp_path / "out")
    cmd = [sys.executable, "-m", "irecgan.cli.decomposition", "--out=" + out,
           "--by_budget=short=%s,long=%s" % (short, long)]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ["gaps_by_budget.md", "other_gaps_by_budget.png",
                                       "toy_gaps_by_budget.png"]
    bad = subprocess.run(cmd[:4] + ["--by_budget=short"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert bad.returncode == 2 and "is not LABEL=GAPS_CSV" in bad.stderr.strip().splitlines()[-1]
    # one label may name several reports, of other logs: here "other" joins "short"
    only_other = write(tmp_path / "other.csv", [
        "other,c,irecgan - irecgan_nod,paired,10,9,0.25,0.1,0.4,,,,yes,0.95,,"])
    text, _ = gap_budget.write_gap_budget(str(tmp_path / "joined"), [
        ("short", short), ("long", long), ("short", only_other)])
    assert "| gap | short | long |" in text
    assert "| irecgan - irecgan_nod | 0.250 [0.100, 0.400] | 0.000 [-0.100, 0.100] " \
           "(no evidence) |" in text
    # ... but a log twice under one label is ambiguous
    with pytest.raises(UserError, match="budget a: log toy is in both .*short.csv and "
                                        ".*long.csv"):
        gap_budget.write_gap_budget(out, [("a", short), ("a", long)])
    with pytest.raises(UserError, match="cannot read"):
        gap_budget.read_gaps(str(tmp_path / "missing.csv"))
