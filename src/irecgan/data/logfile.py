"""The processed log (SPEC 2.1): `session_id;state;click;rec_list;purchase`, one step a line.

Writer: `format_step`, `write_sessions`. Reader: `read_log` streams the file line by line
(binary, each line decoded as UTF-8 on its own, so an error names the line), validates every
field and returns the sessions with a `LogReport` that accounts for every line.
"""
import collections
import io
import re

from irecgan.data.types import Session
from irecgan.errors import LogFormatError, UserError

FIELDS = ("session_id", "state", "click", "rec_list", "purchase")
SEP = ";"
LIST_SEP = ","


def format_step(session_id, state, click, rec_list, purchase):
    """One log line (without newline). `rec_list` is a sequence of item ids (any str()-able)."""
    return SEP.join((str(int(session_id)), str(state), str(click),
                     LIST_SEP.join(str(x) for x in rec_list), str(int(purchase))))


def write_sessions(out, sessions):
    """Write `Session`s to `out` (a path or a text file object). Returns the number of lines."""
    if isinstance(out, str):
        with io.open(out, "w", encoding="utf-8", newline="\n") as handle:
            return write_sessions(handle, sessions)
    lines = 0
    for s in sessions:
        for state, click, rec, purchase in zip(s.states, s.clicks, s.rec_lists, s.purchases):
            out.write(format_step(s.session_id, state, click, rec, purchase))
            out.write("\n")
            lines += 1
    return lines


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------

# Short, stable names of the ways a line can be malformed (the keys of `LogReport.bad_lines`).
BAD_ENCODING = "not UTF-8 text"
BAD_NUL = "NUL byte (binary data?)"
BAD_BLANK = "blank line"
BAD_FIELD_COUNT = "wrong number of fields"
BAD_SESSION_ID = "session_id not an integer"
BAD_CLICK = "empty click"
BAD_ITEM_SPACE = "whitespace around an item id"
BAD_REC_ITEM = "empty item in rec_list"
BAD_PURCHASE = "purchase not 0/1"

SESSION_ID_RE = re.compile(r"^-?[0-9]+$")
_SPACE_RE = re.compile(r"\s")
_EXAMPLES_KEPT = 5


class LogReport(object):
    """What `read_log` saw: every line is accounted for, nothing is dropped silently.

    Attributes (all counts are ints):
      path, lenient, min_len, max_len: the call's arguments.
      lines_read:     physical lines in the file (blank ones included).
      trailing_blank: blank lines at the very end of the file (ignored, also in strict mode).
      bad_lines:      OrderedDict reason -> number of skipped lines (lenient mode only).
      bad_examples:   the first few skipped lines as "PATH:LINE: message" strings.
      steps_read:     well-formed step lines.
      clicks_appended: steps whose click was not in the shown list (appended, SPEC 2.1).
      noncontiguous_sessions: sessions whose lines are not contiguous in the file (merged).
      sessions_found: distinct session ids among the well-formed lines.
      dropped_short:  sessions with fewer than `min_len` steps (dropped).
      dropped_long:   sessions with more than `max_len` steps (dropped).
      sessions_kept, steps_kept: what `read_log` returned.
    """

    def __init__(self, path, lenient, min_len, max_len):
        self.path = path
        self.lenient = lenient
        self.min_len = min_len
        self.max_len = max_len
        self.lines_read = 0
        self.trailing_blank = 0
        self.bad_lines = collections.OrderedDict()
        self.bad_examples = []
        self.steps_read = 0
        self.clicks_appended = 0
        self.noncontiguous_sessions = 0
        self.sessions_found = 0
        self.dropped_short = 0
        self.dropped_long = 0
        self.sessions_kept = 0
        self.steps_kept = 0

    @property
    def n_bad_lines(self):
        return sum(self.bad_lines.values())

    def _count_bad(self, kind, error):
        self.bad_lines[kind] = self.bad_lines.get(kind, 0) + 1
        if len(self.bad_examples) < _EXAMPLES_KEPT:
            self.bad_examples.append(str(error))

    def as_dict(self):
        """The counts as a JSON-ready dict."""
        out = collections.OrderedDict()
        for key in ("path", "lenient", "min_len", "max_len", "lines_read", "trailing_blank",
                    "steps_read", "clicks_appended", "noncontiguous_sessions", "sessions_found",
                    "dropped_short", "dropped_long", "sessions_kept", "steps_kept"):
            out[key] = getattr(self, key)
        out["bad_lines"] = collections.OrderedDict(self.bad_lines)
        out["bad_examples"] = list(self.bad_examples)
        return out

    def summary_lines(self):
        """Printable lines (no newlines) describing the read and the filters."""
        lines = ["%s: %d lines read" % (self.path, self.lines_read)]
        if self.trailing_blank:
            lines.append("  trailing blank lines ignored: %d" % self.trailing_blank)
        if self.lenient:
            lines.append("  bad lines skipped (lenient): %d" % self.n_bad_lines)
            for reason, count in self.bad_lines.items():
                lines.append("    %-32s %d" % (reason + ":", count))
            for example in self.bad_examples:
                lines.append("    e.g. %s" % example)
        lines.append("  steps read: %d (click appended to its list: %d)"
                     % (self.steps_read, self.clicks_appended))
        lines.append("  sessions found: %d (with non-contiguous lines: %d)"
                     % (self.sessions_found, self.noncontiguous_sessions))
        lines.append("  dropped, fewer than %d steps: %d" % (self.min_len, self.dropped_short))
        if self.max_len is None:
            lines.append("  dropped, more than ... steps: no upper limit")
        else:
            lines.append("  dropped, more than %d steps: %d" % (self.max_len, self.dropped_long))
        lines.append("  sessions kept: %d, steps kept: %d" % (self.sessions_kept, self.steps_kept))
        return lines


def open_lines(path):
    """Open `path` for binary line iteration; a missing, unreadable or empty file is a
    one-line `UserError`. Returns an open binary file (the caller closes it)."""
    try:
        handle = io.open(path, "rb")
    except (IOError, OSError) as err:
        raise UserError("%s: cannot read: %s" % (path, err.strerror or err))
    try:
        first = handle.read(1)
        if not first:
            raise UserError("%s: empty file" % path)
        handle.seek(0)
    except (IOError, OSError) as err:  # e.g. a directory on some platforms
        handle.close()
        raise UserError("%s: cannot read: %s" % (path, err.strerror or err))
    except UserError:
        handle.close()
        raise
    return handle


def decode_line(path, lineno, raw):
    """One raw line (bytes, with its terminator) -> text without "\\n" / "\\r\\n".

    Raises `LogFormatError` (field 'line') for bytes that are not UTF-8 or contain NUL; the
    error carries `kind` (one of the BAD_* names)."""
    if raw.endswith(b"\n"):
        raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _error(path, lineno, "line", raw, "%s (invalid byte at offset %d)"
                     % (BAD_ENCODING, err.start), BAD_ENCODING)
    if "\x00" in text:
        raise _error(path, lineno, "line", raw, BAD_NUL, BAD_NUL)
    return text


def _error(path, lineno, field, value, reason, kind):
    err = LogFormatError(path, lineno, field, value, reason)
    err.kind = kind
    return err


def _check_item(path, lineno, field, item, shown, kind_empty, reason_empty):
    """An item id must be non-empty and have no surrounding whitespace (" 12" != "12")."""
    if not item:
        raise _error(path, lineno, field, shown, reason_empty, kind_empty)
    if item.strip() != item:
        raise _error(path, lineno, field, item, BAD_ITEM_SPACE, BAD_ITEM_SPACE)


def parse_line(path, lineno, text):
    """One log line (text, no terminator) -> (session_id, state, click, rec_list, purchase).

    `rec_list` is a list of str exactly as written (the click is NOT appended here). Raises
    `LogFormatError` naming the field; the error carries `kind` (one of the BAD_* names)."""
    parts = text.split(SEP)
    if len(parts) != len(FIELDS):
        raise _error(path, lineno, "line", text, "%s: expected %d ';'-separated fields (%s), "
                     "found %d" % (BAD_FIELD_COUNT, len(FIELDS), SEP.join(FIELDS), len(parts)),
                     BAD_FIELD_COUNT)
    sid_text, state, click, rec_text, purchase_text = parts
    if not SESSION_ID_RE.match(sid_text):
        raise _error(path, lineno, "session_id", sid_text, BAD_SESSION_ID, BAD_SESSION_ID)
    _check_item(path, lineno, "click", click, click, BAD_CLICK, BAD_CLICK)
    if rec_text:
        rec_list = rec_text.split(LIST_SEP)
        if "" in rec_list or _SPACE_RE.search(rec_text):  # slow path only to name the problem
            for pos, item in enumerate(rec_list):
                _check_item(path, lineno, "rec_list", item, rec_text, BAD_REC_ITEM,
                            "%s (position %d)" % (BAD_REC_ITEM, pos + 1))
    else:
        rec_list = []
    if purchase_text not in ("0", "1"):
        raise _error(path, lineno, "purchase", purchase_text, BAD_PURCHASE, BAD_PURCHASE)
    return int(sid_text), state, click, rec_list, int(purchase_text)


def read_log(path, lenient=False, min_len=2, max_len=40):
    """Read and validate a processed log (SPEC 2.1), streaming it line by line.

    Returns `(sessions, report)`: the `Session`s with `min_len <= steps <= max_len`
    (`max_len=None`: no upper bound), in order of their first line, each step's click appended
    to its rec_list when absent; and a `LogReport` accounting for every line and session.

    Strict mode (default): the first malformed line raises `LogFormatError`
    ("PATH:LINE: field 'F': reason (got 'v')"). `lenient=True`: malformed lines are skipped
    and counted by reason in the report. A blank line followed by more data is malformed;
    blank lines at the end of the file are ignored (and counted). A missing, unreadable or
    empty (or blank-only) file raises `UserError` in both modes.
    """
    if int(min_len) < 1:
        raise UserError("min_len must be >= 1, got %r" % (min_len,))
    if max_len is not None and int(max_len) < int(min_len):
        raise UserError("max_len (%r) must be >= min_len (%r)" % (max_len, min_len))
    report = LogReport(path, bool(lenient), int(min_len), None if max_len is None else int(max_len))
    groups = collections.OrderedDict()  # session_id -> [states, clicks, rec_lists, purchases]
    noncontiguous = set()
    last_sid = None
    blank_run = []  # line numbers of the current run of blank lines

    handle = open_lines(path)
    with handle:
        for lineno, raw in enumerate(handle, 1):
            report.lines_read = lineno
            try:
                text = decode_line(path, lineno, raw)
                if not text.strip():
                    blank_run.append(lineno)
                    continue
                if blank_run:  # blank lines followed by data: malformed
                    for blank in blank_run:
                        err = _error(path, blank, "line", "", BAD_BLANK, BAD_BLANK)
                        if not lenient:
                            raise err
                        report._count_bad(BAD_BLANK, err)
                    blank_run = []
                sid, state, click, rec_list, purchase = parse_line(path, lineno, text)
            except LogFormatError as err:
                if not lenient:
                    raise
                report._count_bad(err.kind, err)
                continue
            report.steps_read += 1
            if click not in rec_list:
                rec_list.append(click)
                report.clicks_appended += 1
            group = groups.get(sid)
            if group is None:
                group = groups[sid] = ([], [], [], [])
            elif sid != last_sid:
                noncontiguous.add(sid)
            last_sid = sid
            group[0].append(state)
            group[1].append(click)
            group[2].append(rec_list)
            group[3].append(purchase)
    report.trailing_blank = len(blank_run)
    if report.trailing_blank == report.lines_read:
        raise UserError("%s: empty file (only blank lines)" % path)
    report.noncontiguous_sessions = len(noncontiguous)
    report.sessions_found = len(groups)

    sessions = []
    for sid, (states, clicks, rec_lists, purchases) in groups.items():
        if len(clicks) < report.min_len:
            report.dropped_short += 1
        elif report.max_len is not None and len(clicks) > report.max_len:
            report.dropped_long += 1
        else:
            sessions.append(Session(sid, states, clicks, rec_lists, purchases))
            report.steps_kept += len(clicks)
    report.sessions_kept = len(sessions)
    return sessions, report
