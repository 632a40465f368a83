"""Training-step time of the discriminator, the user model and the agent at run_sim.sh's CPU sizes,
for both ways of scoring candidates.

Prints figures; it is not a test. Every D, U and A update of an irecgan run feeds batches whose
end step carries `_EOS` plus 15..99 random items (SPEC 2.4), so a batch's candidate axis K is up
to 100 even though the lists shown are k = 10. How D and U score candidates decides their step
time (`models.common.candidate_dots`):

  whole     the whole embedding table is scored ([..., Q, V], one matmul) and the candidates'
            scores picked: what the models use for tables of at most 1,024 rows (the
            simulators' 54-104);
  gathered  the candidates' embedding rows are gathered ([..., K, E]) and multiplied: what they
            use for larger tables (CIKM's 40,004 items).

Before both (commit 0a1900b) D projected every candidate's embedding to the hidden size and
multiplied [..., K, H] tensors. `benchmarks/results/model_steps-tf2-before.json` is this
benchmark (as of commit 5acaaa9, which set the path by patching a module constant, a no-op on old
code) run on that commit's src/; the new figures are `model_steps-tf2.json` (README,
"Benchmarks"). This version passes `small_table_rows` to ModelGraph, which 0a1900b lacks.

Batches: `--batch` sessions of simulator shape (a list of `--k` items before every click, the
click among them; lengths 2..--max-length, mean ~--mean-length), made by `batching.make_batch`
exactly as the trainers make them; D gets half labelled real, half generated (the authors' D
batch: batch_size real + batch_size generated).

    .venv/bin/python benchmarks/model_steps.py            # sim_cpu sizes (about a minute)
    .venv/bin/python benchmarks/model_steps.py --quick    # smoke run (numbers mean nothing)
    .venv/bin/python benchmarks/model_steps.py --record FILE   # + the figures as JSON

The last line is `d_step_ms_whole: <x>`.
"""
from __future__ import print_function

import argparse
import time

import numpy as np

from _common import (add_record_args, environment, machine_state,  # noqa: E402
                     write_record)  # (puts src/ on the path)
from training import session_config, synthetic_sessions  # noqa: E402

from irecgan.data.batching import make_batch  # noqa: E402
from irecgan.models.graph import ModelGraph  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402

PATHS = {"whole": 10 ** 9, "gathered": 0}  # ModelGraph's small_table_rows that selects each path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=50, help="items (vocabulary = items + 4)")
    p.add_argument("--k", type=int, default=10, help="items shown before every click")
    p.add_argument("--embed", type=int, default=32, help="embedding size (sim_cpu: 32)")
    p.add_argument("--hidden", type=int, default=64, help="LSTM units (sim_cpu: 64)")
    p.add_argument("--layers", type=int, default=1, help="LSTM layers (sim_cpu: 1)")
    p.add_argument("--batch", type=int, default=128,
                   help="sessions per batch (D's: 64 real + 64 generated)")
    p.add_argument("--mean-length", type=float, default=6.0, help="mean session length")
    p.add_argument("--max-length", type=int, default=26, help="longest session (clicks)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per model and path")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    p.add_argument("--threads", type=int, default=1, help="TF threads (run_sim.sh: 1)")
    p.add_argument("--seed", type=int, default=0)
    add_record_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.batch, args.steps, args.warmup, args.max_length = 16, 3, 1, 8
        args.mean_length = 4.0
    return args


def build(path, vocab, args):
    return ModelGraph(vocab, embed_dim=args.embed, hidden=args.hidden, layers=args.layers,
                      k=args.k, purchase_head=False, seed=args.seed,
                      small_table_rows=PATHS[path])


def time_steps(session, fetches, feeds, warmup):
    """Mean ms per session.run of `fetches` over `feeds` (the first `warmup` untimed)."""
    for feed in feeds[:warmup]:
        session.run(fetches, feed)
    start = time.time()
    for feed in feeds[warmup:]:
        session.run(fetches, feed)
    return 1000.0 * (time.time() - start) / max(1, len(feeds) - warmup)


def main(argv=None):
    args = parse_args(argv)
    before = machine_state()
    rng = np.random.RandomState(args.seed)
    vocab = args.items + 4
    sessions, _ = synthetic_sessions(args.batch * (args.steps + args.warmup), args.items, rng,
                                     mean_length=args.mean_length, max_length=args.max_length,
                                     list_min=args.k, list_max=args.k)
    batches = [make_batch(sessions[i:i + args.batch], rng, vocab)
               for i in range(0, len(sessions), args.batch)]
    labels = np.array([1.0, 0.0], np.float32).repeat([args.batch // 2,
                                                      args.batch - args.batch // 2])
    print("TF %s, %d items, k %d, E %d, H %d x %d, %d sessions per batch, candidate axis K %d"
          % (TF_VERSION, args.items, args.k, args.embed, args.hidden, args.layers, args.batch,
             max(b["rec_lists"].shape[2] for b in batches)))
    figures = {}
    for path in ("whole", "gathered"):
        models = build(path, vocab, args)
        d, u, a = models.disc, models.user, models.agent
        with tf.Session(graph=models.graph, config=session_config(args.threads)) as session:
            session.run(models.init_op)
            figures[path] = {
                "d_step_ms": time_steps(session, [d.loss, d.trainer.train_op],
                                        [models.disc_feed(b, labels) for b in batches],
                                        args.warmup),
                "u_step_ms": time_steps(session, [u.mle_loss, u.mle.train_op],
                                        [models.user_feed(b) for b in batches], args.warmup),
                "a_step_ms": time_steps(session, [a.loss, a.trainer.train_op],
                                        [models.agent_feed(b) for b in batches], args.warmup)}
        print("%-8s D step %7.1f ms   U step %7.1f ms   A step %7.1f ms" % (
            path, figures[path]["d_step_ms"], figures[path]["u_step_ms"],
            figures[path]["a_step_ms"]))
    if args.record:
        write_record(args.record, "model_steps", args, figures, before,
                     environment(TF_VERSION), args.note)
    print("d_step_ms_whole: %.1f" % figures["whole"]["d_step_ms"])


if __name__ == "__main__":
    main()
