"""The arithmetic of `phases.py` (pure Python, no TensorFlow): the matmuls each phase executes,
their FLOPs, and the cost of a `./run_cikm.sh` run from per-step figures.

A matmul is (m, k, n, count): `count` products of [m, k] x [k, n], 2 m k n FLOPs each. Only
matmuls are counted (as in training.py): the LSTMs' gate products, the dense layers and the
agent's output layer. Not counted: embedding lookups, gate nonlinearities, softmaxes, the
candidate scoring (<= 2 E K = 10 kFLOP per position at E = 50 and K <= 100, under 0.2 % of an
LSTM position's 6.5 MFLOP), the Gumbel sampler and top-k, and Adam. A training step runs every
forward product and its two gradient products, [m, n] x [n, k] (input) and [k, m] x [m, n]
(weight), which cost as much each: 3 x the forward FLOPs.

Rows: the LSTMs of `encode` (dynamic_rnn) run on every padded position of a batch (rows = the
batch's sessions, `steps` = its padded length); the dense layers of U and D on [B, T] padded
positions; the agent's output layer and its cross-entropy on the real positions only
(models/agent.py). One generation call advances R rows through the three LSTMs, the agent's
output layer, U's preference and D's query (StepGraph "advance" + "act") and, with spawn,
runs the act half again on S picked rows (U's purchase head and D's position term only).
"""
from __future__ import division

import math


def lstm(rows, steps, embed, hidden, layers):
    """The gate products of a stacked LSTM over `steps` time steps of `rows` rows."""
    out, size_in = [], embed
    for _ in range(layers):
        out.append((rows, size_in + hidden, 4 * hidden, steps))
        size_in = hidden
    return out


def purchase_head(rows, embed, hidden):
    """U's purchase head: W_s s [H -> E], W_e e [E -> E], W_2 [E -> 2]."""
    return [(rows, hidden, embed, 1), (rows, embed, embed, 1), (rows, embed, 2, 1)]


def disc_terms(rows, embed, hidden):
    """D's position term: q = W_q s [H -> H], a = W_c e [E -> H], [q; a] W_c^T [2 rows, H -> E]."""
    return [(rows, hidden, hidden, 1), (rows, embed, hidden, 1), (2 * rows, hidden, embed, 1)]


def agent_step(rows, steps, positions, embed, hidden, layers, vocab):
    """Forward matmuls of one agent batch: LSTM over the padded batch, output layer on the real
    positions."""
    return lstm(rows, steps, embed, hidden, layers) + [(positions, hidden, vocab, 1)]


def user_step(rows, steps, embed, hidden, layers, purchase):
    """Forward matmuls of one U batch (preference and purchase head on the padded positions)."""
    out = lstm(rows, steps, embed, hidden, layers) + [(rows * steps, hidden, embed, 1)]
    return out + (purchase_head(rows * steps, embed, hidden) if purchase else [])


def disc_step(rows, steps, embed, hidden, layers):
    """Forward matmuls of one D batch (real + generated sessions)."""
    return lstm(rows, steps, embed, hidden, layers) + disc_terms(rows * steps, embed, hidden)


def generation_call(advanced, spawned, embed, hidden, layers, vocab, purchase, with_disc=True):
    """One StepGraph call: `advanced` rows through A, U (and D), `spawned` rows' act half."""
    out = lstm(advanced, 1, embed, hidden, layers) + [(advanced, hidden, vocab, 1)]
    out += lstm(advanced, 1, embed, hidden, layers) + [(advanced, hidden, embed, 1)]
    for rows in (advanced, spawned):
        if rows and purchase:
            out += purchase_head(rows, embed, hidden)
        if rows and with_disc:
            out += disc_terms(rows, embed, hidden)
    if with_disc:
        out += lstm(advanced, 1, embed, hidden, layers)
    return [m for m in out if m[0] > 0]


def training(forward):
    """Forward matmuls -> the forward, input-gradient and weight-gradient products."""
    out = []
    for m, k, n, count in forward:
        out += [(m, k, n, count), (m, n, k, count), (k, m, n, count)]
    return out


def flops(matmuls):
    return sum(2.0 * m * k * n * count for m, k, n, count in matmuls)


def merge(matmuls):
    """Sum the counts of equal shapes: [(m, k, n, count)] sorted by shape."""
    counts = {}
    for m, k, n, count in matmuls:
        key = (int(m), int(k), int(n))
        counts[key] = counts.get(key, 0.0) + count
    return [key + (counts[key],) for key in sorted(counts)]


# ------------------------------------------------------------------------------------------------
# The cost of ./run_cikm.sh at a preset

# SPEC 2.1b: the authors' processed CIKM file after the 38/1/1 fold split
CIKM_SPLIT = {"train": 65284, "valid": 1718, "test": 1720}
RUN_CIKM_METHODS = ("lstm", "pg", "irecgan_nod", "irecgan")
REFERENCE_D_PRETRAIN_SESSIONS = 1000  # training/adversarial.py (d_data=authors)


def batches(n, batch_size):
    return int(math.ceil(n / float(batch_size)))


def run_counts(method, preset, split=None):
    """What one run of `method` executes at `preset` (the configuration keys of
    configs/paper.cfg; schedule paper, d_data authors, d_heldout_sessions 1000): a dict of
    counts of agent / user / D training steps, agent / user evaluation batches, D scoring
    batches and generated sessions with and without q_D."""
    split = split or CIKM_SPLIT
    b = preset["batch_size"]
    per_epoch = batches(split["train"], b)
    valid, test = batches(split["valid"], b), batches(split["test"], b)
    c = dict(agent_step=0, user_step=0, disc_step=0, agent_eval_batch=0, user_eval_batch=0,
             disc_score_batch=0, gen_session=0, gen_session_qd=0)
    c["agent_step"] += preset["agent_epochs"] * per_epoch
    c["agent_eval_batch"] += preset["agent_epochs"] * valid + valid + test  # + final
    if method in ("irecgan_nod", "irecgan"):
        with_d = method == "irecgan"
        m, epochs = preset["gen_sessions"], preset["adv_epochs"]
        offline = int(round(preset["offline_ratio"] * m))
        c["user_step"] += preset["user_epochs"] * per_epoch
        c["user_eval_batch"] += preset["user_epochs"] * valid + test  # + U's fit after it
        g = epochs * preset["g_steps"]
        c["gen_session_qd" if with_d else "gen_session"] += g * m
        c["agent_step"] += g * batches(m + offline, b)
        c["user_step"] += g * (batches(m, b) + batches(offline, b))
        c["agent_eval_batch"] += epochs * valid
        c["user_eval_batch"] += epochs * test + test  # U's fit per epoch and at the end
        if with_d:
            heldout = min(1000, split["valid"])
            d_units = 1 + epochs * preset["d_steps"]  # D pretraining + the d-steps
            c["gen_session"] += REFERENCE_D_PRETRAIN_SESSIONS + epochs * preset["d_steps"] * m
            c["gen_session"] += d_units * heldout
            c["disc_step"] += d_units * preset["d_epochs"] * per_epoch
            c["disc_score_batch"] += d_units * 2 * batches(heldout, b)
    return c


def run_seconds(counts, per):
    """Seconds of one run: counts (run_counts) x per-item seconds (`per`: the same keys, the
    generated sessions' seconds per session). Returns {key: seconds} and the total."""
    parts = dict((key, counts[key] * per[key]) for key in counts)
    return parts, sum(parts.values())


def run_cikm_cost(ph, config, gpu_tflops, gpu_call_ms, seeds=5, jobs=2, cores=2):
    """./run_cikm.sh at `config` (a resolved configuration: the preset's counts) from the CIKM
    phases of phases.py (`ph`: {phase: figures}): 4 methods x `seeds`, `jobs` runs at a time
    (run_cikm.sh's --jobs=2 on 2 cores with runs of 1 thread: wall = run-seconds / 2; runs
    timed with several threads go one at a time, jobs=1), by wall; and an idle machine's wall
    from CPU seconds (the runs' CPU seconds / `cores`, whatever the threads per run);
    and a GPU host's estimate, one device: each item's FLOPs at `gpu_tflops` plus `gpu_call_ms`
    per session.run (both assumed)."""
    per, per_cpu = {}, {}
    for key in ("agent_step", "user_step", "disc_step", "agent_eval_batch", "user_eval_batch",
                "disc_score_batch"):
        per[key], per_cpu[key] = ph[key]["per_unit_s"], ph[key]["cpu_per_unit_s"]
    for key, phase in (("gen_session", "gen_step"), ("gen_session_qd", "gen_step_with_d")):
        per[key] = ph[phase]["wall_s"] / ph[phase]["sessions"]
        per_cpu[key] = ph[phase]["cpu_s"] / ph[phase]["sessions"]
    flop = dict((k, ph[k]["gflop"] * 1e9 / ph[k]["units"]) for k in ("agent_step", "user_step",
                                                                       "disc_step"))
    flop.update(agent_eval_batch=flop["agent_step"] * 2 / 3.0,
                user_eval_batch=flop["user_step"] * 2 / 3.0,
                disc_score_batch=flop["disc_step"] / 3.0,
                gen_session=ph["gen_step"]["gflop"] * 1e9 / ph["gen_step"]["sessions"],
                gen_session_qd=ph["gen_step_with_d"]["gflop"] * 1e9
                / ph["gen_step_with_d"]["sessions"])
    calls = dict((k, 1.0) for k in flop)
    calls.update(agent_eval_batch=2.0, user_eval_batch=2.0,
                 gen_session=ph["gen_step"]["calls"] / float(ph["gen_step"]["sessions"]),
                 gen_session_qd=ph["gen_step_with_d"]["calls"]
                 / float(ph["gen_step_with_d"]["sessions"]))
    gpu = dict((k, flop[k] / (gpu_tflops * 1e12) + calls[k] * gpu_call_ms / 1e3)
               for k in flop)
    methods = {}
    for method in RUN_CIKM_METHODS:
        counts = run_counts(method, config)
        parts, total = run_seconds(counts, per)
        methods[method] = dict(counts=counts, seconds=total, parts=parts,
                               cpu_seconds=run_seconds(counts, per_cpu)[1],
                               gpu_seconds=run_seconds(counts, gpu)[1])
    wall_total = seeds * sum(m["seconds"] for m in methods.values())
    cpu_total = seeds * sum(m["cpu_seconds"] for m in methods.values())
    return {"per_item_s": per, "per_item_cpu_s": per_cpu, "gpu_per_item_s": gpu,
            "methods": methods, "seeds": seeds, "run_seconds_total": wall_total,
            "wall_2_cores_s": wall_total / float(jobs), "run_cpu_seconds_total": cpu_total,
            "wall_2_cores_idle_estimate_s": cpu_total / float(cores), "jobs": jobs,
            "gpu_one_device_s": seeds * sum(m["gpu_seconds"] for m in methods.values()),
            "gpu_assumptions": {"tflops": gpu_tflops, "ms_per_call": gpu_call_ms}}
