"""Raw CIKM Cup 2016 (DIGINETICA) files -> the processed log (SPEC 2.1b).

Input: a directory holding the competition's train-queries.csv, train-clicks.csv and
train-purchases.csv (read by cikm.raw, which lists their columns).

Output: one line per kept query, `sessionId;queryId;clicked_item;items;purchase` (SPEC 2.1, the
`state` field holds the queryId), sessions in ascending `sessionId`, the queries of a session in
`timeframe` order (ties broken by file order) or, with `order="file"`, in file order.

Rules (the authors' derivation, SPEC 2.1b):
1. `is.test` queries are skipped (`TRUE`/`FALSE`, case-insensitive; anything else is an error).
2. Exact duplicate click rows (same queryId, timeframe and itemId) are dropped. A query is kept
   when exactly one click row remains; so a query whose item was clicked twice at two different
   timeframes counts as multi-click (reported separately as `queries_multi_click_same_item`).
3. purchase = 1 when the clicked item is among the items purchased in the session (any time).
4. All sessions are written; the 2..40 steps filter is the loader's. The report says how many
   sessions (and lines) that filter will keep.

How it streams: cikm.raw reads the files line by line into compact integer columns (about 50
bytes a query). The `items` lists are not held: the writing pass seeks back to each kept query's
line. For the real sizes (923k queries, 1.1M clicks) this stays well under 200 MB.
"""
import io
import os

import numpy as np

from irecgan.cikm.raw import (CLICKS_FILE, PROGRESS_EVERY, PURCHASES_FILE, QUERIES_COLUMNS,
                              QUERIES_FILE, check_raw_dir, read_clicks, read_purchases,
                              read_queries)
from irecgan.cikm.conversion_report import MAX_SESSION_STEPS, MIN_SESSION_STEPS, ConvertReport
from irecgan.data.logfile import format_step
from irecgan.errors import LogFormatError, UserError

ORDERS = ("time", "file")


# ---------------------------------------------------------------------------------------------
# Joining


def _check_unique_query_ids(path, queries):
    qid = queries["qid"]
    if len(qid) < 2:
        return
    order = np.argsort(qid, kind="mergesort")  # stable: the later line comes second
    sorted_q = qid[order]
    dup = np.nonzero(sorted_q[1:] == sorted_q[:-1])[0]
    if len(dup):
        first, second = order[dup[0]], order[dup[0] + 1]
        raise LogFormatError(path, int(queries["lineno"][second]), "queryId",
                             str(int(qid[second])),
                             "duplicate queryId (first on line %d)"
                             % int(queries["lineno"][first]))


def _click_summary(c_qid, c_tf, c_item, report):
    """Drop exact duplicate rows; per queryId: number of distinct rows, distinct items, an item.

    Returns (qids sorted unique, row counts, distinct item counts, item of the first row) and the
    distinct rows' queryIds (for the unknown-query count).
    """
    if len(c_qid) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty, empty, empty
    order = np.lexsort((c_item, c_tf, c_qid))
    q, t, i = c_qid[order], c_tf[order], c_item[order]
    same = (q[1:] == q[:-1]) & (t[1:] == t[:-1]) & (i[1:] == i[:-1])
    report.duplicate_click_rows_dropped = int(same.sum())
    keep = np.concatenate([[True], ~same])
    q, i = q[keep], i[keep]
    qids, first, n_rows = np.unique(q, return_index=True, return_counts=True)
    pair_order = np.lexsort((i, q))
    pq, pi = q[pair_order], i[pair_order]
    new_pair = np.concatenate([[True], (pq[1:] != pq[:-1]) | (pi[1:] != pi[:-1])])
    qids2, n_items = np.unique(pq[new_pair], return_counts=True)
    assert np.array_equal(qids, qids2)
    return qids, n_rows, n_items, i[first], q


def _lookup(sorted_keys, values):
    """For each value: its index in `sorted_keys` (ascending) and whether it is there."""
    idx = np.searchsorted(sorted_keys, values)
    if len(sorted_keys) == 0:
        return np.zeros(len(values), np.int64), np.zeros(len(values), bool)
    idx_c = np.minimum(idx, len(sorted_keys) - 1)
    return idx_c, (idx < len(sorted_keys)) & (sorted_keys[idx_c] == values)


def convert(raw_dir, out_path, order="time", progress=None):
    """Convert the raw files in `raw_dir` into the processed log `out_path`.

    `order`: "time" (queries of a session by timeframe, ties by file order; default) or "file".
    `progress`: optional callable taking a one-line message (e.g. every 200,000 rows).
    The output is written to a temporary file beside `out_path` and renamed when complete.
    Returns a `ConvertReport`. Raises `UserError` (missing file, bad header) or `LogFormatError`
    (a malformed row: file, line, field).
    """
    if order not in ORDERS:
        raise UserError("order must be one of %s, got %r" % ("|".join(ORDERS), order))
    check_raw_dir(raw_dir)
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise UserError("output directory does not exist: %s" % out_dir)
    if os.path.isdir(out_path):
        raise UserError("--out is a directory, expected a file name: %s" % out_path)
    say = progress if progress is not None else (lambda message: None)
    report = ConvertReport()
    report.order = order
    report.out_path = out_path
    q_path = os.path.join(raw_dir, QUERIES_FILE)
    c_path = os.path.join(raw_dir, CLICKS_FILE)
    p_path = os.path.join(raw_dir, PURCHASES_FILE)

    say("reading %s" % q_path)
    queries = read_queries(q_path, report, progress)
    _check_unique_query_ids(q_path, queries)
    say("reading %s" % c_path)
    c_qid, c_tf, c_item = read_clicks(c_path, report, progress)
    say("reading %s" % p_path)
    purchased = read_purchases(p_path, report, progress)

    say("joining")
    click_qids, n_rows, n_items, click_item, distinct_row_qids = _click_summary(
        c_qid, c_tf, c_item, report)
    del c_qid, c_tf, c_item

    # Clicks whose query is unknown / a test query.
    sorted_query_ids = np.sort(queries["qid"])
    test_query_ids = np.sort(queries["qid"][queries["is_test"]])
    _, known = _lookup(sorted_query_ids, distinct_row_qids)
    report.clicks_unknown_query = int((~known).sum())
    _, on_test = _lookup(test_query_ids, distinct_row_qids)
    report.clicks_on_test_queries = int(on_test.sum())

    is_test = queries["is_test"]
    report.test_queries_skipped = int(is_test.sum())
    idx, has_click = _lookup(click_qids, queries["qid"])
    rows_per_query = np.where(has_click, n_rows[idx] if len(n_rows) else 0, 0)
    items_per_query = np.where(has_click, n_items[idx] if len(n_items) else 0, 0)
    live = ~is_test
    report.queries_no_click = int((live & (rows_per_query == 0)).sum())
    multi = live & (rows_per_query > 1)
    report.queries_multi_click = int(multi.sum())
    report.queries_multi_click_same_item = int((multi & (items_per_query == 1)).sum())
    kept = live & (rows_per_query == 1)

    k_sid = queries["sid"][kept]
    k_tf = queries["tf"][kept]
    k_line = queries["lineno"][kept]
    k_off = queries["offset"][kept]
    k_qid = queries["qid"][kept]
    k_item = click_item[idx[kept]] if len(click_item) else np.zeros(0, np.int64)
    del queries

    time_order = np.lexsort((k_line, k_tf, k_sid))
    file_order = np.lexsort((k_line, k_sid))
    # A session is reordered when, in time order, its line numbers are not increasing.
    t_sid, t_line = k_sid[time_order], k_line[time_order]
    back = (t_sid[1:] == t_sid[:-1]) & (t_line[1:] < t_line[:-1])
    report.sessions_reordered = int(len(np.unique(t_sid[1:][back])))
    chosen = time_order if order == "time" else file_order

    sessions, lengths = np.unique(k_sid, return_counts=True)
    report.kept_lines = int(len(k_sid))
    report.sessions_written = int(len(sessions))
    report.session_lengths = dict((int(n), int(c)) for n, c in
                                  zip(*np.unique(lengths, return_counts=True)))
    loader = (lengths >= MIN_SESSION_STEPS) & (lengths <= MAX_SESSION_STEPS)
    report.sessions_too_short = int((lengths < MIN_SESSION_STEPS).sum())
    report.sessions_too_long = int((lengths > MAX_SESSION_STEPS).sum())
    report.sessions_loader_kept = int(loader.sum())
    report.lines_loader_kept = int(lengths[loader].sum())
    loader_sessions = set(int(s) for s in sessions[loader])

    say("writing %s" % out_path)
    tmp_path = "%s.tmp-%d" % (out_path, os.getpid())
    try:
        with io.open(q_path, "rb") as src, \
                io.open(tmp_path, "w", encoding="utf-8", newline="\n") as dst:
            _write_lines(src, dst, q_path, chosen, k_sid, k_qid, k_item, k_off, k_line,
                         purchased, loader_sessions, report, progress)
        os.replace(tmp_path, out_path)
    except (IOError, OSError) as err:
        _remove(tmp_path)
        raise UserError("cannot write %s: %s" % (out_path, err.strerror or err))
    except BaseException:
        _remove(tmp_path)
        raise
    say("done")
    return report


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _write_lines(src, dst, q_path, chosen, k_sid, k_qid, k_item, k_off, k_line, purchased,
                 loader_sessions, report, progress):
    written = 0
    for j in chosen.tolist():
        session, query, item = int(k_sid[j]), int(k_qid[j]), int(k_item[j])
        src.seek(int(k_off[j]))
        fields = src.readline().rstrip(b"\r\n").split(b";")
        if (len(fields) != len(QUERIES_COLUMNS) or not fields[0].isdigit()
                or int(fields[0]) != query):
            # Only possible when the file changed while we were reading it.
            raise UserError("%s changed during conversion (line %d)" % (q_path, int(k_line[j])))
        items = fields[8].decode("ascii")
        item_text = str(item)
        if ("," + items + ",").find("," + item_text + ",") < 0:
            report.clicks_not_in_items += 1
        purchase = 1 if (session, item) in purchased else 0
        report.purchases_matched += purchase
        if purchase and session in loader_sessions:
            report.purchases_loader_kept += 1
        dst.write(format_step(session, query, item_text, items.split(",") if items else [],
                              purchase))
        dst.write("\n")
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress("written: %d lines" % written)
