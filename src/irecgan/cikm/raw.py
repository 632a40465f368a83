"""Reading the raw CIKM Cup 2016 (DIGINETICA) files (SPEC 2.1b): their names, their columns, and
each one's rows as checked integer columns.

The competition's files are `;`-separated, one header line each:

* `train-queries.csv`  `queryId;sessionId;userId;timeframe;duration;eventdate;
  searchstring.tokens;categoryId;items;is.test`
* `train-clicks.csv`   `queryId;timeframe;itemId`
* `train-purchases.csv` `sessionId;userId;timeframe;eventdate;ordernumber;itemId`

(the other three, item views, products and their categories, are named here for the synthetic
generator, cikm.synth; the converter does not read them).

The files are read line by line as bytes; per query a few integers are kept in compact arrays
(queryId, sessionId, timeframe, line number, byte offset; about 50 bytes a query), per click row
three integers, and a set of (session, item) purchase pairs. A malformed row raises
`LogFormatError` (file, line, field), a missing file or a wrong header `UserError`.
"""
import array
import io
import os

import numpy as np

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

PROGRESS_EVERY = 200000  # rows between two progress messages

_INT64_MAX_DIGITS = 18  # ids with more digits would not fit the int64 arrays


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


def read_queries(path, report, progress):
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


def read_clicks(path, report, progress):
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


def read_purchases(path, report, progress):
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
