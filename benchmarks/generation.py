"""Interaction-generation throughput: the batched engine against the reference's loop (SPEC 4).

Prints figures; it is not a test. One "interaction step" is one step of a generated (main)
session: the agent recommends k items and the user model responds (a click or `_EOS`); a
session of L clicks has L of them. With q_D, the N rollouts per prefix and the discriminator
calls are the price of those steps, so steps/s with q_D counts main-session steps only.

The two engines, on the same (untrained, randomly initialised) models:
  batched    `Generator`: all live sequences of a batch advanced by one `session.run` per step,
             LSTM states carried, N rollouts of every prefix in one batch, sampling in the graph.
  reference  `ReferenceGenerator`: the authors' loop shape, one sequence at a time: one
             `session.run` per agent call (k items sampled in the graph, only they are fetched),
             per user call (the prefix re-encoded, the click sampled in the graph) and per D call.
Both sample from the same distributions with the same in-graph ops, so neither pays for
sampling that the other does not.

Fair comparison:
  * interleaved: each of `--rounds` rounds runs the batched engine on `--sessions` sessions,
    then the reference on its share of `--ref-sessions`, so both see the same machine load;
    the per-round ratios are printed (their spread shows how much the load moved);
  * matched lengths: a session's cost per step grows with its length (with q_D, longer rollouts
    from early positions), and random sessions end at random. The reference is timed session by
    session; its rate at the batched run's length mix is sum(L) / sum(mean reference time of a
    session of length L) over the batched sessions, so the speedup is per generated step at the
    same lengths (a length the reference never produced is extrapolated from the nearest one
    and listed; with the default 60 reference sessions that is rare). Raw mean lengths and the
    raw speedup are printed too, with whether the mean lengths agree within 5 %;
  * load: wall time is what counts, but on a shared machine it depends on what else runs, so
    the load average is printed per round and the ratio of process CPU time per step (which
    other processes disturb less) beside it. The CPU ratio is not the speedup: the batched
    engine keeps more cores busy than the reference, so on an idle machine it is the lower one.

Sizes by default are the simulator's (2 x 512 LSTMs, 50-d embeddings, 50 items = vocabulary 54,
k = 10, max_len = 6 = 2 * floor(mean length ~3-4 of the MDP logs), N = 5), then the same with
40,000 items (vocabulary 40,004). The last line is `speedup_vs_reference: <x>`: simulator sizes,
with q_D, per generated step at matched lengths.

    .venv/bin/python benchmarks/generation.py                  # default sizes (~5-10 min, 2 cores)
    .venv/bin/python benchmarks/generation.py --profile        # + where a batched step's time goes
    .venv/bin/python benchmarks/generation.py --record FILE    # + the figures as JSON
    .venv/bin/python benchmarks/generation.py --quick          # tiny smoke run (numbers mean nothing)
"""
from __future__ import print_function

import argparse
import collections
import sys
import time

import numpy as np

from _common import (TimedSession, add_record_args, add_size_args, categorize,  # noqa: E402
                     environment, load_average, machine_state,
                     write_record)  # (_common puts this checkout's src/ on sys.path)

from irecgan.data.vocab import N_SPECIAL  # noqa: E402
from irecgan.models.graph import ModelGraph  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402
from irecgan.training.generation import Generator  # noqa: E402
from irecgan.training.reference_generator import ReferenceGenerator  # noqa: E402

MATCH_TOLERANCE = 0.05  # mean lengths "agree" within 5 %


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_size_args(p)
    p.add_argument("--items", type=int, default=50, help="items at the simulator sizes")
    p.add_argument("--large-items", type=int, default=40000,
                   help="items of the large-vocabulary run (0 skips it)")
    p.add_argument("--k", type=int, default=10, help="recommended list length")
    p.add_argument("--max-len", type=int, default=6,
                   help="longest generated session in clicks (2 * floor(mean length))")
    p.add_argument("--rollouts", type=int, default=5, help="N rollouts per prefix for q_D")
    p.add_argument("--rounds", type=int, default=4,
                   help="interleaved rounds (batched, then reference) per size and q_D setting")
    p.add_argument("--sessions", type=int, default=200,
                   help="sessions per round for the batched engine (one generate call)")
    p.add_argument("--ref-sessions", type=int, default=60,
                   help="reference sessions with q_D, over all rounds (at least 50 for a fair "
                        "length match)")
    p.add_argument("--ref-sessions-no-qd", type=int, default=120,
                   help="reference sessions without q_D, over all rounds")
    p.add_argument("--no-qd-repeats", type=int, default=5,
                   help="batched generate calls per round without q_D (each is short)")
    p.add_argument("--max-rows", type=int, default=4096,
                   help="most rows per session.run of the batched engine")
    p.add_argument("--seed", type=int, default=0, help="model and sampling seed")
    p.add_argument("--d-head", default="authors", choices=["authors", "sequence"],
                   help="the discriminator's head (ModelGraph d_head)")
    p.add_argument("--profile", action="store_true",
                   help="trace one batched generate call per size (q_D) and print the op time "
                        "per kind of op")
    add_record_args(p, "tiny smoke sizes (2 x 16 LSTM, 8-d embeddings, 500 large items)")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.embed = 16, 2, 8
        args.large_items = min(args.large_items, 500)
        args.rounds, args.sessions, args.ref_sessions, args.ref_sessions_no_qd = 2, 20, 4, 6
        args.no_qd_repeats = 1
    return args


# ------------------------------------------------------------------------------------------------
# Timing

def first_clicks(rng, n, vocab):
    return rng.randint(N_SPECIAL, vocab, size=n)


def run_batched(engine, timer, n_sessions, vocab, with_q_d, seed, repeats=1):
    """`repeats` generate calls of `n_sessions` each: lengths, wall s, process CPU s,
    session.run s, session.run calls."""
    rng = np.random.RandomState(seed)
    run0, calls0 = timer.run_seconds, timer.run_calls
    lengths, wall, cpu = [], 0.0, 0.0
    for _ in range(repeats):
        first = first_clicks(rng, n_sessions, vocab)
        start, cpu0 = time.time(), time.process_time()
        sessions = engine.generate(first, rng, with_q_d=with_q_d)
        wall += time.time() - start
        cpu += time.process_time() - cpu0
        lengths += [len(s.clicks) for s in sessions]
    return lengths, wall, cpu, timer.run_seconds - run0, timer.run_calls - calls0


def run_reference(engine, timer, n_sessions, vocab, with_q_d, seed):
    """`n_sessions` generated one by one, each timed: lengths, walls and process CPU seconds
    (per session), session.run s, calls."""
    rng = np.random.RandomState(seed)
    first = first_clicks(rng, n_sessions, vocab)
    run0, calls0 = timer.run_seconds, timer.run_calls
    lengths, walls, cpus = [], [], []
    for click in first:
        start, cpu0 = time.time(), time.process_time()
        (s,) = engine.generate([click], rng, with_q_d=with_q_d)
        walls.append(time.time() - start)
        cpus.append(time.process_time() - cpu0)
        lengths.append(len(s.clicks))
    return lengths, walls, cpus, timer.run_seconds - run0, timer.run_calls - calls0


def matched_rate(target_lengths, ref_lengths, ref_walls):
    """Reference steps/s at the length mix `target_lengths`: sum(L) / sum over the target
    sessions of the mean reference wall of a session of that length. A length the reference
    never produced takes the nearest sampled length's mean wall scaled by L / L' (listed in the
    returned `missing`)."""
    by_length = collections.defaultdict(list)
    for length, wall in zip(ref_lengths, ref_walls):
        by_length[length].append(wall)
    mean_wall = dict((length, float(np.mean(w))) for length, w in by_length.items())
    missing = sorted(set(target_lengths) - set(mean_wall))
    total = 0.0
    for length in target_lengths:
        if length in mean_wall:
            total += mean_wall[length]
        else:
            near = min(mean_wall, key=lambda x: (abs(x - length), x))
            total += mean_wall[near] * length / float(near)
    return sum(target_lengths) / total, missing


def compare(args, batched, reference, timer, vocab, q_d, seed):
    """Interleaved rounds of both engines for one q_D setting; returns the figures (a dict)."""
    n_ref = args.ref_sessions if q_d else args.ref_sessions_no_qd
    per_round = [n_ref // args.rounds + (1 if r < n_ref % args.rounds else 0)
                 for r in range(args.rounds)]
    # without q_D one batched call is short (a fraction of a second): several per round keep
    # the two engines' time windows comparable under a changing load
    repeats = 1 if q_d else args.no_qd_repeats
    b_len, b_wall, b_cpu, b_run, b_calls = [], 0.0, 0.0, 0.0, 0
    r_len, r_walls, r_cpus, r_run, r_calls = [], [], [], 0.0, 0
    rounds = []
    label = "yes" if q_d else "no"
    for r in range(args.rounds):
        base = seed + 1000 * (r + 1)
        lengths, wall, cpu, run, calls = run_batched(batched, timer, args.sessions, vocab, q_d,
                                                     base + 1, repeats)
        b_len += lengths
        b_wall += wall
        b_cpu += cpu
        b_run += run
        b_calls += calls
        b_rate = sum(lengths) / wall
        r_rate = None
        if per_round[r]:
            lengths_r, walls, cpus, run, calls = run_reference(reference, timer, per_round[r],
                                                               vocab, q_d, base + 2)
            r_len += lengths_r
            r_walls += walls
            r_cpus += cpus
            r_run += run
            r_calls += calls
            r_rate = sum(lengths_r) / sum(walls)
        rounds.append({"batched_steps_per_s": b_rate, "reference_steps_per_s": r_rate,
                       "ratio": None if r_rate is None else b_rate / r_rate,
                       "load_average": load_average()})
        print("  round %d/%d q_D=%-3s batched %7.1f steps/s | reference %6.2f steps/s "
              "(%d sessions) | ratio %s | load %s" % (
                  r + 1, args.rounds, label, b_rate, r_rate or 0.0, per_round[r],
                  "-" if r_rate is None else "%.1f" % (b_rate / r_rate), load_average()))
        sys.stdout.flush()
    b_steps, r_steps = sum(b_len), sum(r_len)
    b_rate, r_raw = b_steps / b_wall, r_steps / sum(r_walls)
    r_matched, missing = matched_rate(b_len, r_len, r_walls)
    r_matched_cpu, _ = matched_rate(b_len, r_len, r_cpus)
    b_mean, r_mean = b_steps / float(len(b_len)), r_steps / float(len(r_len))
    agree = abs(r_mean / b_mean - 1.0) <= MATCH_TOLERANCE
    ratios = [x["ratio"] for x in rounds if x["ratio"] is not None]
    fig = {
        "q_d": q_d,
        "batched": {"sessions": len(b_len), "steps": b_steps, "mean_len": b_mean,
                    "wall_s": b_wall, "cpu_s": b_cpu, "steps_per_s": b_rate,
                    "steps_per_cpu_s": b_steps / b_cpu,
                    "session_run_share": b_run / b_wall, "runs_per_step": b_calls / float(b_steps),
                    "length_histogram": histogram(b_len)},
        "reference": {"sessions": len(r_len), "steps": r_steps,
                      "mean_len": r_mean, "wall_s": sum(r_walls), "cpu_s": sum(r_cpus),
                      "steps_per_s_raw": r_raw, "steps_per_s_at_batched_lengths": r_matched,
                      "steps_per_cpu_s_at_batched_lengths": r_matched_cpu,
                      "lengths_extrapolated": missing,
                      "session_run_share": r_run / sum(r_walls),
                      "runs_per_step": r_calls / float(r_steps),
                      "length_histogram": histogram(r_len)},
        "mean_lengths_agree_within_5pct": agree,
        "speedup_matched": b_rate / r_matched, "speedup_raw": b_rate / r_raw,
        "cpu_time_ratio_matched": (b_steps / b_cpu) / r_matched_cpu,
        "speedup_per_round": ratios, "rounds": rounds,
    }
    for name, key in (("batched", "steps_per_s"), ("reference", "steps_per_s_raw")):
        f = fig[name]
        print("  %-9s q_D=%-3s sessions %4d  steps %5d  mean_len %.2f  wall %7.1f s  "
              "steps/s %8.2f  runs/step %6.2f  in session.run %3.0f%%  CPU %5.2f x wall" % (
                  name, label, f["sessions"], f["steps"], f["mean_len"], f["wall_s"], f[key],
                  f["runs_per_step"], 100.0 * f["session_run_share"], f["cpu_s"] / f["wall_s"]))
    print("  speedup q_D=%-3s %.1fx per step at matched lengths (reference %.2f steps/s at the "
          "batched length mix; raw %.1fx; rounds %s; process-CPU-time ratio %.1fx); mean "
          "lengths %.2f vs %.2f %s%s" % (
              label, fig["speedup_matched"], r_matched, fig["speedup_raw"],
              " ".join("%.1f" % x for x in ratios), fig["cpu_time_ratio_matched"], b_mean,
              r_mean, "(within 5%)" if agree else "(differ by more than 5%: the matched figure "
              "weights the reference by the batched lengths)",
              "; no reference session of length %s (extrapolated from the nearest)" % missing
              if missing else ""))
    sys.stdout.flush()
    return fig


def histogram(lengths):
    return dict((str(k), int(v)) for k, v in sorted(collections.Counter(lengths).items()))


# ------------------------------------------------------------------------------------------------
# Where a batched step's time goes

def op_categories(vocab):
    """[(kind, regex on "TYPE NAME cols=C")] for the batched engine's ops: a matmul with `vocab`
    output columns is the agent's output layer; grappler fuses the Gumbel noise's -log(-log u)
    into one _UnaryOpsComposition."""
    return [
        ("agent output layer matmul (H x V)", r"MatMul\S* .* cols=%d$" % vocab),
        ("LSTM and small matmuls", r"MatMul"),
        ("Gumbel noise (stateless uniform, log)", r"^(StatelessRandom\w*|Log|Neg|"
                                                 r"_UnaryOpsComposition) |"
                                                 r"stateless_random_uniform"),
        ("top-k", r"^TopKV2 "),
        ("log-softmax", r"^LogSoftmax "),
        ("LSTM gates (sigmoid, tanh, mul, add)", r"^(Sigmoid|Tanh|Mul|AddV2|Add|BiasAdd) "),
        ("gathers (embeddings, candidates)", r"Gather"),
        ("concat / split / slice / reshape", r"^(ConcatV2|Split\w*|StridedSlice|Slice|Reshape|"
                                             r"Pack|Fill|Shape|ExpandDims|Squeeze) "),
        ("feeds and fetches", r"^(_Arg|_Retval|_Recv|_Send|Identity|Const|NoOp|"
                              r"Placeholder\w*) "),
    ]


def profile(args, batched, session, vocab, seed):
    """Trace one batched generate call with q_D (every session.run traced)."""
    tracer = TimedSession(session, trace=True)
    batched.session = tracer
    rng = np.random.RandomState(seed)
    start = time.time()
    sessions = batched.generate(first_clicks(rng, args.sessions, vocab), rng, with_q_d=True)
    wall = time.time() - start
    batched.session = session
    steps = sum(len(s.clicks) for s in sessions)
    total_op = sum(tracer.op_ms.values())
    kinds = categorize(tracer.op_ms, op_categories(vocab))
    by_type = collections.Counter()
    for (op_type, _), ms in tracer.op_ms.items():
        by_type[op_type] += ms
    print("  profile (one traced generate with q_D, %d sessions, %d steps, %d session.run calls):"
          " wall %.0f ms, in session.run %.0f ms, op time summed over ops and threads %.0f ms" % (
              args.sessions, steps, tracer.run_calls, 1e3 * wall, 1e3 * tracer.run_seconds,
              total_op))
    for name, ms in sorted(kinds, key=lambda x: -x[1]):
        print("    %-40s %9.1f ms  %5.1f%%" % (name, ms, 100.0 * ms / max(total_op, 1e-9)))
    print("    outside session.run (Python, numpy)        %9.1f ms  (%.1f%% of wall)" % (
        1e3 * (wall - tracer.run_seconds), 100.0 * (wall - tracer.run_seconds) / wall))
    print("    top op types (ms): %s" % ", ".join(
        "%s %.0f" % (k, v) for k, v in by_type.most_common(10)))
    return {"sessions": args.sessions, "steps": steps, "session_run_calls": tracer.run_calls,
            "wall_ms": 1e3 * wall, "session_run_ms": 1e3 * tracer.run_seconds,
            "outside_session_run_ms": 1e3 * (wall - tracer.run_seconds),
            "op_ms_total": total_op, "op_ms_by_kind": dict(kinds),
            "op_ms_by_type": dict(by_type.most_common(20))}


# ------------------------------------------------------------------------------------------------

def run_size(args, n_items):
    vocab = n_items + N_SPECIAL
    print("%d x %d LSTM, %d-d embeddings, %d items (vocabulary %d), k %d, max_len %d, N %d, "
          "D head %s" % (args.layers, args.hidden, args.embed, n_items, vocab, args.k,
                         args.max_len, args.rollouts, args.d_head))
    start = time.time()
    models = ModelGraph(vocab, embed_dim=args.embed, hidden=args.hidden, layers=args.layers,
                        k=args.k, purchase_head=False, seed=args.seed, d_head=args.d_head)
    session = tf.Session(graph=models.graph)
    timer = TimedSession(session)
    batched = Generator(models, timer, args.max_len, n_rollouts=args.rollouts,
                        max_rows=args.max_rows)
    reference = ReferenceGenerator(models, timer, args.max_len, n_rollouts=args.rollouts)
    session.run(models.init_op)
    # warm-up: the first run of each fetch/feed signature pays graph optimisation
    for q_d in (True, False):
        run_batched(batched, timer, 2, vocab, q_d, args.seed + 100)
        run_reference(reference, timer, 1, vocab, q_d, args.seed + 101)
    print("  (build and warm-up %.1f s)" % (time.time() - start))
    out = {"items": n_items, "vocab": vocab}
    for q_d in (True, False):
        out["q_d" if q_d else "no_q_d"] = compare(args, batched, reference, timer, vocab, q_d,
                                                  args.seed + (0 if q_d else 500))
    if args.profile:
        out["profile"] = profile(args, batched, session, vocab, args.seed + 7)
    session.close()
    return out


def main(argv=None):
    args = parse_args(argv)
    before, env = machine_state(), environment(TF_VERSION)
    print("TensorFlow %s, numpy %s, Python %s, load average %s%s" % (
        TF_VERSION, np.__version__, sys.version.split()[0], before["load_average"],
        ", QUICK (tiny sizes)" if args.quick else ""))
    sizes = [args.items] + ([args.large_items] if args.large_items > 0 else [])
    results = [run_size(args, n_items) for n_items in sizes]
    sim = results[0]["q_d"]
    print("summary (per generated step, matched lengths; raw in brackets):")
    for r in results:
        print("  %6d items: q_D %.1fx (%.1fx), no q_D %.1fx (%.1fx); batched %.1f / %.1f "
              "steps/s" % (r["items"], r["q_d"]["speedup_matched"], r["q_d"]["speedup_raw"],
                           r["no_q_d"]["speedup_matched"], r["no_q_d"]["speedup_raw"],
                           r["q_d"]["batched"]["steps_per_s"],
                           r["no_q_d"]["batched"]["steps_per_s"]))
    if args.record:
        figures = {"sizes": results, "speedup_vs_reference": sim["speedup_matched"]}
        write_record(args.record, "generation", args, figures, before, env, args.note)
        print("recorded in %s" % args.record)
    print("(the last line: %d items, with q_D, per generated step at matched lengths, against "
          "the reference loop with in-graph sampling; TF %s, load average at the end %s)" % (
              args.items, TF_VERSION, load_average()))
    print("speedup_vs_reference: %.1f" % sim["speedup_matched"])


if __name__ == "__main__":
    main()
