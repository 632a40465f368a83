"""Train / validation / test splits (SPEC 2.3). Each function returns `(train, valid, test)`,
three lists of the given sessions (any objects; `file_split` needs a `session_id`).

* `fold_split`: the reference's split: shuffle with the seed, cut into `folds` folds of
  `n // folds` sessions; the first `n_train` folds train, the next `n_valid` validate, the rest
  (the last fold plus the `n % folds` leftover sessions) test. 68,722 sessions give
  65,284 / 1,718 / 1,720, the counts SPEC 2.1b quotes.
* `ratio_split`: shuffle with the seed, cut at `floor(n * ratio)` (80/10/10: 10,000 sessions give
  8,000 / 1,000 / 1,000); the test part gets the remainder.
* `file_split`: an explicit file of `session_id;train|valid|test` lines.
"""
import collections
import math

import numpy as np

from irecgan.data.logfile import SESSION_ID_RE, decode_line, open_lines
from irecgan.errors import LogFormatError, UserError

SPLIT_NAMES = ("train", "valid", "test")
_EPS = 1e-9


def _take(sessions, order):
    return [sessions[i] for i in order]


def fold_split(sessions, seed, folds=40, n_train=38, n_valid=1):
    """Seeded fold split (SPEC 2.3: 40 folds, 38 train, 1 valid, 1 test)."""
    folds, n_train, n_valid = int(folds), int(n_train), int(n_valid)
    if n_train < 1 or n_valid < 0 or n_train + n_valid >= folds:
        raise UserError("fold split needs 1 <= n_train, 0 <= n_valid and n_train + n_valid < "
                        "folds; got folds=%d n_train=%d n_valid=%d" % (folds, n_train, n_valid))
    n = len(sessions)
    if n < folds:
        raise UserError("a %d-fold split needs at least %d sessions, got %d" % (folds, folds, n))
    order = np.random.RandomState(seed).permutation(n)
    fold = n // folds
    a, b = n_train * fold, (n_train + n_valid) * fold
    return _take(sessions, order[:a]), _take(sessions, order[a:b]), _take(sessions, order[b:])


def ratios_ok(ratios):
    """Whether `ratios` (floats) are three non-negative fractions summing to 1 (within 1e-6),
    as `ratio_split` needs them."""
    return len(ratios) == 3 and min(ratios) >= 0 and abs(sum(ratios) - 1.0) <= 1e-6


def ratio_split(sessions, seed, ratios=(0.8, 0.1, 0.1)):
    """Seeded split by fractions (train, valid, test) that sum to 1."""
    ratios = tuple(float(r) for r in ratios)
    if not ratios_ok(ratios):
        raise UserError("split ratios must be three non-negative numbers summing to 1, got %r"
                        % (ratios,))
    n = len(sessions)
    order = np.random.RandomState(seed).permutation(n)
    a = int(math.floor(n * ratios[0] + _EPS))
    b = min(n, a + int(math.floor(n * ratios[1] + _EPS)))
    return _take(sessions, order[:a]), _take(sessions, order[a:b]), _take(sessions, order[b:])


def read_split_file(path):
    """`session_id;train|valid|test` lines -> OrderedDict session_id (int) -> split name.

    Blank lines at the end are ignored; any other malformed line (a blank line in the middle,
    wrong field count, a non-integer id, an unknown split name, an id listed twice) raises
    `LogFormatError` naming the file and line."""
    assignment = collections.OrderedDict()
    first_line = {}
    blank = None
    handle = open_lines(path)
    with handle:
        for lineno, raw in enumerate(handle, 1):
            text = decode_line(path, lineno, raw)
            if not text.strip():
                blank = lineno if blank is None else blank
                continue
            if blank is not None:
                raise LogFormatError(path, blank, "line", "", "blank line")
            parts = text.split(";")
            if len(parts) != 2:
                raise LogFormatError(path, lineno, "line", text, "expected 2 ';'-separated fields "
                                     "(session_id;train|valid|test), found %d" % len(parts))
            sid_text, name = parts
            if not SESSION_ID_RE.match(sid_text):  # as in the log: no "+1", "1_0", spaces
                raise LogFormatError(path, lineno, "session_id", sid_text,
                                     "session_id not an integer")
            sid = int(sid_text)
            if name not in SPLIT_NAMES:
                raise LogFormatError(path, lineno, "split", name,
                                     "split must be one of train, valid, test")
            if sid in assignment:
                raise LogFormatError(path, lineno, "session_id", sid_text,
                                     "session listed twice (first on line %d)" % first_line[sid])
            assignment[sid] = name
            first_line[sid] = lineno
    return assignment


def write_split_file(path, train, valid, test):
    """Write the session ids of a split, one `session_id;name` line each (reads back with
    `file_split`)."""
    with open(path, "w") as handle:
        for name, part in zip(SPLIT_NAMES, (train, valid, test)):
            for s in part:
                handle.write("%d;%s\n" % (s.session_id, name))


def file_split(sessions, path, allow_missing=False):
    """Split `sessions` by an explicit split file (see `read_split_file`); each part keeps the
    sessions' order. Sessions of the log that the file does not list are an error naming how
    many and the first few ids (`allow_missing=True` leaves them out instead). Ids the file lists
    but `sessions` lacks (e.g. dropped by the length filter) are ignored."""
    assignment = read_split_file(path)
    parts = {name: [] for name in SPLIT_NAMES}
    missing = []
    for s in sessions:
        name = assignment.get(s.session_id)
        if name is None:
            missing.append(s.session_id)
        else:
            parts[name].append(s)
    if missing and not allow_missing:
        shown = ", ".join(str(x) for x in missing[:5])
        raise UserError("%s: %d of the log's %d sessions are not in the split file (e.g. %s)"
                        % (path, len(missing), len(sessions), shown))
    return parts["train"], parts["valid"], parts["test"]
