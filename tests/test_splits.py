"""Splits (SPEC 2.3): fold split (38/1/1), ratio split (80/10/10), explicit split files."""
import io

import pytest

from irecgan.data.splits import (file_split, fold_split, ratio_split, read_split_file,
                                 write_split_file)
from irecgan.data.types import Session
from irecgan.errors import LogFormatError, UserError


def _sessions(n):
    return [Session(1000 + i, ["0"], ["a"], [["a"]], [0]) for i in range(n)]


def _ids(part):
    return [s.session_id for s in part]


def _check_partition(parts, sessions):
    ids = [set(_ids(p)) for p in parts]
    assert sum(len(p) for p in parts) == len(sessions)
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == set(_ids(sessions))


def test_fold_split_reference_counts():
    # 68,722 // 40 = 1,718 per fold: 38 * 1,718 = 65,284 train, 1,718 valid,
    # 68,722 - 65,284 - 1,718 = 1,720 test (SPEC 2.1b)
    sessions = _sessions(68722)
    parts = fold_split(sessions, seed=3)
    assert [len(p) for p in parts] == [65284, 1718, 1720]
    _check_partition(parts, sessions)


def test_fold_split_small_and_deterministic():
    sessions = _sessions(85)  # 85 // 40 = 2: 76 / 2 / 7
    a = fold_split(sessions, seed=1)
    assert [len(p) for p in a] == [76, 2, 7]
    _check_partition(a, sessions)
    b = fold_split(sessions, seed=1)
    assert [_ids(p) for p in a] == [_ids(p) for p in b]
    c = fold_split(sessions, seed=2)
    assert _ids(a[0]) != _ids(c[0])
    assert _ids(a[0]) != _ids(sessions[:76])   # shuffled
    # other fold layouts: 10 folds of 8 (85 // 10): 6 train folds, 2 valid folds, rest test
    assert [len(p) for p in fold_split(sessions, 0, folds=10, n_train=6, n_valid=2)] == \
        [48, 16, 21]


def test_fold_split_rejects_bad_arguments():
    with pytest.raises(UserError):
        fold_split(_sessions(39), seed=0)          # fewer sessions than folds
    with pytest.raises(UserError):
        fold_split(_sessions(100), 0, folds=40, n_train=39, n_valid=1)   # no test fold
    with pytest.raises(UserError):
        fold_split(_sessions(100), 0, folds=40, n_train=0)


def test_ratio_split_counts_and_determinism():
    sessions = _sessions(10000)
    parts = ratio_split(sessions, seed=5)
    assert [len(p) for p in parts] == [8000, 1000, 1000]
    _check_partition(parts, sessions)
    assert [_ids(p) for p in parts] == [_ids(p) for p in ratio_split(sessions, seed=5)]
    assert _ids(parts[0]) != _ids(ratio_split(sessions, seed=6)[0])
    # 7 sessions: floor(5.6) = 5 train, floor(0.7) = 0 valid, 2 test (the remainder)
    assert [len(p) for p in ratio_split(_sessions(7), 0)] == [5, 0, 2]
    assert [len(p) for p in ratio_split(_sessions(10), 0, (0.5, 0.5, 0.0))] == [5, 5, 0]
    with pytest.raises(UserError):
        ratio_split(sessions, 0, (0.8, 0.1))
    with pytest.raises(UserError):
        ratio_split(sessions, 0, (0.8, 0.3, -0.1))
    with pytest.raises(UserError):
        ratio_split(sessions, 0, (0.8, 0.1, 0.2))


def _write(tmp_path, text, name="split.txt"):
    path = str(tmp_path / name)
    with io.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def test_file_split_assigns_in_log_order(tmp_path):
    sessions = _sessions(5)  # ids 1000..1004
    path = _write(tmp_path, "1003;valid\n1000;train\n1004;test\n1001;train\n1002;train\n"
                            "77;test\n\n")   # 77 not in the log: ignored; trailing blank ok
    train, valid, test = file_split(sessions, path)
    assert (_ids(train), _ids(valid), _ids(test)) == ([1000, 1001, 1002], [1003], [1004])


def test_file_split_round_trip(tmp_path):
    sessions = _sessions(50)
    parts = ratio_split(sessions, seed=0)
    path = str(tmp_path / "s.txt")
    write_split_file(path, *parts)
    back = file_split(sessions, path)
    assert [sorted(_ids(p)) for p in back] == [sorted(_ids(p)) for p in parts]


def test_file_split_reports_missing_sessions(tmp_path):
    sessions = _sessions(8)
    path = _write(tmp_path, "1000;train\n1002;valid\n1004;test\n")
    with pytest.raises(UserError) as info:
        file_split(sessions, path)
    assert str(info.value) == ("%s: 5 of the log's 8 sessions are not in the split file "
                               "(e.g. 1001, 1003, 1005, 1006, 1007)" % path)
    parts = file_split(sessions, path, allow_missing=True)
    assert [_ids(p) for p in parts] == [[1000], [1002], [1004]]


@pytest.mark.parametrize("line, field, reason", [
    ("1001", "line", "expected 2 ';'-separated fields"),
    ("1001;train;x", "line", "expected 2 ';'-separated fields"),
    ("abc;train", "session_id", "session_id not an integer"),
    (" 1001;train", "session_id", "session_id not an integer"),
    ("1_001;train", "session_id", "session_id not an integer"),
    ("1001;training", "split", "split must be one of train, valid, test"),
    ("1000;test", "session_id", "session listed twice (first on line 1)"),
    ("", "line", "blank line"),
])
def test_split_file_errors_name_the_line(tmp_path, line, field, reason):
    path = _write(tmp_path, "1000;train\n1002;valid\n" + line + "\n1003;test\n")
    with pytest.raises(LogFormatError) as info:
        read_split_file(path)
    assert str(info.value).startswith("%s:3: field '%s': %s" % (path, field, reason))


def test_split_file_unreadable(tmp_path):
    with pytest.raises(UserError) as info:
        file_split(_sessions(2), str(tmp_path / "none.txt"))
    assert "cannot read" in str(info.value)
    with pytest.raises(UserError) as info:
        file_split(_sessions(2), _write(tmp_path, ""))
    assert str(info.value).endswith(": empty file")


def test_dataset_summary_states_the_verbatim_repeat_share(tmp_path):
    # 40 copies of one session: every test session repeats a training one
    from irecgan.data.dataset import load_dataset
    path = tmp_path / "log.txt"
    path.write_text(u"".join("%d;0;a;;0\n%d;0;b;a,b;0\n" % (i, i) for i in range(1, 41)))
    summary = load_dataset(str(path), split="ratio", seed=1).summary()
    assert summary["test_sessions"] == 4
    assert summary["test_verbatim_repeats"] == 4 and summary["test_verbatim_share_pct"] == 100.0
