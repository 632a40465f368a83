"""The paper's phases at the paper's sizes, next to the authors' figures (issue 33, item 3).

Prints figures; it is not a test. The models are OURS, built exactly as an irecgan run builds
them (`experiment.open_run` / `build_models`: one graph holding U, A and D with their train
ops, a Runner's session; the batched generation engine with Monte-Carlo q_D), at configs/
paper.cfg's settings (2 x 512 LSTMs, 50-d embeddings, k 10, batch 32, N = 5 rollouts), TF threads
`--threads` (1: as run_sim.sh / run_cikm.sh run every job). Phases run through the trainers' own
loops (`training.offline.run_epoch` for A and U, `AdversarialTraining.train_disc_authors` for
D, `AdversarialTraining.generate` for generation), so batch building is inside the times.

1. A 10,000-session MDP log (`irecgan-simulate --env=mdp --policy=random --seed=1`, in a temp
   dir; 50 items, 38/1/1 fold split: 9,500 training sessions): one agent epoch, one user-model
   epoch, one discriminator epoch (the authors' definition: every training session once in
   batches of 32 real + 32 generated, 297 batches) and interact(200) with D (200 generated
   sessions with q_D: N rollouts per prefix scored by D).
2. CIKM scale: synthetic sessions over 40,000 items (vocabulary 40,004, lists of 10..100 items,
   mean length `--cikm-mean-length`, generated sessions of at most 4 steps: SPEC 4's max_len on
   CIKM): seconds per agent step, user-model step, D step, generated step with D; and, for the
   cost of ./run_cikm.sh, per generated step without D and per evaluation batch.

Each phase runs `--warmup` untimed steps, then `--steps` timed ones; an epoch is extrapolated
as seconds per step x the epoch's steps (said in the output). Wall and process-CPU seconds are
both recorded (the machine may be shared), with the load average. Ratios are authors / ours
(> 1: ours is faster). FLOPs are counted analytically (benchmarks/phase_model.py) on the timed
batches' shapes; each phase's arithmetic limit is the time plain tf.matmul takes for the same
shapes (measured here, each shape in an in-graph loop), so `of limit` = that time / the phase's.

    .venv/bin/python benchmarks/phases.py                       # paper sizes (~2-3 min, 1 thread)
    .venv/bin/python benchmarks/phases.py --record FILE         # + the figures as JSON
    .venv/bin/python benchmarks/phases.py --quick               # smoke run (numbers mean nothing)

The last line is `slowest_ratio: <x>` (the smallest authors / ours ratio over the phases).
"""
from __future__ import division, print_function

import argparse
import copy
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import (SRC, add_record_args, add_size_args, environment,  # noqa: E402
                     machine_state, write_record)
import phase_model as pm  # noqa: E402
from training import synthetic_sessions  # noqa: E402

from irecgan import experiment  # noqa: E402
from irecgan.config import resolve  # noqa: E402
from irecgan.data.dataset import Dataset  # noqa: E402
from irecgan.data.vocab import Vocabulary  # noqa: E402
from irecgan.rundir.runner import Runner  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402
from irecgan.training.adversarial import AdversarialTraining  # noqa: E402
from irecgan.training.generation import Generator  # noqa: E402
from irecgan.training.offline import run_epoch  # noqa: E402
from irecgan.training.pretrain import agent_task, evaluate, user_task  # noqa: E402

# issue 33: the authors' released code, ported to TF 2.21, on a 2-core machine of this family
AUTHORS = {"mdp": {"agent_epoch": 35.0, "user_epoch": 36.0, "disc_epoch": 192.0,
                   "interact200_with_d": 138.0},
           "cikm": {"agent_step": 0.620, "user_step": 0.334, "disc_step": 0.881,
                    "gen_step_with_d": 0.163}}
PRESET = os.path.join(os.path.dirname(SRC), "configs", "paper.cfg")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_args(p)
    p.add_argument("--threads", type=int, default=1, help="TF threads (0: TF's default)")
    p.add_argument("--mdp-sessions", type=int, default=10000, help="sessions of the MDP log")
    p.add_argument("--steps", type=int, default=16, help="timed training steps per phase")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    p.add_argument("--gen-sessions", type=int, default=200, help="interact(m): m sessions")
    p.add_argument("--cikm-items", type=int, default=40000, help="items at CIKM scale")
    p.add_argument("--cikm-mean-length", type=float, default=2.5,
                   help="mean synthetic CIKM session length (max_len 4 = 2 floor(mean))")
    p.add_argument("--cikm-max-len", type=int, default=4, help="longest generated CIKM session")
    p.add_argument("--cikm-steps", type=int, default=8, help="timed steps per phase at CIKM")
    p.add_argument("--gpu-tflops", type=float, default=4.0,
                   help="GPU estimate: sustained TFLOP/s assumed (V100 fp32 peak: 15.7)")
    p.add_argument("--gpu-call-ms", type=float, default=10.0,
                   help="GPU estimate: ms assumed per session.run besides the FLOPs (kernel "
                        "launches of dynamic_rnn's loop, ~100 per time step, feeds, fetches)")
    p.add_argument("--seed", type=int, default=1)
    add_record_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.embed = 32, 1, 8
        args.mdp_sessions, args.steps, args.warmup, args.gen_sessions = 400, 2, 1, 10
        args.cikm_items, args.cikm_steps = 500, 2
    return args


def preset(args, **overrides):
    """configs/paper.cfg with the size options and `overrides`, resolved by irecgan.config."""
    values = {}
    with open(PRESET) as f:
        for line in f:
            if line.startswith("--"):
                key, value = line[2:].strip().split("=", 1)
                for kind in (int, float):
                    try:
                        value = kind(value)
                        break
                    except ValueError:
                        pass
                values[key] = value
    # data: the MDP log; at CIKM scale no log is read (build_models reads the Dataset), so the
    # preset file stands in for the required path
    values.update(embed_dim=args.embed, hidden=args.hidden, layers=args.layers,
                  threads=args.threads, seed=args.seed, method="irecgan", data=PRESET)
    values.update(overrides)
    return resolve(values)


class Recorder(object):
    """A BatchMaker that notes each batch's (rows, padded length, predicting positions)."""

    def __init__(self, batch_maker):
        self.batch_maker, self.shapes = batch_maker, []

    def __call__(self, sessions, rng):
        batch = self.batch_maker(sessions, rng)
        self.shapes.append(batch["mask"].shape + (float(batch["mask"].sum()),))
        return batch


class CountingGenerator(Generator):
    """The run's Generator, noting each step call's (advanced rows, spawned rows)."""

    def __init__(self, *args, **kwargs):
        Generator.__init__(self, *args, **kwargs)
        self.shapes = []

    def _step(self, rows, rng, spawn=False):
        out = Generator._step(self, rows, rng, spawn)
        n = len(rows.click)
        self.shapes.append((n, n * self.n_rollouts if spawn else 0))
        return out


class Training(AdversarialTraining):
    def make_generator(self):
        return CountingGenerator(self.models, self.session, self.max_len,
                                 n_rollouts=self.n_rollouts)


def clock():
    return time.time(), time.process_time()


def since(start):
    return time.time() - start[0], time.process_time() - start[1]


def timed_passes(session, task, sessions, args, steps, rec, rng, bucket_window):
    """Warm-up then `steps` steps of the pretraining loop: (wall, cpu, timed batch shapes)."""
    b, w = args.batch_size, args.warmup
    run_epoch(session, sessions[:w * b], b, rec, task.feed_fn, {"loss": task.loss}, rng,
              train_op=task.train_op, show_progress=False, bucket_window=bucket_window,
              loss_scale=task.loss_scale)
    del rec.shapes[:]
    start = clock()
    run_epoch(session, sessions[w * b:(w + steps) * b], b, rec, task.feed_fn,
              {"loss": task.loss}, rng, train_op=task.train_op, show_progress=False,
              bucket_window=bucket_window, loss_scale=task.loss_scale)
    return since(start) + (list(rec.shapes),)


def timed_disc(adv, data, sessions, pool, args, steps, rng):
    """Warm-up then `steps` D updates of the authors' D epoch (32 real + 32 generated)."""
    b, w = args.batch_size, args.warmup
    adv.data = copy.copy(data)
    adv.data.train = sessions[:w * b]
    adv.train_disc_authors(pool, rng, 1)
    adv.data.train = sessions[w * b:(w + steps) * b]
    del adv.batch_maker.shapes[:]
    start = clock()
    adv.train_disc_authors(pool, rng, 1)
    adv.data = data
    return since(start) + (list(adv.batch_maker.shapes),)


def timed_generate(adv, n, rng, with_q_d):
    """(wall, cpu, generated steps = clicks, step-call shapes, session.run calls)."""
    adv.generate(max(2, n // 20), rng, with_q_d)  # warm-up
    gen = adv.generator
    del gen.shapes[:]
    calls, start = gen.calls, clock()
    sessions = adv.generate(n, rng, with_q_d)
    wall, cpu = since(start)
    return wall, cpu, sum(len(s.clicks) for s in sessions), list(gen.shapes), gen.calls - calls


# ------------------------------------------------------------------------------------------------
# FLOPs and the plain-matmul limit

class MatmulClock(object):
    """(wall, process-CPU) seconds of one plain tf.matmul per shape (the fastest of 3 in-graph
    loops), cached."""

    def __init__(self, threads, seed):
        self.threads, self.seed, self.cache = threads, seed, {}

    def seconds(self, m, k, n):
        if (m, k, n) not in self.cache:
            reps = int(max(2, min(1000, 1e9 / (2.0 * m * k * n))))
            graph = tf.Graph()
            with graph.as_default():
                init = tf.random_normal_initializer(seed=self.seed)
                a = tf.get_variable("a", [m, k], initializer=init)
                b = tf.get_variable("b", [k, n], initializer=init)

                def body(i, acc):
                    return i + 1, acc + tf.matmul(a, b)[0, 0]
                loop = tf.while_loop(lambda i, acc: i < reps, body,
                                     [tf.constant(0), tf.constant(0.0)])
            config = tf.ConfigProto(intra_op_parallelism_threads=self.threads,
                                    inter_op_parallelism_threads=self.threads)
            with tf.Session(graph=graph, config=config) as session:
                session.run(tf.variables_initializer([a, b]))
                session.run(loop)
                times = []
                for _ in range(3):
                    start = clock()
                    session.run(loop)
                    times.append(since(start))
            self.cache[m, k, n] = tuple(x / reps for x in min(times))
        return self.cache[m, k, n]

    def limit(self, matmuls):
        """(wall, CPU) seconds of plain matmuls of `matmuls`' shapes and counts."""
        times = [(count * w, count * c) for m, k, n, count in pm.merge(matmuls)
                 for w, c in [self.seconds(m, k, n)]]
        return sum(t[0] for t in times), sum(t[1] for t in times)


def mean_shape(shapes):
    """Timed training batches -> (rows, steps, positions): mean rows, padded positions / rows,
    mean real positions (so the counted LSTM positions are those executed)."""
    rows = np.mean([s[0] for s in shapes])
    return rows, np.mean([s[0] * s[1] for s in shapes]) / rows, np.mean([s[2] for s in shapes])


def arithmetic(kind, shapes, seconds, n_items, args, purchase, matmuls):
    """FLOPs of the timed part (forward x 3 for training), GFLOP/s reached, the plain-matmul
    GFLOP/s of the same shapes and the share of that limit reached (`seconds`: the phase's
    (wall, CPU); each figure by wall and by CPU), the largest matmul and, for training, the
    share of the LSTM positions that are real (not padding)."""
    e, h, layers, vocab = args.embed, args.hidden, args.layers, n_items + 4
    if kind == "generate":
        per = [pm.generation_call(a, s, e, h, layers, vocab, purchase) for a, s in shapes]
        total = sum(pm.flops(x) for x in per)
        a, s = np.mean([x[0] for x in shapes]), np.mean([x[1] for x in shapes])
        typical = pm.generation_call(a, s, e, h, layers, vocab, purchase)
        limit = np.array(matmuls.limit(typical)) * len(shapes)
        real = None
    else:
        rows, steps, positions = mean_shape(shapes)
        fwd = {"agent": lambda: pm.agent_step(rows, steps, positions, e, h, layers, vocab),
               "user": lambda: pm.user_step(rows, steps, e, h, layers, purchase),
               "disc": lambda: pm.disc_step(rows, steps, e, h, layers)}[kind]()
        typical = pm.training(fwd)
        total = len(shapes) * pm.flops(typical)
        limit = np.array(matmuls.limit(typical)) * len(shapes)
        real = positions / (rows * steps)
    biggest = max(pm.merge(typical), key=lambda x: 2.0 * x[0] * x[1] * x[2] * x[3])
    wall, cpu = seconds
    return {"gflop": total / 1e9, "gflops": total / wall / 1e9,
            "limit_gflops": total / limit[0] / 1e9, "of_limit": limit[0] / wall,
            "gflops_cpu": total / cpu / 1e9, "limit_gflops_cpu": total / limit[1] / 1e9,
            "of_limit_cpu": limit[1] / cpu, "real_position_share": real,
            "biggest_matmul": [int(x) for x in biggest[:3]],
            "biggest_share": 2.0 * np.prod(biggest) / pm.flops(typical)}


# ------------------------------------------------------------------------------------------------
# The two settings

def quiet(msg):
    pass


def adversarial(runner, models, data, rec, config, max_len):
    settings = experiment.adversarial_settings(config)
    settings["max_len"] = max_len
    return Training(runner, models, data, rec, lambda epoch: {}, use_disc=True, **settings)


def sample(sessions, n, rng):
    return [sessions[i] for i in rng.choice(len(sessions), size=n, replace=n > len(sessions))]


def phases_of(runner, models, data, config, args, n_items, steps, gen_n, max_len, extra):
    """Time the phases on an open run: {name: {wall_s, cpu_s, units, per_unit_s, ...}}."""
    rng = np.random.RandomState(args.seed)
    rec = Recorder(experiment.batch_maker_of(config, data))
    session, window = runner.session, config["bucket_window"]
    need = (args.warmup + steps) * args.batch_size
    out = {}
    arith = {}
    mm = MatmulClock(args.threads, args.seed)
    for name, task, kind in (("agent", agent_task(models, "returns"), "agent"),
                             ("user", user_task(models), "user")):
        wall, cpu, shapes = timed_passes(session, task, sample(data.train, need, rng), args,
                                         steps, rec, rng, window)
        out[name + "_step"] = dict(wall_s=wall, cpu_s=cpu, units=len(shapes))
        arith[name + "_step"] = (kind, shapes, (wall, cpu))
    adv = adversarial(runner, models, data, rec, config, max_len)
    pool = adv.generate(4 * args.batch_size, rng, False)
    wall, cpu, shapes = timed_disc(adv, data, sample(data.train, need, rng), pool, args, steps,
                                   rng)
    out["disc_step"] = dict(wall_s=wall, cpu_s=cpu, units=len(shapes))
    arith["disc_step"] = ("disc", shapes, (wall, cpu))
    for name, with_q_d in (("gen_step_with_d", True), ("gen_step", False)):
        wall, cpu, clicks, shapes, calls = timed_generate(adv, gen_n, rng, with_q_d)
        out[name] = dict(wall_s=wall, cpu_s=cpu, units=clicks, sessions=gen_n, calls=calls)
        arith[name] = ("generate", shapes, (wall, cpu))
    if extra:  # what the cost of ./run_cikm.sh needs beyond the authors' phases
        warm = sample(data.valid, args.warmup * args.batch_size, rng)
        ev = sample(data.valid, steps * args.batch_size, rng)
        for name, task in (("agent_eval_batch", agent_task(models, "mle")),
                           ("user_eval_batch", user_task(models))):
            evaluate(session, task, warm, args.batch_size, rec)
            start = clock()
            evaluate(session, task, ev, args.batch_size, rec)
            out[name] = dict(zip(("wall_s", "cpu_s"), since(start)), units=steps)
        adv.disc_scores(warm, rng)
        start = clock()
        adv.disc_scores(ev, rng)
        out["disc_score_batch"] = dict(zip(("wall_s", "cpu_s"), since(start)), units=steps)
    for name, figures in out.items():
        figures["per_unit_s"] = figures["wall_s"] / max(figures["units"], 1)
        figures["cpu_per_unit_s"] = figures["cpu_s"] / max(figures["units"], 1)
        if name in arith:
            kind, shapes, seconds = arith[name]
            purchase = models.user.purchase_head
            figures.update(arithmetic(kind, shapes, seconds, n_items, args, purchase, mm))
    return out


def mdp_setting(args, tmp):
    log = os.path.join(tmp, "mdp.log")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    subprocess.check_call([sys.executable, "-m", "irecgan.cli.simulate", "--env=mdp",
                           "--policy=random", "--sessions=%d" % args.mdp_sessions, "--seed=1",
                           "--out=" + log, "--params_out=" + log + ".npz",
                           "--eval_sessions=0"], env=env, stdout=subprocess.DEVNULL)
    config = preset(args, data=log, n_items=50, k=10, split="fold")
    start = time.time()
    data, models, runner, _ = experiment.open_run(os.path.join(tmp, "mdp_run"), config, quiet)
    built = time.time() - start
    max_len = max(2, 2 * int(data.mean_length))
    try:
        figures = phases_of(runner, models, data, config, args, 50, args.steps,
                            args.gen_sessions, max_len, extra=False)
    finally:
        runner.close()
    per_epoch = pm.batches(len(data.train), args.batch_size)
    epochs = {"agent_epoch": ("agent_step", per_epoch), "user_epoch": ("user_step", per_epoch),
              "disc_epoch": ("disc_step", per_epoch)}
    summary = {}
    for name, (step, n) in epochs.items():
        summary[name] = dict(seconds=figures[step]["per_unit_s"] * n, steps=n,
                             cpu_seconds=figures[step]["cpu_per_unit_s"] * n, from_phase=step)
    g = figures["gen_step_with_d"]
    summary["interact200_with_d"] = dict(seconds=g["wall_s"], cpu_seconds=g["cpu_s"],
                                         sessions=g["sessions"], from_phase="gen_step_with_d")
    return {"train_sessions": len(data.train), "mean_length": data.mean_length,
            "max_len": max_len, "build_s": built, "phases": figures, "summary": summary}


def cikm_setting(args, tmp):
    rng = np.random.RandomState(args.seed)
    n = (args.warmup + args.cikm_steps) * args.batch_size * 2
    sessions, _ = synthetic_sessions(n, args.cikm_items, rng, args.cikm_mean_length, 40)
    vocab = Vocabulary([str(i) for i in range(args.cikm_items)])
    data = Dataset(vocab, sessions[:n // 2], sessions[n // 2:], [], None)
    config = preset(args, symbols=vocab.size, k=10)
    start = time.time()
    models = experiment.build_models(config, data)
    runner = Runner(os.path.join(tmp, "cikm_run"), models, config, threads=args.threads,
                    log=quiet)
    built = time.time() - start
    try:
        figures = phases_of(runner, models, data, config, args, args.cikm_items, args.cikm_steps,
                            args.gen_sessions, args.cikm_max_len, extra=True)
    finally:
        runner.close()
    return {"vocab": vocab.size, "mean_length": data.mean_length, "max_len": args.cikm_max_len,
            "build_s": built, "phases": figures}


# ------------------------------------------------------------------------------------------------
# Output

ROWS = [("mdp", "agent_epoch", "agent_step"), ("mdp", "user_epoch", "user_step"),
        ("mdp", "disc_epoch", "disc_step"), ("mdp", "interact200_with_d", "gen_step_with_d"),
        ("cikm", "agent_step", "agent_step"), ("cikm", "user_step", "user_step"),
        ("cikm", "disc_step", "disc_step"), ("cikm", "gen_step_with_d", "gen_step_with_d")]


def comparison(results):
    """[(setting, phase, ours s, ours CPU s, authors s, authors / ours, authors / ours CPU,
    arithmetic figures)]."""
    rows = []
    for setting, name, phase in ROWS:
        figures = results[setting]["phases"][phase]
        if setting == "mdp":
            ours = results["mdp"]["summary"][name]["seconds"]
            cpu = results["mdp"]["summary"][name]["cpu_seconds"]
        else:
            ours, cpu = figures["per_unit_s"], figures["cpu_per_unit_s"]
        theirs = AUTHORS[setting][name]
        rows.append((setting, name, ours, cpu, theirs, theirs / ours, theirs / cpu, figures))
    return rows


def hours(seconds):
    return "%.1f h" % (seconds / 3600.0)


def main(argv=None):
    args = parse_args(argv)
    before, env = machine_state(), environment(TF_VERSION)
    config = preset(args)
    args.batch_size = config["batch_size"]
    print("TensorFlow %s, threads %d, load average %s; %d x %d LSTMs, %d-d embeddings, batch %d"
          ", N = %d rollouts%s" % (TF_VERSION, args.threads, before["load_average"],
                                   args.layers, args.hidden, args.embed, args.batch_size,
                                   config["n_rollouts"], ", QUICK" if args.quick else ""))
    tmp = tempfile.mkdtemp(prefix="irecgan-phases-")
    start = clock()
    try:
        results = {"mdp": mdp_setting(args, tmp)}
        print("MDP log: %d training sessions, mean length %.2f, generated max_len %d" % (
            results["mdp"]["train_sessions"], results["mdp"]["mean_length"],
            results["mdp"]["max_len"]))
        results["cikm"] = cikm_setting(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total_wall, total_cpu = since(start)
    print("timed %d steps per training phase (MDP; %d at CIKM) after %d warm-up steps; an epoch "
          "= s/step x its steps (extrapolated)" % (args.steps, args.cikm_steps, args.warmup))
    print("ratio = authors s / ours (wall; CPU: / our process-CPU s); GFLOP/s, the plain-matmul "
          "limit of the same shapes and the share of it reached, by wall | by CPU")
    print("%-5s %-19s %8s %8s %8s %6s %6s | %6s %6s %5s | %6s %6s %5s | %4s  %s" % (
        "", "phase", "ours s", "CPU s", "authors", "ratio", "CPU", "GF/s", "limit", "of",
        "GF/s", "limit", "of", "real", "largest matmul (share)"))
    rows = comparison(results)
    for setting, name, ours, cpu, theirs, ratio, ratio_cpu, f in rows:
        real = f["real_position_share"]
        print("%-5s %-19s %8.3f %8.3f %8.3f %5.1fx %5.1fx | %6.1f %6.1f %4.0f%% | %6.1f %6.1f "
              "%4.0f%% | %4s  %s (%.0f%%)" % (
                  setting, name, ours, cpu, theirs, ratio, ratio_cpu, f["gflops"],
                  f["limit_gflops"], 100 * f["of_limit"], f["gflops_cpu"],
                  f["limit_gflops_cpu"], 100 * f["of_limit_cpu"],
                  "-" if real is None else "%.0f%%" % (100 * real),
                  "x".join(str(x) for x in f["biggest_matmul"]), 100 * f["biggest_share"]))
    extra = results["cikm"]["phases"]
    print("cikm  also: generated step without D %.4f s, evaluation batch agent %.3f s / U %.3f s"
          ", D scoring batch %.3f s" % (extra["gen_step"]["per_unit_s"],
                                        extra["agent_eval_batch"]["per_unit_s"],
                                        extra["user_eval_batch"]["per_unit_s"],
                                        extra["disc_score_batch"]["per_unit_s"]))
    closest = max(rows, key=lambda r: r[7]["of_limit_cpu"])
    print("closest to its arithmetic limit: %s %s (%.0f%% of plain matmuls of its shapes, by "
          "CPU; %.0f%% by wall)" % (closest[0], closest[1], 100 * closest[7]["of_limit_cpu"],
                                    100 * closest[7]["of_limit"]))
    # runs of one thread go 2 at a time on 2 cores (run_cikm.sh's --jobs=2); runs of more
    # threads one at a time
    jobs = 2 if args.threads == 1 else 1
    threads = {0: "TF's default threads", 1: "1 thread"}.get(args.threads,
                                                              "%d threads" % args.threads)
    cost = pm.run_cikm_cost(results["cikm"]["phases"], config, args.gpu_tflops,
                            args.gpu_call_ms, jobs=jobs)
    for method, m in cost["methods"].items():
        print("  run_cikm.sh %-12s one run on %s: %s (wall here), %s (CPU)"
              "; GPU ESTIMATE %s" % (method, threads, hours(m["seconds"]),
                                     hours(m["cpu_seconds"]), hours(m["gpu_seconds"])))
    print("./run_cikm.sh --preset=paper (20 runs, %d at a time x %s on 2 cores): %s at this load,"
          " %s on an idle machine (CPU seconds / 2 cores); GPU host ESTIMATE (%.1f TFLOP/s "
          "sustained + %.0f ms per call, one GPU): %s" % (
              jobs, threads, hours(cost["wall_2_cores_s"]),
              hours(cost["wall_2_cores_idle_estimate_s"]), args.gpu_tflops, args.gpu_call_ms,
              hours(cost["gpu_one_device_s"])))
    slowest = min(r[5] for r in rows)
    print("benchmark: %.0f s wall, %.0f s process CPU; load average now %s" % (
        total_wall, total_cpu, machine_state()["load_average"]))
    if args.record:
        figures = {"settings": results, "authors": AUTHORS, "run_cikm": cost,
                   "comparison": [dict(setting=r[0], phase=r[1], ours_s=r[2], ours_cpu_s=r[3],
                                       authors_s=r[4], ratio=r[5], ratio_cpu=r[6])
                                  for r in rows],
                   "closest_to_limit": closest[:2], "slowest_ratio": slowest,
                   "benchmark_wall_s": total_wall, "benchmark_cpu_s": total_cpu,
                   "command": " ".join(shlex.quote(a) for a in
                                       ["python", "benchmarks/phases.py"] + sys.argv[1:])}
        write_record(args.record, "phases", args, figures, before, env, args.note)
        print("recorded in %s" % args.record)
    print("slowest_ratio: %.2f" % slowest)


if __name__ == "__main__":
    main()
