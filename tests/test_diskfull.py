"""A full disk (issue 25): a run directory on a small tmpfs that fills up while a checkpoint, a
metrics record or results.json is written. Each is one line naming the file and ENOSPC (exit
status 2 in a process, no traceback), what the failed write took is given back, the previous
checkpoint stays intact, and once space is freed the same command finishes byte-identical to an
uninterrupted run.

The disk fills at a chosen write deterministically: the process stops (irecgan.rundir.faults `stop`)
or a test hook runs just before that write, then a filler file takes every free page of the
tmpfs (or all but one); tmpfs allocates whole pages, so the write fails exactly when it needs a
new one. Mounting needs root (the tests run as root): without it they fail, saying so.
"""
import errno
import io
import json
import os
import re
import signal
import subprocess

import numpy as np
import pytest

from irecgan import errors
from irecgan.config import resolve
from irecgan.errors import UserError
from irecgan.rundir import checkpoint, faults
from irecgan.rundir.checkpoint import Checkpointer, verify
from irecgan.rundir.runner import METRICS, RESULTS, TIMING
from test_checkpoint import Tiny, folders
from test_crash import Server, own_lines
from test_runner import open_runner, read_bytes
from tiny_logs import write_mdp_log

FILLER = "filler"
HINT = "free space and run the same command to resume"


def mount_tmpfs(folder, size):
    os.makedirs(folder)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", folder],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        pytest.fail("cannot mount a tmpfs at %s (euid %d%s): %s; these tests fill a small "
                    "disk and need to run as root (or with CAP_SYS_ADMIN)" % (
                        folder, os.geteuid(), "" if os.geteuid() == 0 else ", not root",
                        proc.stdout.decode("utf-8", "replace").strip()))


def unmount(folder):
    if subprocess.run(["umount", folder]).returncode != 0:
        subprocess.run(["umount", "-l", folder])  # busy: detach it all the same


@pytest.fixture
def disk(tmp_path):
    """A 4 MiB tmpfs under tmp_path, unmounted afterwards."""
    folder = str(tmp_path / "disk")
    mount_tmpfs(folder, "4m")
    try:
        yield folder
    finally:
        unmount(folder)


def free_bytes(folder):
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def fill(folder, leave_pages=0):
    """Take all free space of the tmpfs at `folder` but `leave_pages` pages with a filler file;
    returns its path."""
    path = os.path.join(folder, FILLER)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for chunk in (1 << 20, 4096):
            while True:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as err:
                    assert err.errno == errno.ENOSPC
                    break
        assert free_bytes(folder) == 0
        page = os.statvfs(folder).f_frsize
        os.ftruncate(fd, os.fstat(fd).st_size - leave_pages * page)
    finally:
        os.close(fd)
    assert free_bytes(folder) == leave_pages * os.statvfs(folder).f_frsize
    return path


def message(path):
    return "%s: No space left on device (ENOSPC); %s" % (path, HINT)


# ------------------------------------------------------------------------------------------------
# The helper

def test_disk_full_recognises_oserrors_and_tensorflows_messages():
    err = errors.disk_full(OSError(errno.ENOSPC, "No space left on device"), "/r/metrics.jsonl")
    assert isinstance(err, UserError) and str(err) == message("/r/metrics.jsonl")
    assert errors.disk_full(OSError(errno.EACCES, "Permission denied"), "/r/x") is None
    assert errors.disk_full(ValueError("nothing about disks"), "/r/x") is None
    assert errors.disk_full(err, "/elsewhere") is err
    tf_text = ("Graph execution error:\n\nNode: 'save/SaveV2'\n/r/checkpoints/ckpt-3.partial/"
               "model.data-00000-of-00001.tempstate1935461532961811750; No space left on device"
               "\n\t [[{{node save/SaveV2}}]]")
    assert str(errors.disk_full(RuntimeError(tf_text), "/r/checkpoints/ckpt-3.partial")) == \
        message("/r/checkpoints/ckpt-3.partial/model.data-00000-of-00001")
    quota = errors.disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"), "/r/x")
    assert str(quota) == "/r/x: Disk quota exceeded (EDQUOT); %s" % HINT


# ------------------------------------------------------------------------------------------------
# In one process: the Checkpointer and the Runner

@pytest.fixture
def tiny():
    model = Tiny()
    yield model
    model.close()


def test_checkpoint_variables_on_a_full_disk(disk, tiny):
    """TensorFlow's Saver hits ENOSPC (ResourceExhaustedError on TF 1.15 and 2.x)."""
    directory = os.path.join(disk, "checkpoints")
    ckpt = Checkpointer(directory, tiny.saver, keep=1)
    tiny.set(1.0)
    ckpt.save(tiny.session, {"n": 1})
    filler = fill(disk)
    tiny.set(2.0)
    with pytest.raises(errors.DiskFullError) as err:
        ckpt.save(tiny.session, {"n": 2})
    assert str(err.value) == message(os.path.join(directory, "ckpt-1.partial",
                                                  "model.data-00000-of-00001"))
    # the partial folder is gone at once; keep=1 did not drop the previous checkpoint
    assert folders(directory) == ["ckpt-0"]
    assert verify(os.path.join(directory, "ckpt-0")) is None
    os.remove(filler)
    assert ckpt.save(tiny.session, {"n": 2}) == 1
    tiny.set(0.0)
    assert ckpt.restore(tiny.session) == {"n": 2} and tiny.get() == 2.0
    assert folders(directory) == ["ckpt-1"]


@pytest.mark.parametrize("after, name", [("checkpoint.variables", "state.npz"),
                                         ("checkpoint.marker", checkpoint.MARKER)])
def test_checkpoint_state_and_marker_on_a_full_disk(disk, tiny, monkeypatch, after, name):
    """Python's own writes hit ENOSPC (OSError)."""
    directory = os.path.join(disk, "checkpoints")
    ckpt = Checkpointer(directory, tiny.saver, keep=1)
    tiny.set(1.0)
    ckpt.save(tiny.session, {"n": 1, "big": np.zeros(5000)})  # state.npz is over a page
    fillers = []
    monkeypatch.setattr(faults, "point", lambda event, partial=None: fillers.append(fill(disk))
                        if event == after and not fillers else None)
    tiny.set(2.0)
    with pytest.raises(errors.DiskFullError) as err:
        ckpt.save(tiny.session, {"n": 2, "big": np.zeros(5000)})
    assert str(err.value) == message(os.path.join(directory, "ckpt-1.partial", name))
    assert folders(directory) == ["ckpt-0"]
    assert verify(os.path.join(directory, "ckpt-0")) is None
    os.remove(fillers[0])
    assert ckpt.save(tiny.session, {"n": 2, "big": np.zeros(5000)}) == 1


def test_metrics_record_on_a_full_disk_is_taken_back(disk):
    run_dir = os.path.join(disk, "run")
    runner = open_runner(run_dir)
    try:
        runner.log_metrics({"phase": "agent", "epoch": 1, "train_loss": 1.0})
        runner.save("agent epoch 1")
        before = read_bytes(os.path.join(run_dir, METRICS))
        filler = fill(disk)
        # a record longer than what is left of the file's last page: part of it fits, then
        # the write fails; that part is cut off again
        with pytest.raises(errors.DiskFullError) as err:
            runner.log_metrics({"phase": "agent", "epoch": 2, "note": "x" * 5000})
        assert str(err.value) == message(os.path.join(run_dir, METRICS))
        assert read_bytes(os.path.join(run_dir, METRICS)) == before
        assert runner.state["n_metrics"] == 1
        os.remove(filler)
        runner.log_metrics({"phase": "agent", "epoch": 2, "train_loss": 0.5})
    finally:
        runner.close()
    assert [json.loads(line)["epoch"] for line in
            read_bytes(os.path.join(run_dir, METRICS)).splitlines()] == [1, 2]


def test_results_on_a_full_disk_leave_no_temporary_file(disk):
    run_dir = os.path.join(disk, "run")
    runner = open_runner(run_dir)
    try:
        filler = fill(disk, leave_pages=1)  # timing.json fits, results.json does not
        with pytest.raises(errors.DiskFullError) as err:
            runner.write_results({"method": "pg", "offline": {}})
        assert str(err.value) == message(os.path.join(run_dir, RESULTS))
        assert os.path.exists(os.path.join(run_dir, TIMING))
        assert not os.path.exists(os.path.join(run_dir, RESULTS))
        assert not os.path.exists(os.path.join(run_dir, RESULTS + ".tmp"))
        os.remove(filler)
        runner.write_results({"method": "pg", "offline": {}})
    finally:
        runner.close()
    assert json.loads(read_bytes(os.path.join(run_dir, RESULTS)).decode("utf-8"))["method"] == \
        "pg"


# ------------------------------------------------------------------------------------------------
# Whole runs in processes (tests/fault_server.py), as irecgan-train runs them

TINY = dict(embed_dim=4, hidden=8, layers=1, batch_size=16, agent_epochs=3, threads=1,
            n_items=50, seed=3, method="pg")


def complete(run_dir):
    folder = os.path.join(run_dir, "checkpoints")
    if not os.path.isdir(folder):
        return []
    return sorted(n for n in os.listdir(folder) if re.match(r"^ckpt-\d+$", n))


def stop_fill_continue(server, run_dir, config, event, disk, leave_pages=0):
    """Run until `event` (stopped there), fill the disk, let it go on; returns (reply, filler)."""
    stopped = server.run(run_dir, config, fault=event + ":stop")
    assert stopped["stopped"], stopped["log"]
    filler = fill(disk, leave_pages)
    return server.cont(stopped), filler


def assert_one_line_error(reply, expected):
    assert reply["exit"] == 2, reply["log"]
    assert "Traceback" not in reply["log"], reply["log"]
    errors = [line for line in own_lines(reply["log"]) if line.startswith("error:")]
    assert errors == ["error: " + expected], reply["log"]
    assert own_lines(reply["log"])[-1] == "error: " + expected


def test_full_disk_at_a_record_a_checkpoint_and_the_results_then_resume(tmp_path, disk):
    log, _ = write_mdp_log(tmp_path)
    config = resolve(dict(TINY, data=log))
    server = Server(str(tmp_path))
    try:
        reference = str(tmp_path / "reference")
        done = server.run(reference, config)
        assert done["exit"] == 0, done["log"]
        run_dir = os.path.join(disk, "run")

        # (b) the first metrics record: metrics.jsonl is empty, the record needs a page
        reply, filler = stop_fill_continue(server, run_dir, config, "metrics.line:1", disk)
        assert_one_line_error(reply, message(os.path.join(run_dir, METRICS)))
        assert read_bytes(os.path.join(run_dir, METRICS)) == b""
        os.remove(filler)

        # (a) the second checkpoint's variables (TensorFlow's Saver)
        reply, filler = stop_fill_continue(server, run_dir, config, "checkpoint.start:2", disk)
        assert_one_line_error(reply, message(os.path.join(
            run_dir, "checkpoints", "ckpt-1.partial", "model.data-00000-of-00001")))
        assert os.listdir(os.path.join(run_dir, "checkpoints")) == ["ckpt-0"]
        assert verify(os.path.join(run_dir, "checkpoints", "ckpt-0")) is None
        assert len(read_bytes(os.path.join(run_dir, METRICS)).splitlines()) == 2
        os.remove(filler)

        # (c) results.json: stopped as the final evaluation starts; timing.json gets the one
        # page left, results.json none
        reply, filler = stop_fill_continue(server, run_dir, config, "run@final:1", disk,
                                           leave_pages=1)
        assert_one_line_error(reply, message(os.path.join(run_dir, RESULTS)))
        assert "resuming %s from checkpoint (agent epoch 1)" % run_dir in reply["log"]
        assert not os.path.exists(os.path.join(run_dir, RESULTS))
        assert not os.path.exists(os.path.join(run_dir, RESULTS + ".tmp"))
        assert [verify(os.path.join(run_dir, "checkpoints", n)) for n in complete(run_dir)] \
            == [None, None]
        os.remove(filler)

        finished = server.run(run_dir, config)
        assert finished["exit"] == 0, finished["log"]
        assert "Traceback" not in finished["log"]
        for name in (METRICS, RESULTS):
            assert read_bytes(os.path.join(run_dir, name)) == \
                read_bytes(os.path.join(reference, name)), name
        assert not [n for n in os.listdir(os.path.join(run_dir, "checkpoints"))
                    if n.endswith(".partial")]
    finally:
        server.close()
