"""Raw CIKM Cup 2016 (DIGINETICA) files -> the processed log (SPEC 2.1b).

Input (a directory holding the competition's `;`-separated files, one header line each):

* `train-queries.csv`  `queryId;sessionId;userId;timeframe;duration;eventdate;
  searchstring.tokens;categoryId;items;is.test`
* `train-clicks.csv`   `queryId;timeframe;itemId`
* `train-purchases.csv` `sessionId;userId;timeframe;eventdate;ordernumber;itemId`

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

How it streams: the files are read line by line as bytes. Per query it keeps a few integers in
compact arrays (queryId, sessionId, timeframe, line number, byte offset; about 50 bytes a query),
per click row three integers, and a set of (session, item) purchase pairs. The `items` lists are
not held: the writing pass seeks back to each kept query's line. For the real sizes (923k queries,
1.1M clicks) this stays well under 200 MB.
"""
import array
import collections
import io
import os

import numpy as np

from irecgan.data.logfile import format_step
from irecgan.errors import LogFormatError, UserError

QUERIES_FILE = "train-queries.csv"
CLICKS_FILE = "train-clicks.csv"
PURCHASES_FILE = "train-purchases.csv"
ITEM_VIEWS_FILE = "train-item-views.csv"
PRODUCTS_FILE = "products.csv"
PRODUCT_CATEGORIES_FILE = "product-categories.csv"

QUERIES_COLUMNS = ("queryId", "sessionId", "userId", "timeframe", "duration", "eventdate",
                   "searchstring.tokens", "categoryId", "items", "is.test")
CLICKS_COLUMNS = ("queryId", "timeframe", "itemId")
PURCHASES_COLUMNS = ("sessionId", "userId", "timeframe", "eventdate", "ordernumber", "itemId")
ITEM_VIEWS_COLUMNS = ("sessionId", "userId", "itemId", "timeframe", "eventdate")
PRODUCTS_COLUMNS = ("itemId", "pricelog2", "product.name.tokens")
PRODUCT_CATEGORIES_COLUMNS = ("itemId", "categoryId")

# The files the converter reads, with their headers.
REQUIRED_FILES = ((QUERIES_FILE, QUERIES_COLUMNS), (CLICKS_FILE, CLICKS_COLUMNS),
                  (PURCHASES_FILE, PURCHASES_COLUMNS))

ORDERS = ("time", "file")
MIN_SESSION_STEPS = 2   # the loader's filter (SPEC 2.1), reported here, not applied
MAX_SESSION_STEPS = 40
PROGRESS_EVERY = 200000

_INT64_MAX_DIGITS = 18  # ids with more digits would not fit the int64 arrays


class ConvertReport(object):
    """What the converter read, dropped and wrote. Every count is an int.

    Queries file:
      queries_read                  data rows of train-queries.csv
      test_queries_skipped          rows with is.test = TRUE
      queries_no_click              non-test queries without any click row
      queries_multi_click           non-test queries with more than one distinct click row
      queries_multi_click_same_item   ... of which all click rows name the same item
    Clicks file:
      click_rows_read               data rows of train-clicks.csv
      duplicate_click_rows_dropped  rows equal to an earlier row (queryId, timeframe, itemId)
      clicks_unknown_query          distinct click rows whose queryId is not in the queries file
      clicks_on_test_queries        distinct click rows of is.test queries (ignored)
    Purchases file:
      purchase_rows_read            data rows of train-purchases.csv
    Output:
      kept_lines                    lines written (non-test queries with exactly one click)
      sessions_written              distinct sessions among them
      purchases_matched             lines with purchase = 1
      clicks_not_in_items           lines whose clicked item is not in the query's items list
                                    (the loader appends it, SPEC 2.1)
      sessions_reordered            sessions whose lines in timeframe order differ from file order
    The loader's 2..40 filter:
      sessions_too_short / sessions_loader_kept / sessions_too_long   (< 2, 2..40, > 40 lines)
      lines_loader_kept, purchases_loader_kept                        lines / purchase lines in
                                                                      the sessions it keeps
      session_lengths               {number of lines: number of sessions}
    blank_lines_skipped             empty lines in any of the three files
    """

    COUNTS = ("queries_read", "test_queries_skipped", "queries_no_click", "queries_multi_click",
              "queries_multi_click_same_item", "click_rows_read", "duplicate_click_rows_dropped",
              "clicks_unknown_query", "clicks_on_test_queries", "purchase_rows_read",
              "kept_lines", "sessions_written", "purchases_matched", "clicks_not_in_items",
              "sessions_reordered", "sessions_too_short", "sessions_loader_kept",
              "sessions_too_long", "lines_loader_kept", "purchases_loader_kept",
              "blank_lines_skipped")

    def __init__(self):
        for name in self.COUNTS:
            setattr(self, name, 0)
        self.session_lengths = {}
        self.order = "time"
        self.out_path = None

    def as_dict(self):
        """The counts, plus `session_lengths` (a dict), `order` and `out_path`."""
        result = collections.OrderedDict((name, getattr(self, name)) for name in self.COUNTS)
        result["session_lengths"] = dict(self.session_lengths)
        result["order"] = self.order
        result["out_path"] = self.out_path
        return result

    def summary_lines(self):
        """Human-readable lines: what was kept and what was dropped, and why."""
        def pct(num, den):
            return "%.2f%%" % (100.0 * num / den) if den else "n/a"
        r = self
        non_test = r.queries_read - r.test_queries_skipped
        return [
            "queries read: %d" % r.queries_read,
            "  skipped, is.test: %d" % r.test_queries_skipped,
            "  dropped, no click: %d" % r.queries_no_click,
            "  dropped, more than one click: %d (all on one item: %d)"
            % (r.queries_multi_click, r.queries_multi_click_same_item),
            "  kept, exactly one click: %d (%s of non-test queries)"
            % (r.kept_lines, pct(r.kept_lines, non_test)),
            "click rows read: %d" % r.click_rows_read,
            "  dropped, exact duplicate rows: %d" % r.duplicate_click_rows_dropped,
            "  ignored, unknown queryId: %d" % r.clicks_unknown_query,
            "  ignored, on is.test queries: %d" % r.clicks_on_test_queries,
            "purchase rows read: %d" % r.purchase_rows_read,
            "lines written: %d in %d sessions (order=%s), purchase=1 on %d (%s)"
            % (r.kept_lines, r.sessions_written, r.order, r.purchases_matched,
               pct(r.purchases_matched, r.kept_lines)),
            "  clicked item not in the shown items: %d" % r.clicks_not_in_items,
            "  sessions whose time order differs from file order: %d" % r.sessions_reordered,
            "loader filter %d..%d steps: keeps %d sessions (%d lines, purchase=1 on %d = %s); "
            "drops %d sessions of 1 line and %d of more than %d lines"
            % (MIN_SESSION_STEPS, MAX_SESSION_STEPS, r.sessions_loader_kept, r.lines_loader_kept,
               r.purchases_loader_kept, pct(r.purchases_loader_kept, r.lines_loader_kept),
               r.sessions_too_short, r.sessions_too_long, MAX_SESSION_STEPS),
            "blank lines skipped: %d" % r.blank_lines_skipped,
        ]


# ---------------------------------------------------------------------------------------------
# Reading


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _int(path, lineno, field, value):
    """A non-negative decimal integer (ASCII digits only)."""
    if value.isdigit() and len(value) <= _INT64_MAX_DIGITS:
        return int(value)
    if value.isdigit():
        raise LogFormatError(path, lineno, field, _text(value), "integer too large")
    raise LogFormatError(path, lineno, field, _text(value), "expected a non-negative integer")


def _check_int_or_na(path, lineno, field, value):
    if value and value != b"NA" and not value.isdigit():
        raise LogFormatError(path, lineno, field, _text(value),
                             "expected a non-negative integer or NA")


def _check_items(path, lineno, value):
    """`items`: comma-separated non-negative integers (may be empty)."""
    if not value:
        return
    if (not value.replace(b",", b"").isdigit() or value.startswith(b",")
            or value.endswith(b",") or b",," in value):
        raise LogFormatError(path, lineno, "items", _text(value),
                             "expected comma-separated non-negative integers")


def _parse_is_test(path, lineno, value):
    upper = value.upper()
    if upper == b"TRUE":
        return True
    if upper == b"FALSE":
        return False
    raise LogFormatError(path, lineno, "is.test", _text(value), "expected TRUE or FALSE")


class _RowReader(object):
    """Iterates a raw file's data rows as (lineno, byte offset, list of bytes fields).

    Checks the header and the number of fields; empty lines are skipped and counted.
    """

    def __init__(self, path, columns, progress=None, label=None):
        self.path = path
        self.columns = columns
        self.progress = progress
        self.label = label or os.path.basename(path)
        self.blank_lines = 0
        self.rows = 0

    def __iter__(self):
        path, columns = self.path, self.columns
        n_fields = len(columns)
        try:
            handle = io.open(path, "rb")
        except (IOError, OSError) as err:
            raise UserError("cannot read %s: %s" % (path, err.strerror or err))
        with handle:
            header = handle.readline()
            offset = len(header)
            _check_header(path, header, columns)
            lineno = 1
            for raw in handle:
                lineno += 1
                line_offset = offset
                offset += len(raw)
                line = raw.rstrip(b"\r\n")
                if not line:
                    self.blank_lines += 1
                    continue
                fields = line.split(b";")
                if len(fields) != n_fields:
                    raise LogFormatError(
                        path, lineno, "row", _text(line),
                        "expected %d ';'-separated fields (%s), found %d"
                        % (n_fields, ";".join(columns), len(fields)))
                self.rows += 1
                if self.progress is not None and self.rows % PROGRESS_EVERY == 0:
                    self.progress("%s: %d rows" % (self.label, self.rows))
                yield lineno, line_offset, fields


def _check_header(path, header, columns):
    expected = ";".join(columns)
    text = header.decode("utf-8", "replace")
    if text.startswith(u"\ufeff"):
        text = text[1:]
    text = text.rstrip("\r\n")
    if not header:
        raise UserError("%s: empty file; expected a header line with the columns %s"
                        % (path, expected))
    if text.split(";") != list(columns):
        shown = text if len(text) <= 120 else text[:120] + "..."
        raise UserError("%s: unexpected header %r; expected the columns %s"
                        % (path, shown, expected))


def check_raw_dir(raw_dir):
    """Raise a one-line `UserError` unless the three files the converter needs are in `raw_dir`."""
    if not os.path.isdir(raw_dir):
        raise UserError("raw directory not found: %s" % raw_dir)
    missing = [name for name, _ in REQUIRED_FILES
               if not os.path.isfile(os.path.join(raw_dir, name))]
    if missing:
        raise UserError("missing in %s: %s (the CIKM Cup 2016 / DIGINETICA raw files are needed: "
                        "%s)" % (raw_dir, ", ".join(missing),
                                 ", ".join(name for name, _ in REQUIRED_FILES)))


def _read_queries(path, report, progress):
    """Columns of the queries file as int64 arrays, plus the items validation."""
    qid, sid, tframe, lineno_a, offset_a = (array.array("q") for _ in range(5))
    is_test = array.array("b")
    reader = _RowReader(path, QUERIES_COLUMNS, progress)
    for lineno, offset, f in reader:
        qid.append(_int(path, lineno, "queryId", f[0]))
        sid.append(_int(path, lineno, "sessionId", f[1]))
        _check_int_or_na(path, lineno, "userId", f[2])
        tframe.append(_int(path, lineno, "timeframe", f[3]))
        _check_int_or_na(path, lineno, "duration", f[4])
        _check_int_or_na(path, lineno, "categoryId", f[7])
        _check_items(path, lineno, f[8])
        is_test.append(1 if _parse_is_test(path, lineno, f[9]) else 0)
        lineno_a.append(lineno)
        offset_a.append(offset)
    report.queries_read = reader.rows
    report.blank_lines_skipped += reader.blank_lines
    cols = {"qid": qid, "sid": sid, "tf": tframe, "lineno": lineno_a, "offset": offset_a}
    out = dict((k, np.frombuffer(v, dtype=np.int64) if len(v) else np.zeros(0, np.int64))
               for k, v in cols.items())
    out["is_test"] = (np.frombuffer(is_test, dtype=np.int8) if len(is_test)
                      else np.zeros(0, np.int8)).astype(bool)
    return out


def _read_clicks(path, report, progress):
    qid, tframe, item = array.array("q"), array.array("q"), array.array("q")
    reader = _RowReader(path, CLICKS_COLUMNS, progress)
    for lineno, _, f in reader:
        qid.append(_int(path, lineno, "queryId", f[0]))
        tframe.append(_int(path, lineno, "timeframe", f[1]))
        item.append(_int(path, lineno, "itemId", f[2]))
    report.click_rows_read = reader.rows
    report.blank_lines_skipped += reader.blank_lines
    return tuple(np.frombuffer(a, dtype=np.int64) if len(a) else np.zeros(0, np.int64)
                 for a in (qid, tframe, item))


def _read_purchases(path, report, progress):
    """The set of (sessionId, itemId) purchased."""
    pairs = set()
    reader = _RowReader(path, PURCHASES_COLUMNS, progress)
    for lineno, _, f in reader:
        session = _int(path, lineno, "sessionId", f[0])
        _check_int_or_na(path, lineno, "userId", f[1])
        _int(path, lineno, "timeframe", f[2])
        _int(path, lineno, "ordernumber", f[4])
        pairs.add((session, _int(path, lineno, "itemId", f[5])))
    report.purchase_rows_read = reader.rows
    report.blank_lines_skipped += reader.blank_lines
    return pairs


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
    queries = _read_queries(q_path, report, progress)
    _check_unique_query_ids(q_path, queries)
    say("reading %s" % c_path)
    c_qid, c_tf, c_item = _read_clicks(c_path, report, progress)
    say("reading %s" % p_path)
    purchased = _read_purchases(p_path, report, progress)

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
