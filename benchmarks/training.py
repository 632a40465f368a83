"""Agent training throughput at the paper's sizes, against a plain matmul on the same machine.

Prints figures; it is not a test. It builds the agent exactly as the `lstm` / `pg` baselines do
(`ModelGraph(..., build=("agent",))`, 2 x 512 LSTM over 50-d embeddings, logits over all items,
Adam with clipping) and times its training step (`agent.trainer.train_op` and `agent.loss`, fed by
`ModelGraph.agent_feed` from `batching.make_batch` batches, REINFORCE weights) on synthetic
CIKM-shaped sessions: 40,000 items (vocabulary 40,004), sessions of 2..40 clicks whose lengths
follow a truncated power law with mean ~4.5 (CIKM Cup 2016 sessions: most are 2..4 clicks, a thin
tail up to the 40-click cap), candidate lists of 10..100 items, item popularity Zipf-like.

FLOPs are counted analytically, per predicting position (token), matmuls only:

    LSTM forward   = sum over layers l of 4 gates x (in_l + H) x H x 2     (in_0 = E, in_l = H)
    output forward = H x V x 2                                            (logits over all items)
    forward        = LSTM forward + output forward
    training step  = 3 x forward                                          (backward = 2 x forward)

At E = 50, H = 512, 2 layers, V = 40,004: LSTM 6.50 MFLOP, output 40.96 MFLOP, step 142.4 MFLOP
per token. The embedding lookup, the softmax / cross-entropy (~5 V flops per token, but memory-
bound), the gate nonlinearities and the Adam update are not counted. "Useful" GFLOP/s counts
the real positions of a batch (sum of session lengths); "executed" counts every padded position
(B x max length), which is what dynamic_rnn computes (the LSTM runs over the padded batch; the
output layer and its cross-entropy run on the real positions only, see `models/agent.py`).

Feeds (`--feed`):
  trainer     batches exactly as the trainer forms them: `iterate_batches` with a shuffling
              RandomState and the default length bucketing (`config.DEFAULTS["bucket_window"]`
              batches per window are sorted by length before cutting, then shuffled);
  unbucketed  plain shuffled batches (`--bucket_window=0`): each batch is padded to its longest
              session, so most positions are padding.
The step is the agent's own train op as `models/agent.py` builds it: the LSTM runs over the
padded batch, the 40,004-way output layer and its cross-entropy only over the real positions.
The last line is `fraction_of_matmul_peak: <x>` for `--feed` (default trainer): useful GFLOP/s
of the training step / the best GFLOP/s of a 2048 x 2048 float32 tf.matmul measured in the same
run (same thread settings).

    .venv/bin/python benchmarks/training.py            # paper sizes (a few minutes on 2 cores)
    .venv/bin/python benchmarks/training.py --quick    # tiny smoke run (seconds; numbers mean nothing)
    .venv/bin/python benchmarks/training.py --profile  # + where the time of one step goes
    .venv/bin/python benchmarks/training.py --record FILE  # + the figures as JSON (commit,
                                                           #   versions, CPU, load)

Recorded figures (commit, versions, CPU model and the machine's load with them) are in
`benchmarks/results/`; the README cites them. An older, unrecorded history: before the trainer
computed the output layer on real positions only and bucketed by length, 21.6 sessions/s and
0.080 of the matmul peak; the prototype of both changes reached 0.345 (2-core development
machine, shared, commit and load not kept).
"""
from __future__ import print_function

import argparse
import collections
import os
import time

import numpy as np

from _common import (TimedSession, add_record_args, add_size_args, categorize,  # noqa: E402
                     environment, machine_state,
                     write_record)  # (_common puts this checkout's src/ on sys.path)

from irecgan.data.batching import iterate_batches, make_batch  # noqa: E402
from irecgan.config import DEFAULTS  # noqa: E402
from irecgan.data.types import encoded  # noqa: E402
from irecgan.data.vocab import N_SPECIAL  # noqa: E402
from irecgan.models.graph import ModelGraph  # noqa: E402
from irecgan.tfcompat import TF_VERSION, tf  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--items", type=int, default=40000, help="items (vocabulary = items + 4)")
    add_size_args(p)
    p.add_argument("--batch", type=int, default=32, help="sessions per batch")
    p.add_argument("--sessions", type=int, default=2000, help="synthetic sessions in the pool")
    p.add_argument("--mean-length", type=float, default=4.5,
                   help="target mean session length (clicks), 2..--max-length")
    p.add_argument("--max-length", type=int, default=40, help="longest session (clicks)")
    p.add_argument("--steps", type=int, default=24, help="timed training steps per feed")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before timing")
    p.add_argument("--window", type=int, default=DEFAULTS["bucket_window"],
                   help="batches per bucketing window of the trainer feed")
    p.add_argument("--feed", choices=["trainer", "unbucketed"], default="trainer",
                   help="the feed whose fraction is the last line")
    p.add_argument("--matmul-n", type=int, default=2048, help="matmul size n (n x n x n)")
    p.add_argument("--matmul-repeats", type=int, default=10, help="timed matmuls")
    p.add_argument("--threads", type=int, default=0,
                   help="TF intra/inter-op threads (0: TensorFlow's default)")
    p.add_argument("--profile", action="store_true",
                   help="trace one step of each feed and print the time per op category")
    p.add_argument("--seed", type=int, default=0)
    add_record_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.items, args.hidden, args.embed, args.batch = 2000, 64, 16, 16
        args.sessions, args.steps, args.warmup, args.window = 200, 4, 1, 4
        args.matmul_n, args.matmul_repeats = 512, 3
    return args


# ------------------------------------------------------------------------------------------------
# FLOPs

def flops_per_token(embed, hidden, layers, vocab):
    """(LSTM forward, output forward, training step) FLOPs per predicting position."""
    lstm = 0
    size_in = embed
    for _ in range(layers):
        lstm += 4 * (size_in + hidden) * hidden * 2
        size_in = hidden
    output = hidden * vocab * 2
    return lstm, output, 3 * (lstm + output)


# ------------------------------------------------------------------------------------------------
# Synthetic CIKM-shaped sessions

def power_law_lengths(mean, lo, hi):
    """P(L) proportional to L^-alpha on lo..hi, alpha solved so that E[L] = mean."""
    lengths = np.arange(lo, hi + 1, dtype=np.float64)

    def expected(alpha):
        w = lengths ** -alpha
        return float((w * lengths).sum() / w.sum())

    a, b = 0.0, 20.0  # expected() decreases in alpha
    if not expected(b) <= mean <= expected(a):
        raise ValueError("mean length %.2f is not reachable on %d..%d" % (mean, lo, hi))
    for _ in range(100):
        mid = 0.5 * (a + b)
        if expected(mid) > mean:
            a = mid
        else:
            b = mid
    w = lengths ** -a
    return lengths.astype(np.int64), w / w.sum(), a


def synthetic_sessions(n, n_items, rng, mean_length=4.5, max_length=40, list_min=10,
                       list_max=100):
    """`n` EncodedSession of 2..max_length clicks; items are vocabulary indices 4..n_items+3."""
    values, probs, alpha = power_law_lengths(mean_length, 2, max_length)
    lengths = rng.choice(values, size=n, p=probs)
    ranks = np.arange(1, n_items + 1, dtype=np.float64)
    popularity = 1.0 / (ranks + 10.0) ** 0.9
    popularity /= popularity.sum()
    total = int(lengths.sum())
    clicks_all = rng.choice(n_items, size=total, p=popularity) + N_SPECIAL
    list_sizes = rng.randint(list_min, list_max + 1, size=total)
    shown_all = rng.choice(n_items, size=int(list_sizes.sum()), p=popularity) + N_SPECIAL
    sessions, at, shown_at = [], 0, 0
    for L in lengths:
        clicks = [int(x) for x in clicks_all[at:at + L]]
        rec_lists = [[]]
        for j in range(1, L):
            size = int(list_sizes[at + j])
            shown = [int(x) for x in shown_all[shown_at:shown_at + size - 1]]
            shown_at += size - 1
            shown.insert(int(rng.randint(0, len(shown) + 1)), clicks[j])  # the click is shown
            rec_lists.append(shown)
        purchases = [int(x) for x in (rng.rand(L) < 0.03)]
        sessions.append(encoded(clicks, rec_lists, purchases))
        at += L
    return sessions, alpha


def trainer_batches(sessions, batch_size, rng, window):
    return list(iterate_batches(sessions, batch_size, rng, bucket_window=window))


# ------------------------------------------------------------------------------------------------
# Measurements

def session_config(threads):
    return tf.ConfigProto(intra_op_parallelism_threads=threads,
                          inter_op_parallelism_threads=threads)


def matmul_gflops(n, repeats, threads, seed, dtype="float32"):
    """Best and median GFLOP/s of an n x n x n tf.matmul of `dtype` (inputs in variables)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        a = tf.get_variable("a", [n, n], initializer=tf.random_normal_initializer())
        b = tf.get_variable("b", [n, n], initializer=tf.random_normal_initializer())
        if dtype != "float32":  # cast once, into variables: the timed op is the matmul alone
            a = tf.get_variable("a_" + dtype, initializer=tf.cast(a.initialized_value(), dtype))
            b = tf.get_variable("b_" + dtype, initializer=tf.cast(b.initialized_value(), dtype))
        product = tf.matmul(a, b)
        # the output stays inside TF: fetch a scalar that depends on all of it
        checksum = tf.reduce_sum(tf.cast(product[:1], tf.float32))
        init = tf.global_variables_initializer()
    with tf.Session(graph=graph, config=session_config(threads)) as session:
        session.run(init)
        for _ in range(2):
            session.run(checksum)
        times = []
        for _ in range(repeats):
            start = time.time()
            session.run(checksum)
            times.append(time.time() - start)
    flops = 2.0 * n ** 3
    return flops / min(times) / 1e9, flops / float(np.median(times)) / 1e9


def feeds_for(models, batches, rng, vocab):
    """(feed dicts, real positions, executed positions, seconds spent in make_batch)."""
    feeds, real, executed = [], [], []
    start = time.time()
    for chunk in batches:
        batch = make_batch(chunk, rng, vocab)
        feeds.append(models.agent_feed(batch, "returns"))
        real.append(float(batch["mask"].sum()))
        executed.append(float(batch["mask"].size))
    return feeds, np.array(real), np.array(executed), time.time() - start


def time_steps(session, fetches, feeds, warmup):
    for feed in feeds[:warmup]:
        session.run(fetches, feed)
    times = []
    for feed in feeds[warmup:]:
        start = time.time()
        session.run(fetches, feed)
        times.append(time.time() - start)
    return np.array(times)


CATEGORIES = [  # first match wins; matched against "op_type node_name"
    ("softmax cross-entropy (+grad)", r"SparseSoftmaxCrossEntropy"),
    ("Adam on the output layer", r"Adam.*policy"),
    ("Adam on the other variables", r"Adam"),
    ("gradient clipping (global norm)", r"global_norm|clip_by_global_norm|^L2Loss"),
    ("LSTM loop (fwd+grad)", r"rnn_unroll|^(Enter|Exit|NextIteration|Merge|Switch|LoopCond|"
                             r"StackPushV2|StackPopV2|StackV2) "),
    ("output layer matmul+bias (fwd+grad)",
     r"agent(_\d+)?/(policy/)?(MatMul|add|Reshape\w*|GatherNd\w*)(_grad)?(/| |$)"),
    ("embedding lookup (+grad)", r"embedding"),
]


def profile_step(session, fetches, feed, models):
    """Traced step: {category: ms}, {op type: ms}, wall ms. A matmul with V output columns (the
    forward logits and the kernel's gradient) is the output layer whatever grappler named it."""
    timer = TimedSession(session, trace=True)
    timer.run(fetches, feed)
    output_layer = [("output layer matmul+bias (fwd+grad)",
                     r"MatMul\S* .* cols=%d$" % models.agent.vocab_size)]
    by_cat = collections.OrderedDict(categorize(timer.op_ms, output_layer + CATEGORIES))
    by_type = collections.Counter()
    for (op_type, _), ms in timer.op_ms.items():
        by_type[op_type] += ms
    return by_cat, by_type, timer.run_seconds * 1e3


def main(argv=None):
    args = parse_args(argv)
    before, env = machine_state(), environment(TF_VERSION)
    vocab = args.items + N_SPECIAL
    lstm_f, out_f, step_f = flops_per_token(args.embed, args.hidden, args.layers, vocab)
    print("TensorFlow %s, numpy %s, %d CPU(s) visible, threads=%d, load average %s%s" % (
        TF_VERSION, np.__version__, os.cpu_count() or 0, args.threads, before["load_average"],
        ", QUICK (tiny sizes)" if args.quick else ""))
    print("agent: %d x %d LSTM, %d-d embeddings, vocabulary %d, batch %d" % (
        args.layers, args.hidden, args.embed, vocab, args.batch))
    print("FLOPs per token: LSTM fwd %.2f M + output fwd %.2f M; training step 3 x fwd = %.1f M"
          % (lstm_f / 1e6, out_f / 1e6, step_f / 1e6))

    rng = np.random.RandomState(args.seed)
    start = time.time()
    sessions, alpha = synthetic_sessions(args.sessions, args.items, rng, args.mean_length,
                                         args.max_length)
    lengths = np.array([len(s.clicks) for s in sessions])
    print("data: %d sessions (%.1f s to make), length mean %.2f, median %d, p90 %d, max %d, "
          "%.0f%% of length 2 (power law alpha %.2f); lists 10..100 items" % (
              len(sessions), time.time() - start, lengths.mean(), np.median(lengths),
              np.percentile(lengths, 90), lengths.max(), 100.0 * np.mean(lengths == 2), alpha))

    peak, median = matmul_gflops(args.matmul_n, args.matmul_repeats, args.threads, args.seed)
    print("matmul %d^3 float32 (before): best %.1f GFLOP/s, median %.1f GFLOP/s" % (
        args.matmul_n, peak, median))

    start = time.time()
    models = ModelGraph(vocab, embed_dim=args.embed, hidden=args.hidden, layers=args.layers,
                        seed=args.seed, build=("agent",))
    agent = models.agent
    step = [agent.loss, agent.trainer.train_op]
    session = tf.Session(graph=models.graph, config=session_config(args.threads))
    session.run(models.init_op)
    print("graph built and initialised in %.1f s" % (time.time() - start))

    n_batches = args.warmup + args.steps
    feeds = {}
    for feed_name in ("trainer", "unbucketed"):
        feed_rng = np.random.RandomState(args.seed + 1)
        window = args.window if feed_name == "trainer" else 0
        batches = trainer_batches(sessions, args.batch, feed_rng, window)[:n_batches]
        if len(batches) < n_batches:
            raise SystemExit("--sessions too small for --warmup + --steps batches")
        feeds[feed_name] = (batches,) + feeds_for(models, batches, feed_rng, vocab)

    results = {}
    for feed_name in ("trainer", "unbucketed"):
        batches, feed_dicts, real, executed, t_make = feeds[feed_name]
        times = time_steps(session, step, feed_dicts, args.warmup)
        real, executed = real[args.warmup:], executed[args.warmup:]
        n_sessions = sum(len(b) for b in batches[args.warmup:])
        t_step = float(times.sum())
        t_make_timed = t_make * float(len(times)) / len(batches)
        useful = step_f * real.sum() / t_step / 1e9
        results[feed_name] = {"timed_steps": len(times), "s_per_step_mean": float(times.mean()),
                              "s_per_step_median": float(np.median(times)),
                              "real_position_share": float(real.sum() / executed.sum()),
                              "sessions_per_s": n_sessions / t_step,
                              "sessions_per_s_with_make_batch":
                                  n_sessions / (t_step + t_make_timed),
                              "useful_gflops": useful}
        print("")
        print("feed %s: %d timed steps, %.3f s/step (median %.3f); %.0f%% of the %.0f padded "
              "positions/batch are real (%.1f)" % (
                  feed_name, len(times), times.mean(), np.median(times),
                  100.0 * real.sum() / executed.sum(), executed.mean(), real.mean()))
        print("  throughput: %.1f sessions/s in session.run, %.1f sessions/s with make_batch "
              "(%.1f ms/batch in make_batch)" % (
                  n_sessions / t_step, n_sessions / (t_step + t_make_timed),
                  1e3 * t_make / len(batches)))
        print("  GFLOP/s: %.1f useful (real positions); fraction of the matmul best so far %.3f"
              % (useful, useful / peak))
        if args.profile:
            # trace the batch whose padded size is closest to the mean (a typical one)
            typical = int(np.argmin(np.abs(executed - executed.mean()))) + args.warmup
            by_cat, by_type, wall = profile_step(session, step, feed_dicts[typical], models)
            total = sum(by_cat.values())
            shape = feed_dicts[typical][agent.clicks].shape
            print("  profile of one traced step (%.0f ms wall, %.0f ms summed over ops, "
                  "%d x %d positions, %d real):" % (
                      wall, total, shape[0], shape[1] - 1,
                      int(feed_dicts[typical][agent.mask].sum())))
            results[feed_name]["profile_ms"] = dict(by_cat)
            results[feed_name]["profile_wall_ms"] = wall
            for name, ms in by_cat.items():
                print("    %-38s %8.1f ms  %5.1f%%" % (name, ms, 100.0 * ms / max(total, 1e-9)))
            print("    top op types (ms): %s" % ", ".join(
                "%s %.0f" % (k, v) for k, v in by_type.most_common(8)))
    session.close()

    # measured again after the agent, and the best of both is the peak: on a shared machine
    # the load changes during the run, and this keeps the fractions on the conservative side
    after, median = matmul_gflops(args.matmul_n, args.matmul_repeats, args.threads, args.seed)
    print("")
    print("matmul %d^3 float32 (after): best %.1f GFLOP/s, median %.1f GFLOP/s; peak used: "
          "%.1f GFLOP/s" % (args.matmul_n, after, median, max(peak, after)))
    matmul = {"before_best": peak, "after_best": after}
    # the candidate of a bfloat16 compute dtype: is a bfloat16 matmul faster here at all?
    try:
        bf16, bf16_median = matmul_gflops(args.matmul_n, args.matmul_repeats, args.threads,
                                          args.seed, "bfloat16")
        matmul["bfloat16_best"], matmul["bfloat16_median"] = bf16, bf16_median
        print("matmul %d^3 bfloat16: best %.1f GFLOP/s, median %.1f GFLOP/s (%.2f x the float32 "
              "best)" % (args.matmul_n, bf16, bf16_median, bf16 / max(peak, after)))
    except (tf.errors.OpError, TypeError, ValueError) as e:
        matmul["bfloat16_error"] = str(e).splitlines()[0][:200]
        print("matmul bfloat16: not available on TensorFlow %s (%s)" % (
            TF_VERSION, matmul["bfloat16_error"]))
    peak = max(peak, after)
    for figures in results.values():
        figures["fraction_of_matmul_peak"] = figures["useful_gflops"] / peak
    print("fraction of matmul peak (useful GFLOP/s / matmul best), target 0.30: trainer feed "
          "%.3f, unbucketed feed %.3f" % (results["trainer"]["fraction_of_matmul_peak"],
                                          results["unbucketed"]["fraction_of_matmul_peak"]))
    if args.record:
        figures = {"feeds": results, "matmul_gflops": matmul, "matmul_peak_gflops": peak,
                   "flops_per_token": {"lstm_fwd": lstm_f, "output_fwd": out_f,
                                       "train_step": step_f},
                   "fraction_of_matmul_peak": results[args.feed]["fraction_of_matmul_peak"]}
        write_record(args.record, "training", args, figures, before, env, args.note)
        print("recorded in %s" % args.record)
    print("fraction_of_matmul_peak: %.3f" % results[args.feed]["fraction_of_matmul_peak"])

if __name__ == "__main__":
    main()
