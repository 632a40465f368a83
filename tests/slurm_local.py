"""A real single-node Slurm on localhost for the launcher tests (Debian's slurm-wlm and munge).

`LocalSlurm(folder).start()` writes a minimal slurm.conf into `folder`, starts a munged of its own
(its own key and socket in `folder`, so the system's munge is neither needed nor touched), then
slurmctld and slurmd on free ports, and waits until the node is idle; `stop()` cancels the jobs
left and stops the three daemons by their pid files. Clients (sbatch, squeue, scancel) find the
cluster through `SLURM_CONF` (`env()`). Needs root (slurmd runs jobs as their users). If a daemon
does not come up, `start()` raises `SlurmError` holding the daemons' logs.

By hand (what the README's acceptance commands use):

    python3 tests/slurm_local.py start /tmp/irecgan-slurm   # prints: export SLURM_CONF=...
    python3 tests/slurm_local.py stop /tmp/irecgan-slurm
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

DAEMONS = ("slurmd", "slurmctld", "munged")


class SlurmError(RuntimeError):
    pass


def _free_port():
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child of ours counts as dead
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except IOError:
        return False


class LocalSlurm(object):
    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        self.conf = os.path.join(self.folder, "slurm.conf")
        self.socket = os.path.join(self.folder, "munge", "munge.socket")
        self.node = socket.gethostname().split(".")[0]

    def env(self, base=None):
        env = dict(os.environ if base is None else base)
        env["SLURM_CONF"] = self.conf
        return env

    def _path(self, *parts):
        return os.path.join(self.folder, *parts)

    def logs(self):
        """The daemons' logs (their last 4,000 characters each), for error messages."""
        text = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log", "slurmctld.out", "slurmd.out"):
            path = self._path("log", name)
            if os.path.exists(path):
                with open(path, errors="replace") as handle:
                    text.append("--- %s ---\n%s" % (path, handle.read()[-4000:]))
        return "\n".join(text) or "(no daemon log in %s)" % self._path("log")

    def _fail(self, what):
        raise SlurmError("%s\n%s" % (what, self.logs()))

    def _write_conf(self):
        cpus = os.cpu_count() or 1
        lines = [
            "ClusterName=irecgantest",
            "SlurmctldHost=%s" % self.node,
            "SlurmctldPort=%d" % _free_port(),
            "SlurmdPort=%d" % _free_port(),
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # a requeued job becomes eligible cred_expire + 1 s after the requeue (Slurm waits
            # for the first start's credential to expire; default 120 s): 10 s for the tests
            "AuthInfo=socket=%s,cred_expire=10" % self.socket,
            "SlurmUser=root",
            "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SchedulerType=sched/backfill",
            "SchedulerParameters=sched_interval=2",
            "StateSaveLocation=%s" % self._path("state"),
            "SlurmdSpoolDir=%s" % self._path("spool"),
            "SlurmctldPidFile=%s" % self._path("slurmctld.pid"),
            "SlurmdPidFile=%s" % self._path("slurmd.pid"),
            "SlurmctldLogFile=%s" % self._path("log", "slurmctld.log"),
            "SlurmdLogFile=%s" % self._path("log", "slurmd.log"),
            "NodeName=%s CPUs=%d State=UNKNOWN" % (self.node, cpus),
            "PartitionName=debug Nodes=%s Default=YES MaxTime=INFINITE State=UP" % self.node,
        ]
        with open(self.conf, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def _run_daemon(self, name, args):
        out = self._path("log", name + ".out")
        with open(out, "w") as handle:
            proc = subprocess.run(args, stdout=handle, stderr=subprocess.STDOUT,
                                  env=self.env(), timeout=60)
        if proc.returncode != 0:
            self._fail("%s exited with status %d" % (" ".join(args), proc.returncode))

    def _wait(self, what, check, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if check():
                return
            time.sleep(0.5)
        self._fail("Slurm did not start: %s within %d s" % (what, timeout))

    def start(self):
        if os.geteuid() != 0:
            raise SlurmError("the local Slurm needs root (slurmd runs the jobs), running as uid %d"
                             % os.geteuid())
        for tool in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel"):
            if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
                raise SlurmError("%s not found: install Slurm and munge (as root: apt-get install "
                                 "-y slurm-wlm munge; .ci/run does this)" % tool)
        for sub in ("munge", "state", "spool", "log"):
            os.makedirs(self._path(sub), exist_ok=True)
        # munged checks that the socket's folder and its parents are reachable by everyone
        for path in (self.folder, self._path("munge")):
            os.chmod(path, 0o755)
        key = self._path("munge", "munge.key")
        with open(key, "wb") as handle:
            handle.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self._write_conf()
        sbin = lambda tool: shutil.which(tool) or "/usr/sbin/" + tool  # noqa: E731
        self._run_daemon("munged", [
            sbin("munged"), "--socket=" + self.socket, "--key-file=" + key,
            "--pid-file=" + self._path("munge", "munged.pid"),
            "--log-file=" + self._path("log", "munged.log"),
            "--seed-file=" + self._path("munge", "munged.seed")])
        self._wait("munged's socket", lambda: os.path.exists(self.socket), 20)
        self._run_daemon("slurmctld", [sbin("slurmctld"), "-f", self.conf])
        self._run_daemon("slurmd", [sbin("slurmd"), "-f", self.conf])

        def idle():
            proc = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True, timeout=30)
            return proc.returncode == 0 and proc.stdout.strip() == "idle"

        self._wait("node %s idle in sinfo" % self.node, idle, 60)
        return self

    def _pids(self):
        pids = {}
        for name, path in (("slurmd", self._path("slurmd.pid")),
                           ("slurmctld", self._path("slurmctld.pid")),
                           ("munged", self._path("munge", "munged.pid"))):
            try:
                with open(path) as handle:
                    pids[name] = int(handle.read().split()[0])
            except (IOError, ValueError, IndexError):
                pass
        return pids

    def stop(self):
        """Cancels what is left of the jobs, then stops slurmd, slurmctld and munged."""
        if os.path.exists(self.conf) and self._pids().get("slurmctld"):
            subprocess.run(["scancel", "--user=root"], env=self.env(), timeout=30,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 20
            while time.time() < deadline:
                proc = subprocess.run(["squeue", "-h"], env=self.env(), timeout=30,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      universal_newlines=True)
                if proc.returncode != 0 or not proc.stdout.strip():
                    break
                time.sleep(0.5)
        pids = self._pids()
        for name in DAEMONS:
            pid = pids.get(name)
            if pid is None or not _alive(pid):
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + 20
            while _alive(pid) and time.time() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.stderr.write("usage: slurm_local.py start|stop FOLDER\n")
        return 2
    slurm = LocalSlurm(argv[2])
    if argv[1] == "start":
        os.makedirs(slurm.folder, exist_ok=True)
        try:
            slurm.start()
        except SlurmError as err:
            sys.stderr.write("%s\n" % err)
            slurm.stop()
            return 1
        print("export SLURM_CONF=%s" % slurm.conf)
    else:
        slurm.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
