"""`irecgan-inspect-log`, run as a subprocess: output on success, one-line errors on failure."""
import io
import os
import subprocess
import sys

import pytest

from irecgan.cli.inspect_log import histogram_lines, session_stats
from irecgan.data.types import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inspect(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "irecgan.cli.inspect_log"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          universal_newlines=True)
    return proc.returncode, proc.stdout, proc.stderr


def _write(tmp_path, data, name="log.txt"):
    path = str(tmp_path / name)
    with io.open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


# session 1: 3 steps, one purchase; session 2: 2 steps; session 3: 1 step (dropped, < 2)
LOG = ("1;0;a;;0\n"
       "1;0;b;a,b,c;1\n"
       "1;0;c;b,c;0\n"
       "2;0;a;;0\n"
       "2;0;d;a,e;0\n"
       "3;0;z;;0\n")


def test_success_prints_statistics(tmp_path):
    path = _write(tmp_path, LOG)
    rc, out, err = _inspect(path)
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "%s: 6 lines read" % path
    assert "  dropped, fewer than 2 steps: 1" in lines
    assert "  sessions kept: 2, steps kept: 5" in lines
    assert "sessions:               2" in lines
    assert "steps:                  5" in lines
    assert "distinct clicked items: 4" in lines                       # a b c d
    assert "distinct items in lists (clicks included): 5" in lines    # a b c d e
    assert "purchases:              1 (20.00 % of steps)" in lines     # 1 / 5
    assert "mean list length:       2.00" in lines                     # (1+3+2+1+3) / 5
    assert "session length:         mean 2.50, min 2, max 3" in lines
    i = lines.index("session length histogram (steps, sessions):")
    assert lines[i + 1:i + 3] == ["    2        1 " + "#" * 40, "    3        1 " + "#" * 40]
    # ratio split of 2 sessions: 1 train, 0 valid, 1 test; the two sessions differ
    assert lines[i + 3:] == ["test sessions verbatim in training: 0 of 1 (0.00 %; ratio split "
                             "80/10/10, seed 1)"]


def test_length_flags_and_lenient(tmp_path):
    path = _write(tmp_path, LOG + "4;0;q;q;5\n")
    rc, out, err = _inspect(path, "--lenient", "--min_len=1", "--max_len=2")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert "  bad lines skipped (lenient): 1" in lines
    assert "  dropped, more than 2 steps: 1" in lines
    assert "  sessions kept: 2, steps kept: 3" in lines               # sessions 2 and 3


def _assert_one_line_error(rc, out, err, expected_start):
    assert rc == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.startswith("error: " + expected_start), err


def test_bad_field_on_line_7(tmp_path):
    path = _write(tmp_path, LOG + "4;0;q;q;yes\n")
    rc, out, err = _inspect(path)
    _assert_one_line_error(rc, out, err,
                           "%s:7: field 'purchase': purchase not 0/1 (got 'yes')" % path)


@pytest.mark.parametrize("case", ["empty", "missing", "binary", "no_argument"])
def test_unusable_inputs_give_one_clear_line(tmp_path, case):
    if case == "empty":
        path = _write(tmp_path, b"")
        expected = "%s: empty file" % path
    elif case == "missing":
        path = str(tmp_path / "missing.txt")
        expected = "%s: cannot read: No such file or directory" % path
    elif case == "binary":
        path = _write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")
        expected = "%s:1: field 'line': not UTF-8 text" % path
    else:
        rc, out, err = _inspect()
        _assert_one_line_error(rc, out, err, "expected exactly one FILE argument, got 0")
        return
    _assert_one_line_error(*_inspect(path), expected_start=expected)


def test_session_stats_and_histogram_bins():
    sessions = [Session(i, ["0"] * n, ["a"] * n, [["a"]] * n, [0] * n) for i, n in
                enumerate([2, 2, 3, 45])]
    stats = session_stats(sessions)
    assert (stats["sessions"], stats["steps"], stats["min_length"], stats["max_length"]) == \
        (4, 52, 2, 45)
    assert stats["mean_length"] == 13.0                                # 52 / 4
    # 2..45 is 44 values -> bins of ceil(44 / 20) = 3: 2-4 (3 sessions), ..., 44-45 (1 session)
    lines = histogram_lines(stats["lengths"])
    assert len(lines) == 15
    assert lines[0] == "    2-4        3 " + "#" * 40
    assert lines[1] == "    5-7        0 "
    assert lines[-1] == "  44-45        1 " + "#" * 13                  # round(40 / 3)
    assert session_stats([])["sessions"] == 0 and histogram_lines([]) == []


def test_verbatim_repeat_share_of_the_test_split(tmp_path):
    # 10 sessions, 5 copies of one session and 5 distinct ones; the ratio split with seed 1
    # puts 8 in training, 1 in valid, 1 in test
    from irecgan.data.overlap import verbatim_repeats, verbatim_share
    from irecgan.data.splits import ratio_split
    from irecgan.data.logfile import read_log
    text = ""
    for sid in range(1, 11):
        click = "x" if sid <= 5 else "y%d" % sid
        text += "%d;0;a;;0\n%d;%d;%s;a,%s;0\n" % (sid, sid, sid, click, click)
    path = _write(tmp_path, text)
    sessions, _ = read_log(path)
    train, _, test = ratio_split(sessions, 1)
    want = verbatim_repeats(train, test)
    assert want[1] == 1
    rc, out, err = _inspect(path)
    assert rc == 0, err
    assert out.splitlines()[-1] == ("test sessions verbatim in training: %d of 1 (%.2f %%; ratio "
                                    "split 80/10/10, seed 1)" % (want[0], 100.0 * want[0]))
    rc, out, err = _inspect(path, "--split=none")
    assert "verbatim in training" not in out
    # the log's state field and the session id do not count, clicks / lists / purchases do
    a = Session(1, ["0", "0"], ["a", "x"], [[], ["a", "x"]], [0, 0])
    b = Session(2, ["0", "7"], ["a", "x"], [[], ["a", "x"]], [0, 0])
    c = Session(3, ["0", "0"], ["a", "x"], [[], ["x", "a"]], [0, 0])
    d = Session(4, ["0", "0"], ["a", "x"], [[], ["a", "x"]], [0, 1])
    assert verbatim_repeats([a], [b, c, d]) == (1, 3)
    assert verbatim_share([a], [b, c]) == 50.0 and verbatim_share([a], []) is None
