"""Where one training run's time goes, phase by phase (issue 33, item 1).

Prints figures; it is not a test. Two parts per case:

1. Process start (a subprocess of its own, so the figures are those of a fresh interpreter):
   wall and process-CPU seconds from the interpreter's start to `import irecgan`,
   `import tensorflow`, `import irecgan.tfcompat` (compat.v1, graph mode), `import
   irecgan.experiment`, `import irecgan.cli.train` and the first `tf.Session` running one op.
2. One whole training run (`irecgan.experiment.run`, as irecgan-train runs it, into a fresh run
   directory), with the run's code untouched: this process only wraps, at run time,
   `tf.Session.run` and the phase entry points (experiment.load_data / build_models / evaluator,
   Runner.__init__ / save / log_metrics / write_results, pretrain, the offline and online
   evaluations, U's fit, AdversarialTraining.run_unit / generate / update_agent / update_user /
   train_disc* / heldout_disc, Generator._score_prefixes). The wrappers call the original and
   only read clocks, so the run's metrics.jsonl and results.json are those of irecgan-train
   (`--check_against=RUN_DIR` compares them byte for byte with a run irecgan-train made).

Each phase is a path of nested labels (e.g. `adv:g/generate/rollouts`); a phase's figures are
exclusive (its nested phases' time is theirs): wall seconds, process-CPU seconds
(time.process_time: all threads of this process; steadier than wall on a shared machine),
session.run calls, their wall / CPU, the Python batch building in it (`batch_*`:
BatchMaker calls, a part of the phase's time), the wall of the first call of each distinct (fetches,
feeds) signature (TensorFlow builds an executor for it), and, on a sample of calls (a phase's
first call of a signature it has run before, then every `--trace_every`-th), the ops executed per call (nodes in the RunMetadata
step_stats of a FULL_TRACE run: a while loop's body counts once per iteration) and the summed op
time. Traced calls run slower; the per-call times exclude them, and their extra wall is reported
(`trace_extra_s`), which bounds the distortion.

    python benchmarks/run_profile.py --label=irecgan/mdp_sharp/short -- \
        --flagfile=configs/sim_cpu_short.cfg --method=irecgan --data=data/sim/mdp_sharp.log \
        --n_items=50 --k=10 --split=fold --env_params=data/sim/mdp_sharp.params.npz \
        --seed=1 --threads=1
    ... --record=benchmarks/results/profile-tf2.json   # append the case to a record (JSON)
    ... --quick                                        # a toy run: seconds, numbers mean nothing

The arguments after `--` are irecgan-train's (its flags but --run_dir and --progress).
"""
from __future__ import print_function

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from _common import SRC, environment, load_average, machine_state, put_case  # noqa: E402

IMPORT_PROBE = r"""
import json, os, sys, time
t0, c0 = time.time(), time.process_time()
marks = []
def mark(name):
    marks.append((name, time.time() - t0, time.process_time() - c0))
import irecgan; mark("import irecgan")
import tensorflow; mark("import tensorflow")
from irecgan.tfcompat import tf; mark("import irecgan.tfcompat")
import irecgan.experiment; mark("import irecgan.experiment")
import irecgan.cli.train; mark("import irecgan.cli.train")
with tf.Graph().as_default() as g:
    x = tf.constant(1.0) + 1.0
    s = tf.Session(graph=g, config=tf.ConfigProto(intra_op_parallelism_threads=1,
                                                  inter_op_parallelism_threads=1))
    mark("tf.Session()")
    s.run(x); mark("first session.run")
    s.run(x); mark("second session.run")
print(json.dumps({"marks": marks, "tf": tf.VERSION}))
"""


def process_start(python):
    """The import probe in a fresh interpreter: [(mark, wall s, CPU s)] since the probe's first
    line, plus the interpreter's whole wall (spawn to exit) as the parent sees it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    start = time.time()
    out = subprocess.check_output([python, "-c", IMPORT_PROBE], env=env)
    whole = time.time() - start
    probe = json.loads(out.decode().strip().splitlines()[-1])
    steps, last_w, last_c = [], 0.0, 0.0
    for name, wall, cpu in probe["marks"]:
        steps.append({"step": name, "wall_s": round(wall - last_w, 4),
                      "cpu_s": round(cpu - last_c, 4), "at_wall_s": round(wall, 4)})
        last_w, last_c = wall, cpu
    return {"steps": steps, "process_wall_s": round(whole, 3),
            "interpreter_start_s": round(whole - probe["marks"][-1][1], 3)}


# ------------------------------------------------------------------------------------------------
# The phase clock

BATCH = "make_batch"


class Phases(object):
    """Exclusive wall / CPU per phase path, and session.run figures per path."""

    def __init__(self, trace_every):
        self.stack = []
        self.trace_every = int(trace_every)
        self.stats = collections.defaultdict(lambda: collections.defaultdict(float))
        self.signatures = set()
        self._wall, self._cpu = time.time(), time.process_time()

    def path(self):
        return "/".join(self.stack) or "(outside phases)"

    def _charge(self):
        wall, cpu = time.time(), time.process_time()
        batch = self.stack[-1:] == [BATCH]   # batch building: charged to the phase that asks
        s = self.stats["/".join(self.stack[:-1]) or "(outside phases)"] if batch else \
            self.stats[self.path()]
        s["wall_s"] += wall - self._wall
        s["cpu_s"] += cpu - self._cpu
        if batch:
            s["batch_wall_s"] += wall - self._wall
            s["batch_cpu_s"] += cpu - self._cpu
        self._wall, self._cpu = wall, cpu

    def enter(self, label):
        self._charge()
        self.stack.append(label)

    def leave(self):
        self._charge()
        self.stack.pop()

    def wrap(self, owner, name, label):
        """Replace owner.name by a wrapper that runs it as phase `label` (a string, or a
        function of the call's arguments returning one)."""
        original = getattr(owner, name)
        phases = self

        def wrapper(*args, **kwargs):
            phases.enter(label(*args, **kwargs) if callable(label) else label)
            try:
                return original(*args, **kwargs)
            finally:
                phases.leave()
        wrapper.__wrapped__ = original
        setattr(owner, name, wrapper)

    def session_run(self, original, tf):
        """A replacement of tf.Session.run recording each call under the current phase."""
        phases = self

        def run(session, fetches, feed_dict=None, options=None, run_metadata=None):
            s = phases.stats[phases.path()]
            s["calls"] += 1
            key = (_signature(fetches), frozenset(id(k) for k in (feed_dict or ())))
            first = key not in phases.signatures
            phases.signatures.add(key)
            traced = (options is None and run_metadata is None and not first and
                      (s["traced_calls"] == 0 or (phases.trace_every and
                                                  s["calls"] % phases.trace_every == 0)))
            if traced:
                options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
                run_metadata = tf.RunMetadata()
            wall, cpu = time.time(), time.process_time()
            out = original(session, fetches, feed_dict, options, run_metadata)
            wall, cpu = time.time() - wall, time.process_time() - cpu
            if traced:
                nodes, op_us = 0, 0
                for device in run_metadata.step_stats.dev_stats:
                    for node in device.node_stats:
                        match = OP_TYPE.search(node.timeline_label or "")
                        kind = match.group(1) if match else "?"
                        s["op:" + kind] += 1
                        s["op_s:" + kind] += node.all_end_rel_micros / 1e6
                        nodes += 1
                        op_us += node.all_end_rel_micros
                s["traced_calls"] += 1
                s["traced_wall_s"] += wall
                s["traced_ops"] += nodes
                s["traced_op_s"] += op_us / 1e6
            elif first:
                s["first_calls"] += 1
                s["first_wall_s"] += wall
            else:
                s["plain_calls"] += 1
                s["plain_wall_s"] += wall
                s["plain_cpu_s"] += cpu
            s["run_wall_s"] += wall
            s["run_cpu_s"] += cpu
            return out
        return run


OP_TYPE = re.compile(r"= (\w+)\(")  # step_stats' timeline label: "name = Type(inputs)"


def _signature(fetches):
    if isinstance(fetches, dict):
        return tuple(sorted((str(k), _signature(v)) for k, v in fetches.items()))
    if isinstance(fetches, (list, tuple)):
        return tuple(_signature(f) for f in fetches)
    return id(fetches)


def install(phases):
    """Wrap the phase entry points and tf.Session.run (this process only)."""
    from irecgan import experiment
    from irecgan.evaluation import user_fit
    from irecgan.rundir.runner import Runner
    from irecgan.sim import online
    from irecgan.tfcompat import tf
    from irecgan.training import adversarial, generation, offline, pretrain, true_world

    tf.Session.run = phases.session_run(tf.Session.run, tf)
    w = phases.wrap
    w(experiment, "load_data", "load_data")
    w(experiment, "write_run_data", "load_data")
    w(experiment, "build_models", "graph_build")
    w(experiment, "evaluator", "evaluator_build")   # AgentPolicy ops, the simulator
    w(Runner, "__init__", "session_open")   # session, Saver, init op
    w(Runner, "save", "checkpoint")
    w(Runner, "log_metrics", "metrics_log")
    w(Runner, "write_results", "results_write")
    w(experiment, "pretrain", lambda *a, **k: "pretrain:" + k["phase"])
    w(pretrain, "evaluate", "offline_eval")
    w(experiment, "evaluate", "offline_eval")
    w(online, "evaluate", "online_eval")
    w(experiment.Evaluator, "user_fit", "user_fit")
    w(user_fit, "truth_figures", "truth_figures")
    w(experiment.Evaluator, "final", "final")
    for cls in (adversarial.AdversarialTraining, true_world.TrueWorldTraining):
        w(cls, "generate", "generate")
    w(adversarial.AdversarialTraining, "run_unit", lambda self, unit, *a, **k: "adv:" + unit[0])
    w(adversarial.AdversarialTraining, "update_agent", "agent_update")
    w(adversarial.AdversarialTraining, "update_user", "user_update")
    w(adversarial.AdversarialTraining, "train_disc", "d_update")
    w(adversarial.AdversarialTraining, "train_disc_authors", "d_update")
    w(adversarial.AdversarialTraining, "heldout_disc", "d_heldout")
    w(generation.Generator, "_score_prefixes", "rollouts")
    w(offline.BatchMaker, "__call__", BATCH)


# the rows of the summary: (name, test on a phase path), first match wins
CATEGORIES = [
    ("online evaluation", lambda p: "online_eval" in p),
    ("offline evaluation (valid/test P@k, loss)", lambda p: "offline_eval" in p),
    ("U's fit (test P@1, LL/step; truth's once)", lambda p: "user_fit" in p),
    ("checkpoints, metrics.jsonl, results", lambda p: p.split("/")[-1] in (
        "checkpoint", "metrics_log", "results_write")),
    ("load data", lambda p: p.startswith("load_data")),
    ("graph build", lambda p: p.split("/")[0] in ("graph_build", "evaluator_build")),
    ("session open, init, Saver", lambda p: p.startswith("session_open")),
    ("pretrain agent", lambda p: p.startswith("pretrain:agent")),
    ("pretrain user", lambda p: p.startswith("pretrain:user")),
    ("D pretraining: generation", lambda p: p.startswith("adv:d_pretrain/generate")),
    ("D pretraining: D updates", lambda p: p.startswith("adv:d_pretrain/d_update")),
    ("D held-out measurement", lambda p: "d_heldout" in p),
    ("g-steps: generation (main steps)", lambda p: p == "adv:g/generate"),
    ("g-steps: rollouts + D scoring", lambda p: p.startswith("adv:g/generate/rollouts")),
    ("g-steps: agent update", lambda p: p.startswith("adv:g/agent_update")),
    ("g-steps: user update", lambda p: p.startswith("adv:g/user_update")),
    ("d-steps: generation", lambda p: p.startswith("adv:d/generate")),
    ("d-steps: D updates", lambda p: p.startswith("adv:d/d_update")),
    ("final evaluation (other)", lambda p: p.startswith("final")),
]


def category(path):
    for name, test in CATEGORIES:
        if test(path):
            return name
    return "other (%s)" % path.split("/")[0]


def rows(stats, key_of):
    """Sum the per-path figures by key_of(path); per-call figures derived."""
    out = collections.OrderedDict()
    for path, s in stats.items():
        row = out.setdefault(key_of(path), collections.defaultdict(float))
        for k, v in s.items():
            row[k] += v
    result = []
    for name, s in out.items():
        row = {"phase": name}
        for k in ("wall_s", "cpu_s", "run_wall_s", "run_cpu_s", "first_wall_s",
                  "traced_wall_s", "traced_op_s", "batch_wall_s", "batch_cpu_s"):
            row[k] = round(s[k], 4)
        for k in ("calls", "first_calls", "traced_calls", "traced_ops"):
            row[k] = int(s[k])
        plain = s["plain_calls"]
        row["ms_per_call"] = round(1e3 * s["plain_wall_s"] / plain, 3) if plain else None
        row["cpu_ms_per_call"] = round(1e3 * s["plain_cpu_s"] / plain, 3) if plain else None
        row["ops_per_call"] = (round(s["traced_ops"] / s["traced_calls"], 1)
                               if s["traced_calls"] else None)
        row["op_ms_per_call"] = (round(1e3 * s["traced_op_s"] / s["traced_calls"], 3)
                                 if s["traced_calls"] else None)
        if s["traced_calls"]:  # the most executed op types: per call, and their op ms
            kinds = sorted((k[3:] for k in s if k.startswith("op:")), key=lambda k: -s["op:" + k])
            row["op_types_per_call"] = dict(
                (k, [round(s["op:" + k] / s["traced_calls"], 1),
                     round(1e3 * s["op_s:" + k] / s["traced_calls"], 3)]) for k in kinds[:12])
        row["python_wall_s"] = round(s["wall_s"] - s["run_wall_s"], 4)
        row["trace_extra_s"] = (round(s["traced_wall_s"] - s["traced_calls"] *
                                      s["plain_wall_s"] / plain, 4) if plain else None)
        result.append(row)
    result.sort(key=lambda r: -r["cpu_s"])
    return result


def print_rows(title, table):
    print(title)
    print("  %-44s %8s %8s %7s %9s %8s %9s" % ("phase", "wall s", "CPU s", "calls",
                                               "ms/call", "ops/call", "py wall s"))
    for r in table:
        if r["calls"] == 0 and r["wall_s"] < 0.005:
            continue
        print("  %-44s %8.2f %8.2f %7d %9s %8s %9.2f" % (
            r["phase"][:44], r["wall_s"], r["cpu_s"], r["calls"],
            "-" if r["ms_per_call"] is None else "%.2f" % r["ms_per_call"],
            "-" if r["ops_per_call"] is None else "%.0f" % r["ops_per_call"],
            r["python_wall_s"]))


def compare(run_dir, reference):
    """{file: True when byte-identical} for metrics.jsonl and results.json."""
    out = {}
    for name in ("metrics.jsonl", "results.json"):
        with open(os.path.join(run_dir, name), "rb") as a:
            with open(os.path.join(reference, name), "rb") as b:
                out[name] = a.read() == b.read()
    return out


def summary(path):
    """Markdown tables of a record: CPU seconds per phase (rows) and case (columns), then each
    case's per-call figures (CPU ms per call, ops per call)."""
    with open(path) as f:
        cases = json.load(f)["cases"]
    names = [n for n, _ in CATEGORIES]
    for case in cases:
        names += [r["phase"] for r in case["phases"] if r["phase"] not in names]
    print("| phase | " + " | ".join(c["label"] for c in cases) + " |")
    print("| --- |" + " --- |" * len(cases))
    start = [sum(s["cpu_s"] for s in c["process_start"]["steps"]) for c in cases]
    print("| process start: imports, first session (CPU s) | " +
          " | ".join("%.1f" % x for x in start) + " |")
    for name in names:
        cells = []
        for case in cases:
            row = [r for r in case["phases"] if r["phase"] == name]
            cells.append("%.1f" % row[0]["cpu_s"] if row and row[0]["cpu_s"] >= 0.05 else "")
        if any(cells):
            print("| %s | %s |" % (name, " | ".join(cells)))
    print("| **run total (CPU s)** | " + " | ".join("**%.1f**" % c["run"]["cpu_s"] for c in cases)
          + " |")
    print("| run wall s (load at start) | " + " | ".join(
        "%.0f (%.1f)" % (c["run"]["wall_s"], c["load_average_start"][0]) for c in cases) + " |")
    print()
    print("| phase | " + " | ".join(c["label"] for c in cases) + " |")
    print("| --- |" + " --- |" * len(cases))
    for name in names:
        cells = []
        for case in cases:
            row = [r for r in case["phases"] if r["phase"] == name]
            r = row[0] if row else None
            cells.append("" if not r or not r["calls"] or r["cpu_ms_per_call"] is None else
                         "%d x %.1f ms, %s ops, batch %.0f%%" % (
                             r["calls"], r["cpu_ms_per_call"],
                             "?" if r["ops_per_call"] is None else "%.0f" % r["ops_per_call"],
                             100.0 * r.get("batch_cpu_s", 0.0) / max(r["cpu_s"], 1e-9)))
        if any(cells):
            print("| %s | %s |" % (name, " | ".join(cells)))


def parse_config(train_args):
    from absl import flags
    from irecgan.cli import config_flags
    values = flags.FlagValues()
    config_flags.define_flags(values)
    values(["profile"] + list(train_args))
    return config_flags.config_from_flags(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", default="", help="the case's name in the record")
    parser.add_argument("--run_dir", default="",
                        help="where the run goes (must not exist; default: a temporary "
                             "directory, removed afterwards)")
    parser.add_argument("--trace_every", type=int, default=50,
                        help="trace (RunMetadata) a phase's first call of an already-run "
                             "signature, then every N-th call; 0: only that one")
    parser.add_argument("--check_against", default="",
                        help="a run directory irecgan-train made with the same flags: compare "
                             "metrics.jsonl and results.json byte for byte")
    parser.add_argument("--record", default="",
                        help="append the case to this JSON record (made when missing)")
    parser.add_argument("--note", default="", help="free text stored with the case")
    parser.add_argument("--quick", action="store_true",
                        help="toy sizes appended to the training flags (a smoke run)")
    parser.add_argument("train_args", nargs="*", help="irecgan-train's flags (after --)")
    parser.add_argument("--summary", metavar="RECORD", default="",
                        help="print a record's cases as markdown tables and exit")
    args = parser.parse_args()
    if args.summary:
        return summary(args.summary)
    train_args = list(args.train_args)
    if args.quick:
        train_args += ["--embed_dim=8", "--hidden=8", "--agent_epochs=1", "--user_epochs=1",
                       "--adv_epochs=1", "--gen_sessions=8", "--d_pretrain_sessions=16",
                       "--online_sessions=20", "--batch_size=16", "--d_heldout_sessions=8"]
    before = machine_state()
    start = process_start(sys.executable)
    print("process start (fresh interpreter): %s" % ", ".join(
        "%s %.2f s (CPU %.2f)" % (s["step"], s["wall_s"], s["cpu_s"]) for s in start["steps"]))

    from irecgan import experiment
    from irecgan.tfcompat import TF_VERSION
    env = environment(TF_VERSION)
    config = parse_config(train_args)
    temporary = not args.run_dir
    run_dir = args.run_dir or os.path.join(tempfile.mkdtemp(prefix="irecgan-profile-"), "run")
    if os.path.exists(run_dir):
        raise SystemExit("profile.py: %s exists; give a fresh --run_dir" % run_dir)
    phases = Phases(args.trace_every)
    install(phases)
    load_start = load_average()
    wall0, cpu0 = time.time(), time.process_time()
    phases._wall, phases._cpu = wall0, cpu0
    experiment.run(run_dir, config, show_progress=False, log=lambda msg: None)
    phases._charge()
    wall, cpu = time.time() - wall0, time.process_time() - cpu0
    with open(os.path.join(run_dir, "timing.json")) as f:
        recorded = json.load(f)["wall_time_s"]
    identical = compare(run_dir, args.check_against) if args.check_against else None
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    if temporary:
        shutil.rmtree(os.path.dirname(run_dir))

    by_phase = rows(phases.stats, category)
    by_path = rows(phases.stats, lambda p: p)
    calls = sum(int(s["calls"]) for s in phases.stats.values())
    run_wall = sum(s["run_wall_s"] for s in phases.stats.values())
    run_cpu = sum(s["run_cpu_s"] for s in phases.stats.values())
    traced_extra = sum(r["trace_extra_s"] or 0.0 for r in by_path)
    print_rows("run %s (%s): wall %.1f s, CPU %.1f s, %d session.run calls (%.1f s wall, %.1f s "
               "CPU inside them), trace overhead ~%.1f s, load %s -> %s" % (
                   args.label, config["method"], wall, cpu, calls, run_wall, run_cpu,
                   traced_extra, load_start, load_average()), by_phase)
    case = {"label": args.label, "method": config["method"], "train_args": train_args,
            "command": "python benchmarks/run_profile.py %s" % " ".join(sys.argv[1:]),
            "note": args.note, "load_average_start": load_start,
            "load_average_end": load_average(), "process_start": start,
            "run": {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                    "timing_json_wall_s": round(recorded, 3), "session_run_calls": calls,
                    "session_run_wall_s": round(run_wall, 3),
                    "session_run_cpu_s": round(run_cpu, 3),
                    "trace_extra_s": round(traced_extra, 3)},
            "results_online_reward": results.get("online", {}).get("reward_mean"),
            "byte_identical_to": ({"run_dir": args.check_against, "files": identical}
                                  if identical is not None else None),
            "phases": by_phase, "paths": by_path,
            "environment": env, "machine_before": before, "machine_after": machine_state()}
    if identical is not None:
        print("byte-identical to %s: %s" % (args.check_against, identical))
    if args.record:
        put_case(args.record, "profile", case)
    print("profiled_run_cpu_s: %.1f" % cpu)


if __name__ == "__main__":
    main()
