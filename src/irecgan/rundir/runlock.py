"""One writer per run directory: an exclusive lock on `RUN_DIR/run.lock`.

The lock is an `fcntl.flock` on the file, so the kernel releases it when its process ends in any
way (exit, crash, SIGKILL). The file holds `PID HOST` of the holder while it is held and is
emptied on release; a file still naming a process whose lock is free was left by a process that
died holding it, and the next writer takes it over with a note. The file itself is never deleted
(deleting a lock file races with a process that has just opened it).

Locks of this kind are reliable on local file systems; on network file systems they depend on
the server (NFS v4 supports them).

    python -m irecgan.rundir.runlock RUN_DIR...

prints `skip RUN_DIR: in use by process N` for each directory some process holds and exits 1
if there was any, 0 otherwise (run_sim.sh and run_cikm.sh skip such runs). No TensorFlow here.
"""
import errno
import fcntl
import operator
import os
import socket
import sys

from irecgan.errors import UserError

LOCK = "run.lock"
# flag sets (operator.or_, not `|`: vermin takes `a.B | a.C` for a Python 3.10 union type)
EXCLUSIVE_NOW = operator.or_(fcntl.LOCK_EX, fcntl.LOCK_NB)
OPEN_OR_CREATE = operator.or_(os.O_RDWR, os.O_CREAT)


def _owner_text(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 256).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return text


def _describe(owner):
    """`"123 host"` -> `"process 123"` (plus the host when it is not this one)."""
    fields = owner.split()
    if not fields:
        return "another process"
    text = "process %s" % fields[0]
    if len(fields) > 1 and fields[1] != socket.gethostname():
        text += " on %s" % fields[1]
    return text


def _try_flock(fd):
    try:
        fcntl.flock(fd, EXCLUSIVE_NOW)
        return True
    except (IOError, OSError) as err:
        if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise


class RunLock(object):
    """The exclusive lock of `run_dir` (which must exist). `log(msg)` gets the takeover note."""

    def __init__(self, run_dir, log=None):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK)
        self.log = log or (lambda msg: sys.stderr.write(msg + "\n"))
        self.fd = None

    def acquire(self):
        """Take the lock; `UserError("RUN_DIR is in use by process N")` when another holds it."""
        fd = os.open(self.path, OPEN_OR_CREATE, 0o644)
        try:
            if not _try_flock(fd):
                raise UserError("%s is in use by %s" % (self.run_dir,
                                                        _describe(_owner_text(fd))))
            previous = _owner_text(fd)
            me = "%d %s" % (os.getpid(), socket.gethostname())
            if previous and previous != me:
                self.log("note: %s was locked by %s, which ended without releasing it; "
                         "taking the lock over" % (self.run_dir, _describe(previous)))
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, (me + "\n").encode("utf-8"))
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def release(self):
        """Empty the file and unlock it (a no-op when not held)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def holder(run_dir):
    """Who holds the lock of `run_dir` (`"process N"`), or None when nobody does. Changes
    nothing: a stale owner line stays for the next writer's note."""
    path = os.path.join(run_dir, LOCK)
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IOError, OSError) as err:
        if err.errno == errno.ENOENT:
            return None
        raise
    try:
        if _try_flock(fd):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _describe(_owner_text(fd))
    finally:
        os.close(fd)


def main(argv):
    if not argv:
        sys.stderr.write("usage: python -m irecgan.rundir.runlock RUN_DIR...\n")
        return 2
    busy = 0
    for run_dir in argv:
        who = holder(run_dir)
        if who is not None:
            busy += 1
            sys.stdout.write("skip %s: in use by %s\n" % (run_dir, who))
            sys.stdout.flush()
    return 1 if busy else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
