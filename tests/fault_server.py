"""A fork server for tests/test_crash.py (a helper, not a test module).

It imports irecgan and TensorFlow once, then runs each training job in a forked child: a new
process as far as the run directory and its lock can tell, killed by a fault it was armed with
(`irecgan.rundir.faults`) or by this server after a delay, with SIGKILL. Forking saves the few seconds
a fresh interpreter needs to import TensorFlow, which lets one test kill and resume a run dozens
of times. The server itself never creates a TensorFlow session (the child of a process whose
TensorFlow thread pools exist would hang in its first session call).

stdin, one JSON object per line:
  {"run": RUN_DIR, "config": {...}, "fault": "EVENT:N[:ACTION]" or "", "kill_after": seconds
   or null, "log": FILE}   runs `experiment.run` in a child, its stdout and stderr to FILE, as
                           irecgan-train does (a UserError: "error: ..." and exit status 2);
                           kill_after: SIGKILL once the child has used that much CPU time
                           (Linux; elsewhere wall time), a clock that a busy machine does
                           not stretch
  {"cont": PID}            resumes a child that a `stop` fault stopped, and waits for it
stdout, one JSON object per line: {"pid": N, "exit": status or null, "signal": N or null,
  "stopped": bool, "cpu": CPU seconds the child used}
"""
import json
import os
import signal
import sys
import time
import traceback

from irecgan import experiment
from irecgan.cli.common import guarded
from irecgan.rundir import faults


def child(job):
    code = 1
    try:
        fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        faults.arm(job.get("fault") or "")
        guarded(lambda argv: experiment.run(job["run"], job["config"],
                                            show_progress=False))([])
        code = 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    except BaseException:  # a bug: its traceback goes to the log, the test sees exit 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def clock(pid, start):
    """CPU seconds `pid` has used (from /proc), or wall seconds since `start` without /proc."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(TICKS)  # utime + stime
    except (IOError, OSError, IndexError, ValueError):
        return time.time() - start


def wait(pid, kill_after=None):
    start = time.time()
    while True:
        flags = os.WUNTRACED | (os.WNOHANG if kill_after is not None else 0)
        done, status, usage = os.wait4(pid, flags)
        if done:
            break
        if clock(pid, start) >= kill_after:
            os.kill(pid, signal.SIGKILL)
            kill_after = None
        else:
            time.sleep(0.005)
    return {"pid": pid, "stopped": os.WIFSTOPPED(status), "cpu": usage.ru_utime + usage.ru_stime,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}


def main():
    for line in sys.stdin:
        job = json.loads(line)
        if "cont" in job:
            os.kill(job["cont"], signal.SIGCONT)
            reply = wait(job["cont"])
        else:
            pid = os.fork()
            if pid == 0:
                child(job)
            reply = wait(pid, job.get("kill_after"))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
