"""What a run was computed on: the software stack and how this CPU's TensorFlow rounds.

Same seed, same numbers holds on one kind of CPU; across kinds TensorFlow's float32 kernels may
round differently (docs/RESULTS.md, "Same seed, same numbers across CPUs"), and training grows
last-bit differences into other figures. `kernel_hashes` runs the kernels the models use (MatMul
with a short and a long inner dimension, tanh / sigmoid, log-softmax, a reduction) once on fixed
inputs (numpy seed 0, one thread) and hashes each result's bytes: two machines whose
`cpu_fingerprint`s differ round differently. `describe()` is what results.json records under
"machine" and what `irecgan-report` prints beside a table (scripts/cpu_fingerprint.py prints the
hashes). Computed once per process, in a graph and session of its own, on one thread of its own
(the package's TF_OVERRIDE_GLOBAL_THREADPOOL pin: not the thread pool of the process's first
session, irecgan/__init__.py).
"""
import collections
import hashlib
import platform

import numpy as np

# (name, shape of the left operand, shape of the right) of the matrix products
PRODUCTS = (("matmul_short_k", (256, 96), (96, 256)),     # an LSTM step: [x, h] @ W
            ("matmul_long_k", (64, 4096), (4096, 64)))    # a weight gradient: x^T @ dy

_DESCRIBED = []


def kernel_hashes():
    """{kernel name: 12-hex-digit hash of its float32 result, "all": hash of them all}, with the
    process's TensorFlow settings (the package's CPU pins unless changed before TF started)."""
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
    digest = dict((name, hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:12])
                  for name, value in sorted(values.items()))
    digest["all"] = hashlib.sha256(" ".join(
        digest[name] for name in sorted(digest)).encode()).hexdigest()[:12]
    return digest


def describe():
    """{"python", "numpy", "tensorflow", "cpu_fingerprint"} of this process (an OrderedDict)."""
    if not _DESCRIBED:
        from irecgan.tfcompat import TF_VERSION
        _DESCRIBED.append(collections.OrderedDict([
            ("python", platform.python_version()), ("numpy", np.__version__),
            ("tensorflow", TF_VERSION), ("cpu_fingerprint", kernel_hashes()["all"])]))
    return collections.OrderedDict(_DESCRIBED[0])

