"""The processed-log reader (SPEC 2.1): parsing, validation, lenient counting, filters."""
import io
import os

import pytest

from irecgan.data.logfile import LogReport, read_log, write_sessions
from irecgan.data.types import Session
from irecgan.errors import LogFormatError, UserError


def _write(tmp_path, text, name="log.txt"):
    path = str(tmp_path / name)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    with io.open(path, "wb") as handle:
        handle.write(data)
    return path


GOOD = (
    "7;s0;a;;0\n"        # session 7, step 0: empty list -> [a]
    "7;s1;b;a,b,c;1\n"   # click b already shown
    "9;0;x;y,z;0\n"      # session 9 interleaved with 7
    "7;s2;d;a,b;0\n"     # d not shown -> appended
    "9;0;y;x,y;0\n"
)


def test_reads_sessions_grouped_in_order_of_first_appearance(tmp_path):
    path = _write(tmp_path, GOOD)
    sessions, report = read_log(path)
    assert sessions == [
        Session(7, ["s0", "s1", "s2"], ["a", "b", "d"], [["a"], ["a", "b", "c"], ["a", "b", "d"]],
                [0, 1, 0]),
        Session(9, ["0", "0"], ["x", "y"], [["y", "z", "x"], ["x", "y"]], [0, 0]),
    ]
    assert report.lines_read == 5
    assert report.steps_read == 5
    assert report.clicks_appended == 3          # a (empty list), d, x
    assert report.noncontiguous_sessions == 2   # 7 (lines 1,2,4) and 9 (lines 3,5)
    assert report.sessions_found == 2
    assert (report.dropped_short, report.dropped_long) == (0, 0)
    assert (report.sessions_kept, report.steps_kept) == (2, 5)
    assert report.n_bad_lines == 0


def test_crlf_and_missing_final_newline_and_trailing_blank_lines(tmp_path):
    crlf = _write(tmp_path, GOOD.replace("\n", "\r\n").rstrip("\r\n"), "crlf.txt")
    expected, _ = read_log(_write(tmp_path, GOOD))
    sessions, report = read_log(crlf)
    assert sessions == expected
    assert report.lines_read == 5
    trailing = _write(tmp_path, GOOD + "\n\r\n", "trailing.txt")
    sessions, report = read_log(trailing)
    assert sessions == expected
    assert report.lines_read == 7
    assert report.trailing_blank == 2


def test_round_trip_with_writer(tmp_path):
    original = [Session(3, ["1", "2"], ["10", "11"], [["10", "12"], ["11", "10"]], [0, 1]),
                Session(4, ["", ""], ["5", "6"], [["5"], ["6", "7", "8"]], [1, 0])]
    path = str(tmp_path / "w.txt")
    assert write_sessions(path, original) == 4
    sessions, _ = read_log(path)
    assert sessions == original


def test_length_filters_are_counted(tmp_path):
    lines = ["1;0;a;a;0"]                                  # 1 step: too short
    lines += ["2;0;a;a;0"] * 2                             # 2 steps: kept
    lines += ["3;0;a;a;0"] * 4                             # 4 steps: too long for max_len=3
    path = _write(tmp_path, "\n".join(lines) + "\n")
    sessions, report = read_log(path, min_len=2, max_len=3)
    assert [s.session_id for s in sessions] == [2]
    assert (report.sessions_found, report.dropped_short, report.dropped_long) == (3, 1, 1)
    assert (report.sessions_kept, report.steps_kept) == (1, 2)
    sessions, report = read_log(path, min_len=1, max_len=None)
    assert [s.session_id for s in sessions] == [1, 2, 3]
    assert report.steps_kept == 7
    # the SPEC defaults: 2..40 steps
    path = _write(tmp_path, "".join("%d;0;a;a;0\n" % sid for sid, n in
                                    ((1, 1), (2, 2), (3, 40), (4, 41)) for _ in range(n)), "d")
    sessions, report = read_log(path)
    assert [s.session_id for s in sessions] == [2, 3]
    assert (report.dropped_short, report.dropped_long) == (1, 1)


@pytest.mark.parametrize("line, field, reason", [
    ("1;0;a;a", "line", "wrong number of fields"),
    ("1;0;a;a;0;extra", "line", "wrong number of fields"),
    ("x1;0;a;a;0", "session_id", "session_id not an integer"),
    ("1.5;0;a;a;0", "session_id", "session_id not an integer"),
    (";0;a;a;0", "session_id", "session_id not an integer"),
    ("1;0;a;a;2", "purchase", "purchase not 0/1"),
    ("1;0;a;a;", "purchase", "purchase not 0/1"),
    ("1;0;a;a; 1", "purchase", "purchase not 0/1"),
    ("1;0;;a;0", "click", "empty click"),
    ("1;0; a;a;0", "click", "whitespace around an item id"),
    ("1;0;a;1,,2;0", "rec_list", "empty item in rec_list (position 2)"),
    ("1;0;a;1,2,;0", "rec_list", "empty item in rec_list (position 3)"),
    ("1;0;a;1, 2;0", "rec_list", "whitespace around an item id"),
])
def test_strict_errors_name_file_line_and_field(tmp_path, line, field, reason):
    path = _write(tmp_path, "5;0;a;a;0\n5;0;b;a,b;0\n" + line + "\n5;0;c;c;0\n")
    with pytest.raises(LogFormatError) as info:
        read_log(path)
    err = info.value
    assert (err.path, err.lineno, err.field) == (path, 3, field)
    assert str(err).startswith("%s:3: field '%s': %s" % (path, field, reason))
    assert "\n" not in str(err)


def test_blank_line_in_the_middle_is_an_error_in_strict_mode(tmp_path):
    path = _write(tmp_path, "1;0;a;a;0\n\n1;0;b;b;0\n")
    with pytest.raises(LogFormatError) as info:
        read_log(path)
    assert str(info.value).startswith("%s:2: field 'line': blank line" % path)


def test_undecodable_bytes_name_the_line(tmp_path):
    path = _write(tmp_path, b"1;0;a;a;0\n1;0;b;\xff\xfe;0\n")
    with pytest.raises(LogFormatError) as info:
        read_log(path)
    assert str(info.value).startswith(
        "%s:2: field 'line': not UTF-8 text (invalid byte at offset 6)" % path)
    nul = _write(tmp_path, b"1;0;a;a;0\n1;0;b\x00;b;0\n", "nul")
    with pytest.raises(LogFormatError) as info:
        read_log(nul)
    assert str(info.value).startswith("%s:2: field 'line': NUL byte" % nul)


def test_binary_garbage_fails_on_its_first_line(tmp_path):
    garbage = bytes(bytearray(range(256))) * 4  # contains \x00 and invalid UTF-8
    path = _write(tmp_path, garbage)
    with pytest.raises(LogFormatError) as info:
        read_log(path)
    assert info.value.lineno == 1


def test_empty_missing_and_directory_are_one_line_user_errors(tmp_path):
    empty = _write(tmp_path, b"")
    with pytest.raises(UserError) as info:
        read_log(empty)
    assert str(info.value) == "%s: empty file" % empty
    blank = _write(tmp_path, b"\n \r\n", "blank")
    with pytest.raises(UserError) as info:
        read_log(blank, lenient=True)
    assert str(info.value) == "%s: empty file (only blank lines)" % blank
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(UserError) as info:
        read_log(missing)
    assert str(info.value) == "%s: cannot read: No such file or directory" % missing
    with pytest.raises(UserError) as info:
        read_log(str(tmp_path))
    assert str(info.value) == "%s: cannot read: Is a directory" % tmp_path


def test_bad_length_arguments(tmp_path):
    path = _write(tmp_path, GOOD)
    with pytest.raises(UserError):
        read_log(path, min_len=0)
    with pytest.raises(UserError):
        read_log(path, min_len=5, max_len=4)


def test_lenient_mode_skips_and_counts_by_reason(tmp_path):
    text = ("1;0;a;a;0\n"     # 1 ok
            "1;0;b;b;7\n"     # 2 purchase
            "\n"              # 3 blank (followed by data)
            "x;0;c;c;0\n"     # 4 session_id
            "1;0;c;c,,d;0\n"  # 5 rec_list
            "1;0;d;d;1\n"     # 6 ok
            "2;0;e;e;0\n"     # 7 ok (session 2 has 1 step: dropped_short)
            "1;0;f;f;9\n"     # 8 purchase
            "1;0;g\n"         # 9 field count
            "1;0;h;h;2\n"     # 10 purchase
            "1;0;i;i;3\n"     # 11 purchase (6th bad line: not kept as an example)
            "\n")             # 12 trailing blank
    path = _write(tmp_path, text)
    sessions, report = read_log(path, lenient=True)
    assert sessions == [Session(1, ["0", "0"], ["a", "d"], [["a"], ["d"]], [0, 1])]
    assert report.lines_read == 12
    assert report.trailing_blank == 1
    assert dict(report.bad_lines) == {
        "purchase not 0/1": 4, "blank line": 1, "session_id not an integer": 1,
        "empty item in rec_list": 1, "wrong number of fields": 1}
    assert list(report.bad_lines) == ["purchase not 0/1", "blank line",
                                      "session_id not an integer", "empty item in rec_list",
                                      "wrong number of fields"]
    assert report.n_bad_lines == 8
    # every line is accounted for: 3 good steps + 8 bad + 1 trailing blank = 12
    assert report.steps_read + report.n_bad_lines + report.trailing_blank == report.lines_read
    assert [e.split(": field")[0] for e in report.bad_examples] == [
        "%s:%d" % (path, n) for n in (2, 3, 4, 5, 8)]
    assert (report.sessions_found, report.dropped_short, report.sessions_kept) == (2, 1, 1)
    lines = report.summary_lines()
    assert lines[0] == "%s: 12 lines read" % path
    assert "  bad lines skipped (lenient): 8" in lines
    assert "  sessions kept: 1, steps kept: 2" in lines
    assert "  dropped, fewer than 2 steps: 1" in lines
    assert all("\n" not in line for line in lines)


def test_lenient_mode_still_rejects_unreadable_files(tmp_path):
    with pytest.raises(UserError):
        read_log(_write(tmp_path, b""), lenient=True)


def test_reader_streams_instead_of_reading_the_whole_file(tmp_path, monkeypatch):
    # A file object whose read() with no size (the whole file) would fail: iteration only.
    path = _write(tmp_path, GOOD)
    real_open = io.open

    class NoSlurp(object):
        def __init__(self, handle):
            self._h = handle

        def read(self, size=-1):
            assert size is not None and size >= 0, "read the whole file"
            return self._h.read(size)

        def readlines(self, *args):
            raise AssertionError("readlines")

        def __getattr__(self, name):
            return getattr(self._h, name)

        def __iter__(self):
            return iter(self._h)

        def __enter__(self):
            return self

        def __exit__(self, *args):
            self._h.close()

    monkeypatch.setattr(io, "open", lambda *a, **k: NoSlurp(real_open(*a, **k)))
    sessions, _ = read_log(path)
    assert len(sessions) == 2


def test_report_as_dict(tmp_path):
    _, report = read_log(_write(tmp_path, GOOD))
    assert isinstance(report, LogReport)
    data = report.as_dict()
    assert data["sessions_kept"] == 2 and data["steps_kept"] == 5 and data["bad_lines"] == {}
    assert os.path.basename(data["path"]) == "log.txt"
