#!/usr/bin/env python3
"""Compare two report tables (table.csv of irecgan-report): byte for byte, or against the seeds.

    python3 scripts/compare_tables.py results/sim/table.csv /tmp/clone/results/sim/table.csv
    python3 scripts/compare_tables.py --stat results/sim/table.csv /tmp/clone/results/sim/table.csv

Rows are matched by (dataset, method, source); every other column must hold exactly the same
text, except the columns named `wall_time*` (they measure the machine, not the code). Prints
each differing cell and the rows present in only one table; exit 0 when the tables agree, 1 when
they differ, 2 on a bad argument. The issue-25 check: `./run_sim.sh` from a fresh clone
reproduces the committed results/sim/table.csv exactly.

On another CPU kind (or a GPU) the same seeds give other last bits, which training can grow into
other figures, so the question is statistical: `--stat` compares each cell that has a spread over
seeds (columns X_mean with X_std and X_n, n >= 2 in both tables) with Welch's t-test, and prints
the cells whose difference is beyond chance at 95 %: p < 0.05 after Holm's correction over all the
cells tested (family-wise: with many cells some raw p-values fall under 0.05 by chance alone; the
raw count is printed beside it). Rows or cells present in only one table are listed as not
compared and do not count (a rerun of a few logs against the whole committed table). Exit 0 when
no cell differs beyond chance, 1 when one does, 2 on a bad argument. The test is conservative for
tables made with the same seeds (their runs are paired, Welch treats them as independent).
"""
import csv
import math
import sys

KEY = ("dataset", "method", "source")


def read_table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    table = {}
    for row in rows:
        key = tuple(row.get(k, "") for k in KEY)
        if key in table:
            raise ValueError("%s: row %s appears twice" % (path, "/".join(key)))
        table[key] = row
    return table


def compared_columns(a, b):
    columns = set()
    for row in list(a.values()) + list(b.values()):
        columns.update(row)
    return sorted(c for c in columns if c not in KEY and not c.startswith("wall_time"))


def differences(a, b):
    """Lines describing how table `b` differs from table `a` (both from read_table)."""
    out = []
    for key in sorted(set(a) | set(b)):
        name = "/".join(key)
        if key not in b:
            out.append("%s: only in the first table" % name)
        elif key not in a:
            out.append("%s: only in the second table" % name)
        else:
            for column in compared_columns({key: a[key]}, {key: b[key]}):
                x, y = a[key].get(column, ""), b[key].get(column, "")
                if x != y:
                    out.append("%s: %s %r != %r" % (name, column, x, y))
    return out


def _number(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def welch(mean_a, std_a, n_a, mean_b, std_b, n_b):
    """Two-sided p-value of Welch's t-test for the difference of two means given as mean, sample
    std and count (n >= 2 each). Both spreads 0: 1 when the means are equal, else 0."""
    var = std_a ** 2 / n_a + std_b ** 2 / n_b
    if var == 0.0:
        return 1.0 if mean_a == mean_b else 0.0
    t = (mean_a - mean_b) / math.sqrt(var)
    dof = var ** 2 / ((std_a ** 2 / n_a) ** 2 / (n_a - 1) + (std_b ** 2 / n_b) ** 2 / (n_b - 1))
    from scipy import stats
    return float(2.0 * stats.t.sf(abs(t), dof))


def holm(p_values, alpha=0.05):
    """Which of `p_values` are rejected by Holm's step-down procedure at family-wise `alpha`."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (len(p_values) - rank):
            break
        rejected[i] = True
    return rejected


def cell_tests(a, b):
    """(tests, not_compared): tests = [(row name, figure, mean_a, mean_b, p)] for every X_mean
    cell with X_std and X_n (n >= 2) in both tables; not_compared = names of rows in one table
    only and of cells with a spread in one table only."""
    tests, not_compared = [], []
    for key in sorted(set(a) | set(b)):
        name = "/".join(key)
        if key not in a or key not in b:
            not_compared.append("%s (only in the %s table)" % (name, "first" if key in a else
                                                               "second"))
            continue
        for column in compared_columns({key: a[key]}, {key: b[key]}):
            if not column.endswith("_mean"):
                continue
            figure = column[:-len("_mean")]
            sides = []
            for row in (a[key], b[key]):
                mean, std = _number(row.get(column)), _number(row.get(figure + "_std"))
                n = _number(row.get(figure + "_n"))
                sides.append((mean, std, n) if None not in (mean, std, n) and n >= 2 else None)
            if sides[0] is None and sides[1] is None:
                continue
            if sides[0] is None or sides[1] is None:
                not_compared.append("%s: %s (a spread in one table only)" % (name, figure))
                continue
            (ma, sa, na), (mb, sb, nb) = sides
            tests.append((name, figure, ma, mb, welch(ma, sa, na, mb, sb, nb)))
    return tests, not_compared


def statistical(a, b):
    """Print the statistical comparison; returns the exit status (1: a cell differs beyond
    chance at 95 %, Holm)."""
    tests, not_compared = cell_tests(a, b)
    rejected = holm([test[4] for test in tests])
    raw = sum(1 for test in tests if test[4] < 0.05)
    for (name, figure, ma, mb, p), beyond in zip(tests, rejected):
        if p < 0.05:
            print("%s: %s %.6g vs %.6g, p = %.3g%s" % (name, figure, ma, mb, p,
                                                       " (beyond chance)" if beyond else ""))
    for line in not_compared:
        print("not compared: %s" % line)
    print("%d cells differ beyond chance at 95 %% (Holm over %d cells tested; %d with p < 0.05 "
          "before correction, %.1f expected by chance); %d not compared"
          % (sum(rejected), len(tests), raw, 0.05 * len(tests), len(not_compared)))
    return 1 if any(rejected) else 0


def main(argv):
    args = [arg for arg in argv[1:] if arg != "--stat"]
    if len(args) != 2:
        sys.stderr.write("usage: compare_tables.py [--stat] FIRST.csv SECOND.csv\n")
        return 2
    try:
        a, b = read_table(args[0]), read_table(args[1])
    except (IOError, OSError, ValueError) as e:
        sys.stderr.write("compare_tables.py: %s\n" % e)
        return 2
    if "--stat" in argv[1:]:
        return statistical(a, b)
    lines = differences(a, b)
    for line in lines:
        print(line)
    print("%d rows compared, %d differences (wall time aside)" % (len(set(a) | set(b)), len(lines)))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
