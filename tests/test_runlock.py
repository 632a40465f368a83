"""One writer per run directory (irecgan.rundir.runlock): refusal, release, takeover of a dead
process's lock, and the check that run_sim.sh / run_cikm.sh use to skip a run in use."""
import os
import signal
import subprocess
import sys

import pytest

from irecgan.errors import UserError
from irecgan.rundir import runlock
from irecgan.rundir.runlock import LOCK, RunLock, holder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))


def lock_text(run_dir):
    with open(os.path.join(str(run_dir), LOCK)) as handle:
        return handle.read()


def test_second_lock_is_refused_in_one_line_until_the_first_is_released(tmp_path):
    first = RunLock(str(tmp_path)).acquire()
    assert lock_text(tmp_path).split()[0] == str(os.getpid())
    with pytest.raises(UserError) as err:
        RunLock(str(tmp_path)).acquire()  # another open file: refused even in one process
    assert str(err.value) == "%s is in use by process %d" % (tmp_path, os.getpid())
    assert holder(str(tmp_path)) == "process %d" % os.getpid()
    first.release()
    assert lock_text(tmp_path) == "" and holder(str(tmp_path)) is None
    notes = []
    with RunLock(str(tmp_path), log=notes.append):
        assert holder(str(tmp_path)) is not None
    assert notes == []  # a released lock is no stale one


def hold_in_child(run_dir):
    """A process that takes the lock and waits; returns it once it holds the lock."""
    code = ("import sys, time; from irecgan.rundir.runlock import RunLock; "
            "RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, run_dir], env=ENV,
                            stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"held"
    return proc


def test_lock_of_a_killed_process_is_taken_over_with_a_note(tmp_path):
    proc = hold_in_child(str(tmp_path))
    with pytest.raises(UserError) as err:
        RunLock(str(tmp_path)).acquire()
    assert str(err.value) == "%s is in use by process %d" % (tmp_path, proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert holder(str(tmp_path)) is None  # the kernel dropped the lock with the process
    assert lock_text(tmp_path).split()[0] == str(proc.pid)  # its line is still there
    notes = []
    lock = RunLock(str(tmp_path), log=notes.append).acquire()
    try:
        assert notes == ["note: %s was locked by process %d, which ended without releasing it; "
                         "taking the lock over" % (tmp_path, proc.pid)]
        assert lock_text(tmp_path).split()[0] == str(os.getpid())
    finally:
        lock.release()


def test_check_command_prints_skip_lines_and_changes_nothing(tmp_path):
    busy, free, missing = (str(tmp_path / name) for name in ("busy", "free", "missing"))
    os.makedirs(busy)
    os.makedirs(free)
    proc = hold_in_child(busy)
    try:
        before = lock_text(busy)
        check = subprocess.run([sys.executable, "-m", "irecgan.rundir.runlock", free, busy, missing],
                               env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert check.returncode == 1, check.stderr
        assert check.stdout.decode() == "skip %s: in use by process %d\n" % (busy, proc.pid)
        assert lock_text(busy) == before and not os.path.exists(missing)
        assert not os.path.exists(os.path.join(free, LOCK))
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert runlock.main([free, busy]) == 0  # free again


def test_the_check_does_not_import_tensorflow():
    code = "import sys, irecgan.rundir.runlock; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], env=ENV, stdout=subprocess.PIPE)
    assert out.stdout.decode().strip() == "False"


def test_owner_on_another_host_is_named():
    assert runlock._describe("12 elsewhere.example") == "process 12 on elsewhere.example"
    assert runlock._describe("") == "another process"
