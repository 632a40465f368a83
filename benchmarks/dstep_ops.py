"""What one D update executes (issue 33): ops per session.run by type and by graph region, and
the CPU time per update, for the default encoders (dynamic_rnn) and `--fused_lstm`.

Prints figures; it is not a test. The models are built as an irecgan run builds them at
configs/sim_cpu.cfg sizes (1 x 64 LSTM, 32-d embeddings) on a simulator log's vocabulary; a D
batch is 64 + 64 training sessions of the log labelled real / generated (the authors' D batch
shape; generated sessions are as long), fetched as the trainer fetches it ([loss, accuracy,
train_op]); `d_update_bucketed` feeds batches cut from windows of 20 batches sorted by length
(what `--d_bucket_window=20` does to a d-step's batches, here on training sessions only). U's MLE
and the agent's REINFORCE updates are counted alike (64 sessions). Ops are
the nodes of a FULL_TRACE run's step_stats (a while loop's body counts once per iteration);
regions by node name: the forward / backward while loops (dynamic_rnn), the rest of the forward
and of the backward pass, Adam, the global-norm clip. CPU ms per update: process time over
`--steps` untraced updates (single-threaded TF).

    .venv/bin/python benchmarks/dstep_ops.py --data=data/sim/mdp_sharp.log --n_items=50
    ... --record=benchmarks/results/dstep-ops-tf2.json
"""
from __future__ import print_function

import argparse
import collections
import time

import numpy as np

from _common import add_record_args, environment, machine_state, write_record  # noqa: E402

from irecgan.data.batching import make_batch  # noqa: E402
from irecgan.data.dataset import load_dataset  # noqa: E402
from irecgan.models.graph import ModelGraph  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402


def region(name):
    if "gradients" in name:
        return "backward while loop" if "while" in name else "backward, rest"
    if "while" in name:
        return "forward while loop"
    if "/train/" in name and ("Adam" in name or "update_" in name):
        return "adam"
    if "global_norm" in name or "clip_by" in name:
        return "clip"
    return "forward, rest"


def op_type(stats):
    label = stats.timeline_label
    return label.split("= ")[1].split("(")[0] if "= " in label else stats.node_name


def count(session, fetches, feeds):
    """Mean ops per call by type and by region over `feeds` (FULL_TRACE runs)."""
    types, regions = collections.Counter(), collections.Counter()
    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    for feed in feeds:
        meta = tf.RunMetadata()
        session.run(fetches, feed, options=options, run_metadata=meta)
        for dev in meta.step_stats.dev_stats:
            for stats in dev.node_stats:
                if stats.node_name in ("_SOURCE", "_SINK"):
                    continue
                types[op_type(stats)] += 1
                regions[region(stats.node_name)] += 1
    n = float(len(feeds))
    return (dict((k, round(v / n, 1)) for k, v in types.most_common()),
            dict((k, round(v / n, 1)) for k, v in regions.most_common()))


def cpu_ms(session, fetches, feeds):
    session.run(fetches, feeds[0])
    start = time.process_time()
    for feed in feeds[1:]:
        session.run(fetches, feed)
    return 1000.0 * (time.process_time() - start) / max(1, len(feeds) - 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a simulator log (irecgan-simulate)")
    p.add_argument("--n_items", type=int, default=50)
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--steps", type=int, default=60, help="timed updates per model")
    p.add_argument("--traced", type=int, default=6, help="traced updates per model")
    p.add_argument("--seed", type=int, default=1)
    add_record_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.traced = 4, 2
    before = machine_state()
    data = load_dataset(args.data, split="fold", seed=args.seed, n_items=args.n_items)
    rng = np.random.RandomState(args.seed)
    n = args.steps + args.traced
    order = np.concatenate([rng.permutation(len(data.train))
                            for _ in range(128 * n // len(data.train) + 1)])[:128 * n]
    batches = [make_batch([data.train[i] for i in order[j:j + 128]], rng, data.vocab.size)
               for j in range(0, len(order), 128)]
    buckets = []
    for w in range(0, len(order), 128 * 20):
        part = sorted(order[w:w + 128 * 20], key=lambda i: len(data.train[i].clicks))
        buckets.extend(part[j:j + 128] for j in range(0, len(part), 128))
    bucketed = [make_batch([data.train[i] for i in buckets[b]], rng, data.vocab.size)
                for b in rng.permutation(len(buckets))]
    half = [dict((k, v[:64]) for k, v in b.items()) for b in batches]
    labels = np.array([1.0] * 64 + [0.0] * 64, np.float32)
    figures = {"d_batch_time_axis": float(np.mean([b["mask"].shape[1] for b in batches])),
               "d_batch_real_positions_share": float(np.mean([b["mask"].mean() for b in batches])),
               "d_bucketed_batch_time_axis": float(np.mean([b["mask"].shape[1]
                                                            for b in bucketed]))}
    for fused in (False, True):
        models = ModelGraph(data.vocab.size, embed_dim=args.embed, hidden=args.hidden,
                            layers=args.layers, k=10, seed=args.seed, fused_lstm=fused)
        d, u, a = models.disc, models.user, models.agent
        config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
        cases = {
            "d_update": ([d.loss, d.accuracy, d.trainer.train_op],
                         [models.disc_feed(b, labels) for b in batches]),
            "d_update_bucketed": ([d.loss, d.accuracy, d.trainer.train_op],
                                  [models.disc_feed(b, labels) for b in bucketed]),
            "u_mle_update": ([u.mle_loss, u.mle.train_op], [models.user_feed(b) for b in half]),
            "agent_update": ([a.loss, a.trainer.train_op], [models.agent_feed(b) for b in half])}
        name = "fused_lstm" if fused else "dynamic_rnn"
        with tf.Session(graph=models.graph, config=config) as session:
            session.run(models.init_op)
            for case, (fetches, feeds) in sorted(cases.items()):
                types, regions = count(session, fetches, feeds[:args.traced])
                figures["%s/%s" % (name, case)] = {
                    "ops_per_call": round(sum(types.values()), 1), "by_region": regions,
                    "by_type": dict(list(types.items())[:25]),
                    "cpu_ms_per_call": round(cpu_ms(session, fetches, feeds[args.traced:]), 3)}
                f = figures["%s/%s" % (name, case)]
                print("%-12s %-13s %7.1f ops/call %7.2f CPU ms/call  %s" % (
                    name, case, f["ops_per_call"], f["cpu_ms_per_call"], regions))
    print("TF", TF_VERSION)
    if args.record:
        write_record(args.record, "dstep_ops", args, figures, before, environment(TF_VERSION))


if __name__ == "__main__":
    main()
