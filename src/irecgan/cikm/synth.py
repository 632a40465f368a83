"""Small synthetic CIKM Cup 2016 (DIGINETICA) raw directories, with the real files' quirks.

`write_synthetic_raw(out_dir, seed)` writes the six raw files with their exact headers and plants:
NA user ids, exact duplicate click rows, queries with several clicks (distinct items, or one item
clicked twice at different times), queries without a click, `is.test` queries (some of them with
click rows), clicks on unknown queryIds, purchases (some of an item clicked in the session, some
not, duplicate purchase rows, purchases of sessions that have no query), clicked items missing
from the shown list, rows not in time order within a session, sessions interleaved in the file,
items lists of 10..100 items, one session longer than 40 kept queries.

It returns the counts the converter must report, computed from the generator's own bookkeeping
(what it decided to plant), never by reading the files back: a test asserts equality.
"""
import collections
import io
import os

import numpy as np

from irecgan.cikm.raw import (
    CLICKS_COLUMNS, CLICKS_FILE, ITEM_VIEWS_COLUMNS, ITEM_VIEWS_FILE, PRODUCT_CATEGORIES_COLUMNS,
    PRODUCT_CATEGORIES_FILE, PRODUCTS_COLUMNS, PRODUCTS_FILE, PURCHASES_COLUMNS, PURCHASES_FILE,
    QUERIES_COLUMNS, QUERIES_FILE)
from irecgan.cikm.conversion_report import MAX_SESSION_STEPS, MIN_SESSION_STEPS

# Kinds of query the generator plants, and how often (normal sessions).
KINDS = ("single", "zero", "multi", "multi_same", "test")
KIND_PROBS = (0.62, 0.1, 0.1, 0.06, 0.12)


def _date(rng):
    return "2016-%02d-%02d" % (rng.randint(1, 7), rng.randint(1, 29))


def _write(path, columns, rows):
    with io.open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(";".join(columns) + "\n")
        for row in rows:
            handle.write(";".join(str(x) for x in row) + "\n")


def write_synthetic_raw(out_dir, seed, n_sessions=40, n_items=2000, max_queries=8,
                        n_long_sessions=1, n_unknown_clicks=3):
    """Write a synthetic raw directory; return the planted counts (keys of `ConvertReport`).

    `n_sessions` sessions (of which `n_long_sessions` have more than 40 one-click queries), each
    of 1..`max_queries` queries otherwise; items are 1..`n_items` (at least 200).
    Returns an OrderedDict with the `ConvertReport` count names (the converter's expected report,
    for either order) plus `session_lengths` ({lines: sessions}) and `planted_sessions`.
    """
    if n_items < 200:
        raise ValueError("n_items must be at least 200")
    if n_long_sessions > n_sessions:
        raise ValueError("n_long_sessions > n_sessions")
    rng = np.random.RandomState(seed)
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    universe = np.arange(1, n_items + 1)

    session_ids = [int(x) for x in rng.choice(np.arange(1, 50 * n_sessions + 1), n_sessions,
                                              replace=False)]
    long_sessions = set(session_ids[:n_long_sessions])
    expected = collections.OrderedDict()
    for key in ("queries_read", "test_queries_skipped", "queries_no_click",
                "queries_multi_click", "queries_multi_click_same_item", "click_rows_read",
                "duplicate_click_rows_dropped", "clicks_unknown_query",
                "clicks_on_test_queries", "purchase_rows_read", "kept_lines",
                "sessions_written", "purchases_matched", "clicks_not_in_items",
                "sessions_reordered", "sessions_too_short", "sessions_loader_kept",
                "sessions_too_long", "lines_loader_kept", "purchases_loader_kept",
                "blank_lines_skipped"):
        expected[key] = 0

    # --- queries (bookkeeping first; query ids are assigned once the total is known) ----------
    sessions = []      # per session: dict(id, user, queries=[...] in FILE order)
    click_rows = []    # (query index, timeframe, item); query index -1 = unknown query
    for sid in session_ids:
        user = "NA" if rng.rand() < 0.4 else str(rng.randint(1, 200000))
        if sid in long_sessions:
            k = rng.randint(MAX_SESSION_STEPS + 3, MAX_SESSION_STEPS + 8)  # >= 41 kept
            kinds = ["single"] * (k - 2) + ["zero", "test"]
            kinds = [kinds[j] for j in rng.permutation(k)]
        else:
            k = rng.randint(1, max_queries + 1)
            kinds = [KINDS[j] for j in rng.choice(len(KINDS), k, p=KIND_PROBS)]
        times = np.cumsum(rng.randint(1, 90000, size=k)) + rng.randint(0, 1000)
        # time rank r has timeframe times[r] and kind kinds[r]; file position p holds rank
        # perm[p]: half of the sessions are written out of time order.
        perm = rng.permutation(k) if rng.rand() < 0.5 else np.arange(k)
        queries = []
        for p in range(k):
            r = int(perm[p])
            shown = rng.choice(universe, rng.randint(10, 101), replace=False)
            q = {"rank": r, "time": int(times[r]), "kind": kinds[r], "items": shown,
                 "click": None, "not_shown": False, "multi_items": []}
            queries.append(q)
        sessions.append({"id": sid, "user": user, "queries": queries})

    all_queries = [q for s in sessions for q in s["queries"]]
    n_q = len(all_queries)
    query_ids = rng.choice(np.arange(1, 20 * n_q + 1), n_q, replace=False)
    for q, qid in zip(all_queries, query_ids):
        q["qid"] = int(qid)

    for q in all_queries:
        kind, shown, qid = q["kind"], q["items"], q["qid"]
        click_times = q["time"] + rng.choice(np.arange(1, 60000), 4, replace=False)
        if kind == "single":
            if rng.rand() < 0.06:  # clicked item not among the shown ones
                item = int(rng.choice(np.setdiff1d(universe, shown)))
                q["not_shown"] = True
            else:
                item = int(rng.choice(shown))
            q["click"] = item
            row = (qid, int(click_times[0]), item)
            copies = rng.randint(1, 3) if rng.rand() < 0.25 else 0
            click_rows.extend([row] * (1 + copies))
            expected["duplicate_click_rows_dropped"] += copies
        elif kind == "multi":
            m = rng.randint(2, 4)
            items = [int(x) for x in rng.choice(shown, m, replace=False)]
            rows = [(qid, int(click_times[j]), items[j]) for j in range(m)]
            q["multi_items"] = items
            if rng.rand() < 0.3:
                rows.append(rows[0])
                expected["duplicate_click_rows_dropped"] += 1
            click_rows.extend(rows)
        elif kind == "multi_same":
            item = int(rng.choice(shown))
            q["multi_items"] = [item]
            click_rows.extend([(qid, int(click_times[0]), item),
                               (qid, int(click_times[1]), item)])
        elif kind == "test":
            if rng.rand() < 0.5:
                row = (qid, int(click_times[0]), int(rng.choice(shown)))
                click_rows.append(row)
                expected["clicks_on_test_queries"] += 1
                if rng.rand() < 0.3:
                    click_rows.append(row)
                    expected["duplicate_click_rows_dropped"] += 1
        # "zero": no click row

    # Clicks on queryIds that are in no query row.
    unknown_ids = rng.choice(np.arange(20 * n_q + 1, 30 * n_q + 2), n_unknown_clicks,
                             replace=False)
    for qid in unknown_ids:
        row = (int(qid), rng.randint(0, 10 ** 6), int(rng.choice(universe)))
        click_rows.append(row)
        expected["clicks_unknown_query"] += 1
        if rng.rand() < 0.5:
            click_rows.append(row)
            expected["duplicate_click_rows_dropped"] += 1

    # --- purchases --------------------------------------------------------------------------
    purchase_rows = []
    purchased = {}
    for s in sessions:
        if rng.rand() >= 0.45:
            continue
        kept_clicks = sorted(set(q["click"] for q in s["queries"] if q["kind"] == "single"))
        other_clicks = sorted(set(x for q in s["queries"] for x in q["multi_items"])
                              - set(kept_clicks))
        bought = []
        if kept_clicks:
            n_match = rng.randint(0, min(2, len(kept_clicks)) + 1)
            bought.extend(int(x) for x in rng.choice(kept_clicks, n_match, replace=False))
        if other_clicks and rng.rand() < 0.5:  # clicked, but in a dropped multi-click query
            bought.append(int(rng.choice(other_clicks)))
        not_clicked = np.setdiff1d(universe, kept_clicks)
        bought.extend(int(x) for x in rng.choice(not_clicked, rng.randint(0, 3), replace=False))
        if not bought:
            bought.append(int(rng.choice(not_clicked)))
        purchased[s["id"]] = set(bought)
        order_no = rng.randint(1, 100000)
        tframe = int(max(q["time"] for q in s["queries"]) + rng.randint(1, 5000))
        date = _date(rng)
        for item in bought:
            row = (s["id"], s["user"], tframe, date, order_no, item)
            purchase_rows.append(row)
            if rng.rand() < 0.15:
                purchase_rows.append(row)  # duplicate purchase rows exist in the real data
    for j in range(2):  # purchases of sessions without any query
        purchase_rows.append((50 * n_sessions + 1 + j, "NA", rng.randint(0, 10 ** 6),
                              _date(rng), rng.randint(1, 100000), int(rng.choice(universe))))

    # --- expected report, from the bookkeeping ---------------------------------------------------
    lengths = collections.Counter()
    for s in sessions:
        kinds = [q["kind"] for q in s["queries"]]
        expected["queries_read"] += len(kinds)
        expected["test_queries_skipped"] += kinds.count("test")
        expected["queries_no_click"] += kinds.count("zero")
        expected["queries_multi_click"] += kinds.count("multi") + kinds.count("multi_same")
        expected["queries_multi_click_same_item"] += kinds.count("multi_same")
        kept = [(p, q) for p, q in enumerate(s["queries"]) if q["kind"] == "single"]
        if not kept:
            continue
        n = len(kept)
        lengths[n] += 1
        expected["kept_lines"] += n
        expected["sessions_written"] += 1
        bought = purchased.get(s["id"], set())
        matched = sum(1 for _, q in kept if q["click"] in bought)
        expected["purchases_matched"] += matched
        expected["clicks_not_in_items"] += sum(1 for _, q in kept if q["not_shown"])
        file_positions_by_time = [p for p, q in sorted(kept, key=lambda pq: pq[1]["rank"])]
        if file_positions_by_time != sorted(file_positions_by_time):
            expected["sessions_reordered"] += 1
        if n < MIN_SESSION_STEPS:
            expected["sessions_too_short"] += 1
        elif n > MAX_SESSION_STEPS:
            expected["sessions_too_long"] += 1
        else:
            expected["sessions_loader_kept"] += 1
            expected["lines_loader_kept"] += n
            expected["purchases_loader_kept"] += matched
    expected["click_rows_read"] = len(click_rows)
    expected["purchase_rows_read"] = len(purchase_rows)
    expected["session_lengths"] = dict(lengths)
    expected["planted_sessions"] = n_sessions

    # --- write the files ---------------------------------------------------------------------
    # Queries: sessions interleaved at random, each session's rows in its own file order.
    queues = dict((s["id"], list(s["queries"])) for s in sessions)
    slots = [s["id"] for s in sessions for _ in s["queries"]]
    by_id = dict((s["id"], s) for s in sessions)
    query_rows = []
    for j in rng.permutation(len(slots)):
        s = by_id[slots[j]]
        q = queues[s["id"]].pop(0)
        if rng.rand() < 0.5:
            tokens = ",".join(str(x) for x in rng.randint(1, 50000, rng.randint(1, 4)))
            category = ""
        else:
            tokens, category = "", str(rng.randint(1, 1200))
        is_test = "TRUE" if q["kind"] == "test" else "FALSE"
        if rng.rand() < 0.05:
            is_test = is_test.lower()
        query_rows.append((q["qid"], s["id"], s["user"], q["time"], rng.randint(0, 5000),
                           _date(rng), tokens, category, ",".join(str(x) for x in q["items"]),
                           is_test))
    _write(os.path.join(out_dir, QUERIES_FILE), QUERIES_COLUMNS, query_rows)
    _write(os.path.join(out_dir, CLICKS_FILE), CLICKS_COLUMNS,
           [click_rows[j] for j in rng.permutation(len(click_rows))])
    _write(os.path.join(out_dir, PURCHASES_FILE), PURCHASES_COLUMNS,
           [purchase_rows[j] for j in rng.permutation(len(purchase_rows))])

    # The files the converter does not read, so that the directory looks like the real one.
    views = []
    for s in sessions:
        for _ in range(rng.randint(1, 6)):
            views.append((s["id"], s["user"], int(rng.choice(universe)),
                          rng.randint(0, 10 ** 6), _date(rng)))
    _write(os.path.join(out_dir, ITEM_VIEWS_FILE), ITEM_VIEWS_COLUMNS, views)
    _write(os.path.join(out_dir, PRODUCTS_FILE), PRODUCTS_COLUMNS,
           [(i, rng.randint(0, 15), ",".join(str(x) for x in rng.randint(1, 90000, 3)))
            for i in universe])
    _write(os.path.join(out_dir, PRODUCT_CATEGORIES_FILE), PRODUCT_CATEGORIES_COLUMNS,
           [(i, rng.randint(1, 1200)) for i in universe])
    return expected
