"""How this machine's TensorFlow rounds, in seconds: a fingerprint of float32 kernels.

Same seed, same numbers holds on one kind of CPU; across kinds TensorFlow's float32 kernels
round differently (docs/RESULTS.md, "Same seed, same numbers"), and irecgan's sampled sessions
grow that into other online rewards. Rather than a 73-minute ./run_sim.sh, this runs the kernels
the models use (MatMul with a short and a long inner dimension as in a forward pass and a
gradient, tanh / sigmoid, log-softmax, a reduction) once on fixed inputs (numpy seed 0) and
prints a short hash of each result's bytes and of all of them. Two machines whose fingerprints
differ round differently; equal fingerprints are evidence (not proof) that a run reproduces
the other machine's table exactly. results/sim/*/README.md record the fingerprint of the
machine that made each table.

    python scripts/cpu_fingerprint.py [--isa=SSE41] [--matmul=onednn]

--isa overrides the package's oneDNN cap (ONEDNN_MAX_CPU_ISA, irecgan/__init__.py) for this
process (TF 1.15 reads no such variable); --matmul=onednn gives MatMul oneDNN's sgemm as its
inner kernel (TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL=1, TensorFlow's default) instead of the
package's Eigen kernel, as the code before that pin ran. With the package's kernel the cap does
not move any hash; with oneDNN's it moves the MatMul ones.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

# (name, shape of the left operand, shape of the right) of the matrix products
PRODUCTS = (("matmul_short_k", (256, 96), (96, 256)),     # an LSTM step: [x, h] @ W
            ("matmul_long_k", (64, 4096), (4096, 64)))    # a weight gradient: x^T @ dy


MATMUL_KERNELS = {"eigen": "0", "onednn": "1"}  # TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL


def fingerprint(isa=None, matmul=None):
    """{kernel name: 12-hex-digit hash of its float32 result, "all": hash of them all}."""
    import irecgan  # noqa: F401  (sets the package's CPU pins)
    if isa:
        os.environ["ONEDNN_MAX_CPU_ISA"] = isa
    if matmul:
        os.environ["TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL"] = MATMUL_KERNELS[matmul]
    from irecgan.tfcompat import tf
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    outputs = {}
    with graph.as_default():
        for name, left, right in PRODUCTS:
            a = tf.constant(rng.standard_normal(left).astype(np.float32))
            b = tf.constant(rng.standard_normal(right).astype(np.float32))
            outputs[name] = tf.matmul(a, b)
        x = tf.constant(rng.standard_normal((256, 100)).astype(np.float32) * 3.0)
        outputs["tanh_sigmoid"] = tf.tanh(x) * tf.sigmoid(x)
        outputs["log_softmax"] = tf.nn.log_softmax(x)
        outputs["reduce_sum"] = tf.reduce_sum(tf.exp(x * 0.5), axis=1)
    config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    with tf.Session(graph=graph, config=config) as session:
        values = session.run(outputs)
    digest = {name: hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]
              for name, value in sorted(values.items())}
    digest["all"] = hashlib.sha256(" ".join(
        digest[name] for name in sorted(digest)).encode()).hexdigest()[:12]
    return digest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--isa", default=None,
                        help="ONEDNN_MAX_CPU_ISA for this process (default: the package's pin)")
    parser.add_argument("--matmul", default=None, choices=sorted(MATMUL_KERNELS),
                        help="MatMul's inner kernel (default: the package's pin, eigen)")
    args = parser.parse_args(argv)
    digest = fingerprint(args.isa, args.matmul)
    for name in sorted(digest):
        if name != "all":
            print("%-14s %s" % (name, digest[name]))
    print("fingerprint    %s" % digest["all"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
