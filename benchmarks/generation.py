"""Interaction-generation throughput: the batched engine against the reference's loop (SPEC 4).

Prints figures; it is not a test. One "interaction step" is one step of a generated (main)
session: the agent recommends k items and the user model responds (a click or `_EOS`); a
session of L clicks has L of them. With q_D, the N rollouts per prefix and the discriminator
calls are the price of those steps, so steps/s with q_D counts main-session steps only.

The batched engine (`Generator`) generates `--sessions` sessions in one call; the reference
(`ReferenceGenerator`: one sequence at a time, the user model re-encoding the prefix) is timed on
fewer sessions because it is slow. Both use the same (untrained, randomly initialised) models,
so sessions end at random; the mean session length of each run is printed, because the cost of
q_D per step grows with the length (longer rollouts from early positions).

Sizes by default are the simulator's (2 x 512 LSTMs, 50-d embeddings, 50 items = vocabulary 54,
k = 10, max_len = 6 = 2 * floor(mean length ~3-4 of the MDP logs), N = 5), then the same with
40,000 items (vocabulary 40,004). The last line is `speedup_vs_reference: <x>` at the simulator
sizes with q_D.

    .venv/bin/python benchmarks/generation.py            # default sizes (a few minutes, 2 cores)
    .venv/bin/python benchmarks/generation.py --quick    # tiny smoke run
"""
from __future__ import print_function

import argparse
import os
import sys
import time

import numpy as np

from _common import add_size_args  # noqa: E402  (puts this checkout's src/ on sys.path)

from irecgan.data.vocab import N_SPECIAL  # noqa: E402
from irecgan.generation import Generator, ReferenceGenerator  # noqa: E402
from irecgan.models.graph import ModelGraph  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402


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
    p.add_argument("--sessions", type=int, default=200, help="sessions for the batched engine")
    p.add_argument("--ref-sessions", type=int, default=5,
                   help="sessions for the reference loop with q_D")
    p.add_argument("--ref-sessions-no-qd", type=int, default=20,
                   help="sessions for the reference loop without q_D")
    p.add_argument("--max-rows", type=int, default=4096,
                   help="most rows per session.run of the batched engine")
    p.add_argument("--seed", type=int, default=0, help="model and sampling seed")
    p.add_argument("--quick", action="store_true",
                   help="tiny smoke sizes (2 x 16 LSTM, 8-d embeddings, 500 large items)")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.layers, args.embed = 16, 2, 8
        args.large_items = min(args.large_items, 500)
        args.sessions, args.ref_sessions, args.ref_sessions_no_qd = 20, 2, 4
    return args


def timed(engine, n_sessions, vocab, with_q_d, seed):
    """Generate `n_sessions` from uniform random first items; returns a dict of figures."""
    rng = np.random.RandomState(seed)
    first = rng.randint(N_SPECIAL, vocab, size=n_sessions)
    calls0 = engine.calls
    start = time.time()
    sessions = engine.generate(first, rng, with_q_d=with_q_d)
    wall = time.time() - start
    steps = sum(len(s.clicks) for s in sessions)
    return dict(sessions=n_sessions, steps=steps, wall=wall, rate=steps / wall,
                calls=(engine.calls - calls0) / float(steps),
                mean_len=steps / float(n_sessions))


def report(name, q_d, r):
    print("  %-9s q_D=%-3s sessions %4d  steps %5d  mean_len %.2f  wall %8.2f s  "
          "steps/s %9.1f  runs/step %7.3f" % (name, "yes" if q_d else "no", r["sessions"],
                                             r["steps"], r["mean_len"], r["wall"], r["rate"],
                                             r["calls"]))
    sys.stdout.flush()


def run_size(args, n_items):
    vocab = n_items + N_SPECIAL
    print("%d x %d LSTM, %d-d embeddings, %d items (vocabulary %d), k %d, max_len %d, N %d"
          % (args.layers, args.hidden, args.embed, n_items, vocab, args.k, args.max_len,
             args.rollouts))
    start = time.time()
    models = ModelGraph(vocab, embed_dim=args.embed, hidden=args.hidden, layers=args.layers,
                        k=args.k, purchase_head=False, seed=args.seed)
    batched = Generator(models, None, args.max_len, n_rollouts=args.rollouts,
                        max_rows=args.max_rows)
    reference = ReferenceGenerator(models, None, args.max_len, n_rollouts=args.rollouts)
    session = tf.Session(graph=models.graph)
    session.run(models.init_op)
    batched.session = reference.session = session
    # warm-up: the first run of each fetch/feed signature pays graph optimisation
    timed(batched, 2, vocab, True, args.seed + 100)
    timed(reference, 1, vocab, True, args.seed + 101)
    print("  (build and warm-up %.1f s)" % (time.time() - start))

    out = {}
    for q_d in (True, False):
        out["batched", q_d] = r = timed(batched, args.sessions, vocab, q_d, args.seed + 1)
        report("batched", q_d, r)
        n_ref = args.ref_sessions if q_d else args.ref_sessions_no_qd
        out["reference", q_d] = r = timed(reference, n_ref, vocab, q_d, args.seed + 2)
        report("reference", q_d, r)
    for q_d in (True, False):
        b, r = out["batched", q_d], out["reference", q_d]
        note = ""
        ratio = b["mean_len"] / r["mean_len"]
        if ratio > 1.25 or ratio < 0.8:
            note = "  (mean lengths differ: %.2f vs %.2f; the reference sample is small)" % (
                b["mean_len"], r["mean_len"])
        print("  speedup q_D=%-3s %.1fx%s" % ("yes" if q_d else "no", b["rate"] / r["rate"],
                                              note))
    session.close()
    return out


def main(argv=None):
    args = parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print("TensorFlow %s, numpy %s, %d CPUs, load average %s" % (
        TF_VERSION, np.__version__, os.cpu_count() or 0,
        "n/a" if load is None else "%.2f %.2f %.2f" % load))
    sizes = [args.items] + ([args.large_items] if args.large_items > 0 else [])
    results = {}
    for n_items in sizes:
        results[n_items] = run_size(args, n_items)
    sim = results[args.items]
    speedup = sim["batched", True]["rate"] / sim["reference", True]["rate"]
    print("speedup_vs_reference: %.1f" % speedup)


if __name__ == "__main__":
    main()
