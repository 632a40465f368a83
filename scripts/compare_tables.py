#!/usr/bin/env python3
"""Compare two report tables (table.csv of irecgan-report) cell by cell, wall time aside.

    python3 scripts/compare_tables.py results/sim/table.csv /tmp/clone/results/sim/table.csv

Rows are matched by (dataset, method, source); every other column must hold exactly the same
text, except the columns named `wall_time*` (they measure the machine, not the code). Prints
each differing cell and the rows present in only one table; exit 0 when the tables agree, 1 when
they differ, 2 on a bad argument. The issue-25 check: `./run_sim.sh` from a fresh clone
reproduces the committed results/sim/table.csv exactly.
"""
import csv
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


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: compare_tables.py FIRST.csv SECOND.csv\n")
        return 2
    try:
        a, b = read_table(argv[1]), read_table(argv[2])
    except (IOError, OSError, ValueError) as e:
        sys.stderr.write("compare_tables.py: %s\n" % e)
        return 2
    lines = differences(a, b)
    for line in lines:
        print(line)
    print("%d rows compared, %d differences (wall time aside)" % (len(set(a) | set(b)), len(lines)))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
