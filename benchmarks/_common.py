"""Shared by the benchmark scripts: import the package from this checkout's src/ (the scripts
also run without `pip install -e .`), and the model-size options (the paper's sizes)."""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)


def add_size_args(parser):
    """--hidden, --layers, --embed with the paper's defaults (2 x 512 LSTM, 50-d embeddings)."""
    parser.add_argument("--hidden", type=int, default=512, help="LSTM units per layer")
    parser.add_argument("--layers", type=int, default=2, help="LSTM layers")
    parser.add_argument("--embed", type=int, default=50, help="embedding size")


def add_record_args(parser, quick_help="tiny sizes: a smoke run"):
    """--record FILE, --note TEXT and --quick, shared by every benchmark script."""
    parser.add_argument("--record", metavar="FILE", default="",
                        help="write the figures, versions, commit, CPU and load to FILE (JSON)")
    parser.add_argument("--note", default="", help="free text stored in the record")
    parser.add_argument("--quick", action="store_true", help=quick_help)


# ------------------------------------------------------------------------------------------------
# The machine and code a figure came from (`--record FILE`)

def cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor()."""
    import platform
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except (IOError, OSError):
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_flags(wanted=("avx2", "avx512f", "avx512_bf16", "amx_bf16")):
    """Which of `wanted` the CPU advertises (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return [w for w in wanted if w in flags]
    except (IOError, OSError):
        pass
    return []


def git_commit():
    """(commit hash, True when the working tree has uncommitted changes); (None, None) outside
    a git checkout."""
    import subprocess
    root = os.path.dirname(SRC)
    try:
        commit = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=root,
                                         stderr=subprocess.STDOUT).decode().strip()
        status = subprocess.check_output(["git", "status", "--porcelain", "--untracked-files=no"],
                                         cwd=root, stderr=subprocess.STDOUT).decode()
        return commit, bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        return None, None


def load_average():
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    if hasattr(os, "getloadavg"):
        return [round(x, 2) for x in os.getloadavg()]
    return None


ABSOLUTE_DIRS = re.compile(r"(?<![\w.~-])/(?:[^\s/\"']+/)+")


def without_machine_paths(text):
    """`text` with the directories of every absolute path cut to `.../` (the records are
    committed: no path of the machine that made them): `/work/x/.venv/bin/python -m a
    --data=/tmp/y/z.log` -> `.../python -m a --data=.../z.log`."""
    return ABSOLUTE_DIRS.sub(".../", text)


def busy_processes(limit=8):
    """The processes using the most CPU now (ps; an empty list where ps is missing):
    [{"pid", "cpu_percent", "command"}], this benchmark included; the commands' absolute paths
    cut by `without_machine_paths`."""
    import subprocess
    try:
        out = subprocess.check_output(["ps", "-eo", "pid,pcpu,args", "--sort=-pcpu"],
                                      stderr=subprocess.STDOUT).decode("utf-8", "replace")
    except (OSError, subprocess.CalledProcessError):
        return []
    rows = []
    for line in out.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[2].startswith("ps -eo"):
            continue
        rows.append({"pid": int(parts[0]), "cpu_percent": float(parts[1]),
                     "command": without_machine_paths(parts[2])[:120]})
        if len(rows) >= limit:
            break
    return rows


def machine_state():
    """Load and competing processes at one moment (recorded before and after a benchmark)."""
    import time
    return {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_average": load_average(), "busy_processes": busy_processes()}


def environment(tf_version):
    """Versions, CPU and commit of this run."""
    import platform
    import numpy
    commit, dirty = git_commit()
    return {"commit": commit, "uncommitted_changes": dirty, "tensorflow": tf_version,
            "numpy": numpy.__version__, "python": platform.python_version(),
            "cpu_model": cpu_model(), "cpu_flags": cpu_flags(), "cpus": os.cpu_count(),
            "platform": platform.platform()}


def write_record(path, benchmark, args, figures, before, env, note=""):
    """Write a benchmark's figures with the environment (`environment()`, taken when the run
    started: the commit that ran) and the machine state as JSON."""
    import json
    record = {"benchmark": benchmark, "argv": sys.argv[1:], "args": vars(args),
              "environment": env,
              "machine_before": before, "machine_after": machine_state(),
              "note": note, "figures": figures}
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    with open(path, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


def put_case(path, benchmark, case):
    """Add `case` to the record at `path` ({"benchmark", "cases": [...]}, created when missing),
    in place of an earlier case with the same "label"."""
    import json
    record = {"benchmark": benchmark, "cases": []}
    if os.path.exists(path):
        with open(path) as f:
            record = json.load(f)
    record["cases"] = [c for c in record["cases"] if c["label"] != case["label"]] + [case]
    with open(path, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


# ------------------------------------------------------------------------------------------------
# Where a session.run's time goes

class TimedSession(object):
    """Stands in for a tf.Session: times every `run` (wall seconds in `run_seconds`, calls in
    `run_calls`); with `trace=True` each run is traced (FULL_TRACE) and its per-op times are
    added to `op_ms` ({(op type, node name): ms}, summed over all traced runs)."""

    def __init__(self, session, trace=False):
        import collections
        self.session = session
        self.trace = trace
        self.run_seconds = 0.0
        self.run_calls = 0
        self.op_ms = collections.Counter()

    def run(self, fetches, feed_dict=None):
        import time
        from irecgan.tfcompat import tf
        start = time.time()
        if self.trace:
            options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
            metadata = tf.RunMetadata()
            out = self.session.run(fetches, feed_dict, options=options, run_metadata=metadata)
            for op_type, name, ms, cols in op_times(metadata):
                self.op_ms[op_type, "%s cols=%s" % (name, cols)] += ms
        else:
            out = self.session.run(fetches, feed_dict)
        self.run_seconds += time.time() - start
        self.run_calls += 1
        return out


def op_times(metadata):
    """[(op type, node name, ms, columns of its first output or None)] of every node of a
    traced run (tf.RunMetadata); the same reading on TF 1.15 and TF 2.x (step_stats' timeline
    labels read "name = Type(inputs)"). Grappler renames and fuses nodes (e.g. MatMul + bias ->
    _FusedMatMul), so the output's column count tells matmuls apart where names cannot."""
    import re
    out = []
    for device in metadata.step_stats.dev_stats:
        for node in device.node_stats:
            match = re.search(r"= (\w+)\(", node.timeline_label or "")
            op_type = match.group(1) if match else node.node_name.split(":")[0]
            ms = (node.all_end_rel_micros or node.op_end_rel_micros) / 1e3
            cols = None
            if node.output:
                dims = node.output[0].tensor_description.shape.dim
                cols = int(dims[-1].size) if dims else None
            out.append((op_type, node.node_name, ms, cols))
    return out


def categorize(op_ms, categories):
    """Sum {(op type, node name): ms} into [(category, ms)] by the first regex of `categories`
    ([(name, pattern)]) matching "TYPE NAME"; unmatched ops land in "other"."""
    import collections
    import re
    sums = collections.OrderedDict((name, 0.0) for name, _ in categories)
    sums["other"] = 0.0
    for (op_type, node), ms in op_ms.items():
        key = "%s %s" % (op_type, node)
        for name, pattern in categories:
            if re.search(pattern, key):
                sums[name] += ms
                break
        else:
            sums["other"] += ms
    return list(sums.items())
