"""CIKM Cup 2016 (DIGINETICA) raw files -> processed log (SPEC 2.1b); synthetic raw directories."""
import io
import json
import os
import subprocess
import sys

import pytest

from irecgan.cikm import convert as cv
from irecgan.cikm.synth import write_synthetic_raw
from irecgan.errors import LogFormatError, UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

Q_HEADER = ("queryId;sessionId;userId;timeframe;duration;eventdate;searchstring.tokens;"
            "categoryId;items;is.test")
C_HEADER = "queryId;timeframe;itemId"
P_HEADER = "sessionId;userId;timeframe;eventdate;ordernumber;itemId"


def _q(qid, sid, tframe, items, test="FALSE", user="NA"):
    return "%d;%d;%s;%d;120;2016-05-09;;0;%s;%s" % (qid, sid, user, tframe, items, test)


# Three sessions, written out of session order and interleaved (session 9's first query sits
# between session 5's rows). Line numbers of train-queries.csv are in the comments.
HAND_QUERIES = [
    _q(11, 5, 300, "1,2,3"),                 # 2  kept, click 2
    _q(12, 5, 100, "4,5,6", user="77"),      # 3  kept, click 4 (its click row is duplicated)
    _q(31, 9, 5, "10,11,12"),                # 4  dropped: item 12 clicked twice (two times)
    _q(13, 5, 200, "7,8", test="TRUE"),      # 5  is.test (has a click: ignored)
    _q(14, 5, 200, "9,10"),                  # 6  kept, click 9
    _q(25, 3, 10, "2,9"),                    # 7  kept, click 9; same timeframe as query 22
    _q(21, 3, 0, "1,2"),                     # 8  dropped: two distinct clicks
    _q(22, 3, 10, "3,4", test="false"),      # 9  kept, click 4 (is.test in lower case)
    _q(23, 3, 20, "5,6", test="False"),      # 10 dropped: no click
    _q(24, 3, 20, "6,7"),                    # 11 kept, click 8 (not among the shown items)
    _q(32, 9, 6, "13"),                      # 12 kept, click 13
]
HAND_CLICKS = ["11;310;2", "12;105;4", "12;105;4", "13;205;7", "14;210;9", "21;1;1", "21;2;2",
               "22;11;4", "24;25;8", "25;12;9", "31;6;12", "31;7;12", "32;7;13", "999;1;1"]
HAND_PURCHASES = ["3;NA;50;2016-05-09;1;4", "5;77;400;2016-05-09;2;5",
                  "5;77;400;2016-05-09;2;9", "5;77;400;2016-05-09;2;2",
                  "5;77;400;2016-05-09;2;2", "99;NA;1;2016-05-09;3;1",
                  "3;NA;50;2016-05-09;1;13"]  # 13 is clicked in session 9, not 3

# sessionId;queryId;clicked_item;items;purchase
EXPECTED_TIME_ORDER = [
    "3;25;9;2,9;0",      # tf 10, line 7 (tie with query 22 at tf 10: file order)
    "3;22;4;3,4;1",      # tf 10, line 9; item 4 purchased in session 3
    "3;24;8;6,7;0",      # tf 20
    "5;12;4;4,5,6;0",    # tf 100 (item 5 was purchased, but 4 was clicked)
    "5;14;9;9,10;1",     # tf 200
    "5;11;2;1,2,3;1",    # tf 300
    "9;32;13;13;0",
]
EXPECTED_FILE_ORDER = [
    "3;25;9;2,9;0",
    "3;22;4;3,4;1",
    "3;24;8;6,7;0",
    "5;11;2;1,2,3;1",    # line 2
    "5;12;4;4,5,6;0",    # line 3
    "5;14;9;9,10;1",     # line 6
    "9;32;13;13;0",
]
EXPECTED_HAND_COUNTS = {
    "queries_read": 11, "test_queries_skipped": 1, "queries_no_click": 1,
    "queries_multi_click": 2, "queries_multi_click_same_item": 1, "click_rows_read": 14,
    "duplicate_click_rows_dropped": 1, "clicks_unknown_query": 1, "clicks_on_test_queries": 1,
    "purchase_rows_read": 7, "kept_lines": 7, "sessions_written": 3, "purchases_matched": 3,
    "clicks_not_in_items": 1, "sessions_reordered": 1, "sessions_too_short": 1,
    "sessions_loader_kept": 2, "sessions_too_long": 0, "lines_loader_kept": 6,
    "purchases_loader_kept": 3, "blank_lines_skipped": 0, "session_lengths": {1: 1, 3: 2},
}


def write_raw(raw_dir, queries, clicks, purchases, q_header=Q_HEADER, c_header=C_HEADER,
              p_header=P_HEADER, newline="\n"):
    os.makedirs(str(raw_dir), exist_ok=True)
    for name, header, rows in ((cv.QUERIES_FILE, q_header, queries),
                               (cv.CLICKS_FILE, c_header, clicks),
                               (cv.PURCHASES_FILE, p_header, purchases)):
        with io.open(os.path.join(str(raw_dir), name), "w", encoding="utf-8",
                     newline="") as handle:
            handle.write(newline.join([header] + list(rows)) + newline)
    return str(raw_dir)


def read_lines(path):
    with io.open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def counts(report):
    d = report.as_dict()
    d.pop("order")
    d.pop("out_path")
    return d


@pytest.fixture
def hand_dir(tmp_path):
    return write_raw(tmp_path / "raw", HAND_QUERIES, HAND_CLICKS, HAND_PURCHASES)


# --- exact output on a hand-written directory ---------------------------------------------------

def test_hand_written_time_order(hand_dir, tmp_path):
    out = str(tmp_path / "log.txt")
    report = cv.convert(hand_dir, out)
    assert read_lines(out) == EXPECTED_TIME_ORDER
    assert counts(report) == EXPECTED_HAND_COUNTS
    assert report.order == "time"


def test_order_file_differs_only_on_the_unsorted_session(hand_dir, tmp_path):
    out = str(tmp_path / "log.txt")
    report = cv.convert(hand_dir, out, order="file")
    assert read_lines(out) == EXPECTED_FILE_ORDER
    assert counts(report) == EXPECTED_HAND_COUNTS  # the counts do not depend on the order
    differ = sorted(set(line.split(";")[0] for line, other in
                        zip(EXPECTED_TIME_ORDER, EXPECTED_FILE_ORDER) if line != other))
    assert differ == ["5"]


def test_bad_order(hand_dir, tmp_path):
    with pytest.raises(UserError, match="order"):
        cv.convert(hand_dir, str(tmp_path / "x"), order="random")


def test_crlf_and_blank_lines(tmp_path):
    raw = write_raw(tmp_path / "raw", HAND_QUERIES + [""], HAND_CLICKS, HAND_PURCHASES,
                    newline="\r\n")
    out = str(tmp_path / "log.txt")
    report = cv.convert(raw, out)
    assert read_lines(out) == EXPECTED_TIME_ORDER
    assert report.blank_lines_skipped == 1


def test_bom_in_header(tmp_path):
    raw = write_raw(tmp_path / "raw", HAND_QUERIES, HAND_CLICKS, HAND_PURCHASES,
                    q_header=u"\ufeff" + Q_HEADER)
    out = str(tmp_path / "log.txt")
    cv.convert(raw, out)
    assert read_lines(out) == EXPECTED_TIME_ORDER


# --- duplicate click rows ----------------------------------------------------------------------

def test_duplicate_click_rows_keep_a_one_click_query(tmp_path):
    queries = [_q(1, 1, 0, "5,6,7"), _q(2, 1, 10, "8,9"), _q(3, 1, 20, "8,9")]
    clicks = ["1;3;6"] * 3 + ["2;12;8", "2;12;8", "2;13;9"] + ["3;21;8", "3;22;8"]
    raw = write_raw(tmp_path / "raw", queries, clicks, [])
    out = str(tmp_path / "log.txt")
    report = cv.convert(raw, out)
    assert read_lines(out) == ["1;1;6;5,6,7;0"]
    assert report.duplicate_click_rows_dropped == 3
    assert report.queries_multi_click == 2          # query 2 (8 and 9), query 3 (8 twice)
    assert report.queries_multi_click_same_item == 1
    assert report.kept_lines == 1


# --- planted counts on synthetic directories ------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_converter_counts_equal_planted_counts(tmp_path, seed):
    raw = str(tmp_path / "raw")
    planted = write_synthetic_raw(raw, seed)
    assert planted.pop("planted_sessions") == 40
    for name in ("train-item-views.csv", "products.csv", "product-categories.csv"):
        assert os.path.getsize(os.path.join(raw, name)) > 0
    messages = []
    outs = {}
    for order in cv.ORDERS:
        outs[order] = str(tmp_path / ("log-%s.txt" % order))
        report = cv.convert(raw, outs[order], order=order, progress=messages.append)
        assert counts(report) == dict(planted), order
    assert messages  # progress messages were given
    # Every quirk was planted at least once, so the equalities above test something.
    for key in ("test_queries_skipped", "queries_no_click", "queries_multi_click",
                "queries_multi_click_same_item", "duplicate_click_rows_dropped",
                "clicks_unknown_query", "clicks_on_test_queries", "purchases_matched",
                "sessions_reordered", "sessions_too_short", "sessions_too_long"):
        assert planted[key] > 0, key
    assert planted["purchases_matched"] < planted["purchase_rows_read"]  # some do not match
    # Same lines in both orders, different order on some sessions.
    time_lines, file_lines = read_lines(outs["time"]), read_lines(outs["file"])
    assert sorted(time_lines) == sorted(file_lines) and time_lines != file_lines
    with io.open(os.path.join(raw, cv.QUERIES_FILE), encoding="utf-8") as handle:
        rows = handle.read().splitlines()
    assert rows[0] == Q_HEADER
    sizes = [len(r.split(";")[8].split(",")) for r in rows[1:]]
    assert min(sizes) >= 10 and max(sizes) <= 100
    assert any(r.split(";")[2] == "NA" for r in rows[1:])


def test_synthetic_is_deterministic(tmp_path):
    a = write_synthetic_raw(str(tmp_path / "a"), 5, n_sessions=10)
    b = write_synthetic_raw(str(tmp_path / "b"), 5, n_sessions=10)
    assert a == b
    for name in os.listdir(str(tmp_path / "a")):
        with io.open(str(tmp_path / "a" / name), "rb") as fa, \
                io.open(str(tmp_path / "b" / name), "rb") as fb:
            assert fa.read() == fb.read(), name


def test_output_readable_by_log_reader(tmp_path):
    from irecgan.data.logfile import read_log
    raw = str(tmp_path / "raw")
    planted = write_synthetic_raw(raw, 3)
    out = str(tmp_path / "log.txt")
    cv.convert(raw, out)
    sessions, log_report = read_log(out)
    assert len(sessions) == planted["sessions_loader_kept"]
    assert sum(len(s.clicks) for s in sessions) == planted["lines_loader_kept"]
    assert sum(sum(s.purchases) for s in sessions) == planted["purchases_loader_kept"]
    assert log_report.clicks_appended == planted["clicks_not_in_items"]
    sids = [s.session_id for s in sessions]
    assert sids == sorted(sids)
    every, _ = read_log(out, min_len=1, max_len=None)
    lengths = {}
    for s in every:
        lengths[len(s.clicks)] = lengths.get(len(s.clicks), 0) + 1
    assert lengths == planted["session_lengths"]


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["queries", "clicks", "purchases"])
def test_bad_header_is_one_line_naming_file_and_columns(tmp_path, which):
    headers = {"q_header": Q_HEADER, "c_header": C_HEADER, "p_header": P_HEADER}
    key = which[0] + "_header"
    expected = headers[key]
    headers[key] = expected.replace(";", ",")
    raw = write_raw(tmp_path / "raw", HAND_QUERIES, HAND_CLICKS, HAND_PURCHASES, **headers)
    with pytest.raises(UserError) as info:
        cv.convert(raw, str(tmp_path / "log.txt"))
    message = str(info.value)
    assert "\n" not in message
    assert "train-%s.csv" % which in message
    assert expected in message
    assert not isinstance(info.value, LogFormatError)


@pytest.mark.parametrize("which, rows, lineno, field", [
    ("queries", HAND_QUERIES[:2] + [_q(40, 7, 1, "1,2", test="maybe")], 4, "is.test"),
    ("queries", HAND_QUERIES[:1] + ["41;x7;NA;1;1;2016-05-09;;0;1,2;FALSE"], 3, "sessionId"),
    ("queries", HAND_QUERIES[:1] + ["42;7;NA;1;1;2016-05-09;;0;1,,2;FALSE"], 3, "items"),
    ("queries", HAND_QUERIES[:1] + ["43;7;NA;1;1;2016-05-09;;0;1,2"], 3, "row"),
    ("queries", HAND_QUERIES[:3] + [_q(11, 8, 1, "1")], 5, "queryId"),   # duplicate queryId
    ("queries", ["44;7;jo;1;1;2016-05-09;;0;1;FALSE"], 2, "userId"),
    ("clicks", HAND_CLICKS[:2] + ["12;abc;4"], 4, "timeframe"),
    ("clicks", ["12;1;-4"], 2, "itemId"),
    ("purchases", HAND_PURCHASES[:1] + ["NA;NA;50;2016-05-09;1;4"], 3, "sessionId"),
])
def test_bad_row_names_file_line_and_field(tmp_path, which, rows, lineno, field):
    parts = {"queries": HAND_QUERIES, "clicks": HAND_CLICKS, "purchases": HAND_PURCHASES}
    parts[which] = rows
    raw = write_raw(tmp_path / "raw", parts["queries"], parts["clicks"], parts["purchases"])
    out = str(tmp_path / "log.txt")
    with pytest.raises(LogFormatError) as info:
        cv.convert(raw, out)
    err = info.value
    path = os.path.join(raw, "train-%s.csv" % which)
    assert (err.path, err.lineno, err.field) == (path, lineno, field)
    assert str(err).startswith("%s:%d: field '%s'" % (path, lineno, field))
    assert not os.path.exists(out)
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith("log.txt")] == []


def test_missing_files(tmp_path):
    raw = write_raw(tmp_path / "raw", HAND_QUERIES, HAND_CLICKS, HAND_PURCHASES)
    os.remove(os.path.join(raw, cv.CLICKS_FILE))
    with pytest.raises(UserError, match="missing in .*train-clicks.csv"):
        cv.convert(raw, str(tmp_path / "log.txt"))
    with pytest.raises(UserError, match="not found"):
        cv.convert(str(tmp_path / "nowhere"), str(tmp_path / "log.txt"))


# --- command line -------------------------------------------------------------------------------

def _cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "irecgan.cli.prepare_cikm"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, cwd=ROOT)


def test_cli_synthetic_then_convert(tmp_path):
    raw, out = str(tmp_path / "raw"), str(tmp_path / "log.txt")
    planted = write_synthetic_raw(str(tmp_path / "same"), 4, n_sessions=12)
    proc = _cli("--synthetic_out=" + raw, "--seed=4", "--synthetic_sessions=12", "--out=" + out,
                "--order=file", "--report_json=" + str(tmp_path / "report.json"))
    assert proc.returncode == 0, proc.stderr
    assert "kept_lines: %d" % planted["kept_lines"] in proc.stdout
    assert "dropped, exact duplicate rows: %d" % planted["duplicate_click_rows_dropped"] \
        in proc.stdout
    assert "done" in proc.stderr
    assert len(read_lines(out)) == planted["kept_lines"]
    with io.open(str(tmp_path / "report.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["order"] == "file" and report["kept_lines"] == planted["kept_lines"]


def test_cli_missing_files_exit_2(tmp_path):
    proc = _cli("--raw_dir=" + str(tmp_path), "--out=" + str(tmp_path / "log.txt"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: missing in ")
    proc = _cli("--out=" + str(tmp_path / "log.txt"))
    assert proc.returncode == 2 and "--raw_dir" in proc.stderr
