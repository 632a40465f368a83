"""The sweep launchers of run_sim.sh / run_cikm.sh (scripts/lib/launch.sh): option checks, one run
per GPU with --gpus, and --launcher=slurm against a real single-node Slurm (tests/slurm_local.py)."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import ROOT, SRC, run_script
from slurm_local import LocalSlurm, SlurmError
from irecgan.sim.recsim_env import available


def sim_datasets():
    """The logs of run_sim.sh: recsim's only where its optional extra is installed."""
    return ["mdp_random", "mdp_max", "mdp_sharp", "neural"] + (
        ["recsim"] if available()[0] else [])


def run_bad(args, env=None):
    env = dict(os.environ if env is None else env, PY=sys.executable, PYTHONPATH=SRC)
    proc = subprocess.run(["bash", os.path.join(ROOT, args[0])] + args[1:], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    return proc


@pytest.mark.parametrize("script", [["run_sim.sh"], ["run_cikm.sh", "--processed=x.log"]])
@pytest.mark.parametrize("bad,says", [
    (["--gpus=0,0"], "device 0 twice"),
    (["--gpus=0,,1"], "not a device"),
    (["--gpus="], "--gpus= needs"),
    (["--gpus=0;rm"], "not a device"),
    (["--launcher=pbs"], "local or slurm"),
    (["--launcher=slurm", "--gpus=0,1"], "--slurm_gres=gpu:1"),
    (["--slurm_args=--time=1"], "needs --launcher=slurm"),
    (["--slurm_gres=gpu:1"], "needs --launcher=slurm"),
    (["--dry_run"], "needs --launcher=slurm"),
    (["--launcher=slurm", "--dry_run", "--report_only"], "exclude each other"),
    (["--jobs=0"], "a positive integer"),
    (["--slurm_partition=gpu"], "unknown option"),
    (["--slurm_signal=120"], "needs --launcher=slurm"),
    (["--launcher=slurm", "--slurm_signal=2m"], "seconds before the time limit"),
    (["--launcher=slurm", "--slurm_signal=70000"], "0 to 65535"),
])
def test_bad_launcher_options_are_one_error_line_and_exit_2(script, bad, says, tmp_path):
    proc = run_bad(script + ["--runs=" + str(tmp_path / "runs")] + bad)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], proc.stderr
    assert not os.path.exists(str(tmp_path / "runs")) and proc.stdout == ""


def intervals(record):
    """{id: (device, start, end)} from lines `start|end DEVICE TIME ID`."""
    runs = {}
    with open(record) as handle:
        for line in handle:
            what, device, stamp, pid = line.split()
            runs.setdefault(pid, {})[what] = (device, float(stamp))
    out = {}
    for pid, ends in runs.items():
        assert set(ends) == {"start", "end"}, (pid, ends)
        assert ends["start"][0] == ends["end"][0]
        out[pid] = (ends["start"][0], ends["start"][1], ends["end"][1])
    return out


def assert_one_run_per_device(spans, devices):
    for device, start, end in spans:
        assert device in devices, "a run saw CUDA_VISIBLE_DEVICES=%r, not one of %s" % (
            device, devices)
    for device in devices:
        mine = sorted((s, e) for d, s, e in spans if d == device)
        assert mine, "device %s never used" % device
        for (_, end), (start, _) in zip(mine, mine[1:]):
            assert start >= end, "two runs on device %s at once: %s" % (device, mine)


def test_gpus_launcher_gives_every_run_its_own_device_and_never_two_runs_one_device(tmp_path):
    """Two sweeps at once (as two scripts on one host) on devices 0,1,2: every job sees exactly
    one device in CUDA_VISIBLE_DEVICES, and runs on one device never overlap."""
    record = str(tmp_path / "record.txt")
    job = ("echo start ${CUDA_VISIBLE_DEVICES-unset} $(date +%%s.%%N) %s >> %s; sleep %s; "
           "echo end ${CUDA_VISIBLE_DEVICES-unset} $(date +%%s.%%N) %s >> %s")
    drivers = []
    for sweep in ("a", "b"):
        jobs = tmp_path / ("jobs_%s.txt" % sweep)
        jobs.write_text("".join(
            job % (sweep + str(i), record, 0.2 + 0.05 * (i % 4), sweep + str(i), record) + "\n"
            for i in range(9)))
        # what run_sim.sh does with --gpus=0,1,2 (JOBS: the scripts' default, the cores)
        driver = ("set -euo pipefail; . scripts/lib/launch.sh; launch_init run_sim.sh --gpus=0,1,2;"
                  " JOBS=16; launch_option --gpus=0,1,2; launch_check; echo JOBS=$JOBS;"
                  " launch_runs %s 9" % jobs)
        drivers.append(subprocess.Popen(
            ["bash", "-c", driver], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            universal_newlines=True,
            env=dict(os.environ, IRECGAN_GPU_LOCKS=str(tmp_path / "locks"))))
    for driver in drivers:
        out = driver.communicate(timeout=120)[0]
        assert driver.returncode == 0, out
        assert "JOBS=3" in out  # one run per device
    spans = list(intervals(record).values())
    assert len(spans) == 18
    assert_one_run_per_device(spans, ["0", "1", "2"])


def test_run_cikm_smoke_with_gpus_runs_each_run_on_its_own_device(tmp_path):
    """The same through run_cikm.sh with real runs; IRECGAN_RUN_WRAPPER records each run."""
    raw = str(tmp_path / "raw")
    subprocess.run([sys.executable, "-m", "irecgan.cli.prepare_cikm", "--synthetic_out=" + raw,
                    "--seed=3", "--synthetic_sessions=300"], cwd=ROOT, check=True,
                   env=dict(os.environ, PYTHONPATH=SRC), stdout=subprocess.DEVNULL)
    record = str(tmp_path / "record.txt")
    wrapper = tmp_path / "record_run.sh"
    wrapper.write_text(
        "#!/bin/bash\n"
        "echo start ${CUDA_VISIBLE_DEVICES-unset} $(date +%%s.%%N) $$ >> %s\n"
        "\"$@\"; rc=$?\n"
        "echo end ${CUDA_VISIBLE_DEVICES-unset} $(date +%%s.%%N) $$ >> %s\n"
        "exit $rc\n" % (record, record))
    wrapper.chmod(0o755)
    env = dict(os.environ, IRECGAN_RUN_WRAPPER=str(wrapper),
               IRECGAN_GPU_LOCKS=str(tmp_path / "locks"))
    runs, out = str(tmp_path / "runs"), str(tmp_path / "results")
    text = run_script(["run_cikm.sh", "--raw_dir=" + raw, "--runs=" + runs, "--out=" + out,
                       "--methods=lstm pg", "--gpus=0,1"], tmp_path, "cikm_gpus", env)
    assert "4 runs to do (2 at a time)" in text
    spans = list(intervals(record).values())
    assert len(spans) == 4
    assert_one_run_per_device(spans, ["0", "1"])
    table = open(os.path.join(out + "_smoke", "table.md")).read()
    assert "| pg |" in table or " pg " in table


def test_slurm_dry_run_prints_both_batch_scripts_and_submits_nothing(tmp_path):
    runs = str(tmp_path / "runs")
    proc = run_bad(["run_sim.sh", "--launcher=slurm", "--dry_run", "--runs=" + runs,
                    "--out=" + str(tmp_path / "out"), "--jobs=3", "--slurm_gres=gpu:1",
                    "--slurm_args=--partition=gpu --time=4:00:00", "--methods=pg",
                    "--slurm_signal=120"],
                   env=dict(os.environ, SMOKE="1"))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    n = 2 * len(sim_datasets())  # logs x 1 method x 2 seeds
    assert "%d runs to do (3 at a time)" % n in text
    assert "--partition=gpu --time=4:00:00" in text
    assert "#SBATCH --array=1-%d%%3" % n in text and "#SBATCH --gres=gpu:1" in text
    assert "#SBATCH --signal=B:TERM@120" in text and "#SBATCH --requeue" in text
    assert "--dependency=afterok:<prepare job id>" in text
    assert "IRECGAN_LAUNCH_PHASE=prepare SMOKE=1" in text and "--dry_run" not in text.split(
        "IRECGAN_LAUNCH_PHASE=prepare")[1].splitlines()[0]
    assert text.count("-m irecgan.cli.train") == n
    assert not os.path.exists(os.path.join(runs + "_smoke", "slurm"))
    assert not os.path.exists(os.path.join(runs + "_smoke", "data", "mdp_random.log"))


# -- a real Slurm ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slurm():
    folder = tempfile.mkdtemp(prefix="irecgan-slurm-", dir="/tmp")  # munged: no 0700 parents
    cluster = LocalSlurm(folder)
    try:
        cluster.start()
    except SlurmError as err:
        cluster.stop()
        pytest.fail("could not start a local Slurm:\n%s" % err, pytrace=False)
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def wait_for_sweep(slurm, name, timeout=900):
    deadline = time.time() + timeout
    while time.time() < deadline:
        proc = subprocess.run(["squeue", "-h", "-n", name, "-o", "%i %T"], env=slurm.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=60)
        assert proc.returncode == 0, proc.stdout
        if not proc.stdout.strip():
            return
        time.sleep(2)
    raise AssertionError("the sweep's jobs did not finish in %d s: %s\n%s"
                         % (timeout, proc.stdout, slurm.logs()))


def submission(text):
    found = re.search(r"data preparation job (\d+), run array job (\d+) \((\d+) tasks", text)
    assert found, text
    folder = re.search(r"batch scripts and logs in (\S+);", text).group(1)
    name = re.search(r"squeue -n (\S+)", text).group(1)
    return found.group(1), found.group(2), int(found.group(3)), folder, name


def metrics(run_dir):
    with open(os.path.join(run_dir, "results.json")) as handle:
        result = json.load(handle)
    return {key: result[key] for key in ("method", "seed", "offline", "online")}


def table_rows(out):
    with open(os.path.join(out, "table.csv")) as handle:
        rows = list(csv.DictReader(handle))
    return {(row["dataset"], row["method"]):
            {key: value for key, value in row.items() if "wall" not in key} for row in rows}


def stopped_pid(run_dir, timeout=300):
    """The pid of the process holding run_dir's lock once it is stopped (SIGSTOP)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(os.path.join(run_dir, "run.lock")) as handle:
                pid = int(handle.read().split()[0])
            with open("/proc/%d/stat" % pid) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "T":
                    return pid
        except (IOError, OSError, ValueError, IndexError):
            pass
        time.sleep(0.5)
    raise AssertionError("no stopped run in %s within %d s" % (run_dir, timeout))


def pending_signals(pid):
    """The signals pending for process `pid` (thread and process-wide), from /proc."""
    with open("/proc/%d/status" % pid) as handle:
        fields = dict(line.split(":", 1) for line in handle if ":" in line)
    mask = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
    return set(n for n in range(1, 65) if mask & (1 << (n - 1)))


# The launcher is bash and Slurm; the runs it starts are the same CLI that every other test runs
# on both stacks. Its one real-Slurm sweep (minutes) runs in the TF 1.15 suite: the image's stack.
@pytest.mark.stack("1")
def test_run_sim_smoke_on_slurm_equals_local_and_resubmits_only_a_cancelled_task(
        slurm, sim_smoke_local, tmp_path):
    """Also issue 25: a running task sent SIGTERM (as before a time limit or on preemption)
    checkpoints, requeues itself and finishes from its checkpoint by itself."""
    # the first start of task 1 stops itself (SIGSTOP) at its 3rd pretraining step, so that the
    # SIGTERM below reaches a run that is known to be training
    wrapper = tmp_path / "hold_task_1.sh"
    wrapper.write_text(
        "#!/bin/bash\n"
        "if [ \"${SLURM_ARRAY_TASK_ID:-}\" = 1 ] && mkdir %s 2> /dev/null; then\n"
        "  export IRECGAN_FAULT_AT=run@pretrain:3:stop\n"
        "fi\n"
        "exec \"$@\"\n" % (tmp_path / "held"))
    wrapper.chmod(0o755)
    env = slurm.env(dict(os.environ, IRECGAN_RUN_WRAPPER=str(wrapper)))
    runs, out = str(tmp_path / "runs"), str(tmp_path / "results")
    args = ["run_sim.sh", "--launcher=slurm", "--runs=" + runs, "--out=" + out,
            "--methods=irecgan", "--jobs=2"]
    text = run_script(args, tmp_path, "submit", env)
    n = 2 * len(sim_datasets())  # logs x 1 method (the adversarial one) x 2 seeds
    assert "%d runs to do (2 at a time)" % n in text
    prep_id, array_id, tasks, folder, name = submission(text)
    assert tasks == n
    with open(os.path.join(folder, "runs.sbatch")) as handle:
        script = handle.read()
    assert "#SBATCH --array=1-%d%%2" % n in script
    assert "#SBATCH --requeue" in script and "#SBATCH --signal=B:TERM@300" in script

    # while its jobs are queued, the script says so and submits nothing
    again = run_script(args, tmp_path, "while_queued", env)
    assert "still queued or running" in again and "submitted" not in again

    # kill one array element (the last, still waiting for the data preparation)
    with open(os.path.join(folder, "jobs.txt")) as handle:
        lines = handle.read().splitlines()
    killed = re.search(r"--run_dir=(\S+)", lines[n - 1]).group(1)
    subprocess.run(["scancel", "%s_%d" % (array_id, n)], env=env, check=True, timeout=60)

    # SIGTERM to the batch shell of task 1 while its run is held mid-epoch: the shell forwards it
    # (pending at the stopped run), the run goes on, checkpoints after its epoch, exits 143, and
    # the task requeues itself and finishes from that checkpoint (compared with the local run
    # below, as every run)
    held = re.search(r"--run_dir=(\S+)", lines[0]).group(1)
    pid = stopped_pid(held)
    subprocess.run(["scancel", "--signal=TERM", "--batch", "%s_1" % array_id], env=env,
                   check=True, timeout=300)  # once over 60 s on a loaded 2-core machine
    deadline = time.time() + 300
    while signal.SIGTERM not in pending_signals(pid):
        assert time.time() < deadline, "the batch shell did not forward SIGTERM to the run"
        time.sleep(0.2)
    os.kill(pid, signal.SIGCONT)
    wait_for_sweep(slurm, name)
    with open(os.path.join(folder, "run-1.out")) as handle:
        task_log = handle.read()
    for says in ("task %s_1 (job" % array_id, "SIGTERM, forwarded to the run",
                 "stopped %s by a signal, exit 143" % held,
                 "the run stopped on SIGTERM (exit 143); requeueing the task",
                 "restart 1) starts on", "done %s" % held):
        assert says in task_log, (says, task_log)
    with open(held + ".log") as handle:  # the requeued start's log
        assert "resuming %s from checkpoint (agent epoch 1)" % held in handle.read()
    assert "data prepared" in open(os.path.join(folder, "prepare.out")).read()
    done = [re.search(r"--run_dir=(\S+)", line).group(1) for line in lines[:n - 1]]
    for run_dir in done:
        assert os.path.exists(os.path.join(run_dir, "results.json")), (
            run_dir, open(run_dir + ".log").read()[-2000:])
    assert not os.path.exists(os.path.join(killed, "results.json"))

    # --report_only: the table of the finished runs, nothing submitted
    text = run_script(args + ["--report_only"], tmp_path, "report_only", env)
    assert "--report_only: 1 runs not finished" in text and "submitted" not in text
    assert len(os.listdir(os.path.dirname(folder))) == 1
    with open(os.path.join(out + "_smoke", "table.csv")) as handle:
        seeds = sorted(row["n_seeds"] for row in csv.DictReader(handle)
                       if row["source"] == "ours")
    assert seeds == ["1"] + ["2"] * (n // 2 - 1)  # the cancelled run's row has one seed

    # running it again resubmits that run only
    text = run_script(args, tmp_path, "resubmit", env)
    assert "1 runs to do" in text
    _, _, tasks, folder2, _ = submission(text)
    assert tasks == 1 and folder2 != folder
    with open(os.path.join(folder2, "jobs.txt")) as handle:
        assert handle.read().splitlines() == [lines[n - 1]]
    wait_for_sweep(slurm, name)

    # and once more: everything is done, the table is made
    text = run_script(args, tmp_path, "report", env)
    assert "0 runs to do" in text and "table in" in text and "submitted" not in text

    # same seeds, same numbers as the local run of the same sweep (conftest.py)
    local_runs, local_out, _ = sim_smoke_local
    for run_dir in done + [killed]:
        local = run_dir.replace(runs + "_smoke", local_runs + "_smoke")
        assert metrics(run_dir) == metrics(local), run_dir
    mine, theirs = table_rows(out + "_smoke"), table_rows(local_out + "_smoke")
    ours = set(key for key, row in mine.items() if row["source"] == "ours")
    assert ours == set((dataset, "irecgan") for dataset in sim_datasets())
    assert len(mine) > len(ours)  # the simulator-policy and published rows too
    for key, row in mine.items():
        assert row == theirs[key], key
