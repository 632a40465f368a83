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
import os
import sys

MATMUL_KERNELS = {"eigen": "0", "onednn": "1"}  # TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL


def fingerprint(isa=None, matmul=None):
    """{kernel name: 12-hex-digit hash of its float32 result, "all": hash of them all}."""
    import irecgan  # noqa: F401  (sets the package's CPU pins)
    if isa:
        os.environ["ONEDNN_MAX_CPU_ISA"] = isa
    if matmul:
        os.environ["TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL"] = MATMUL_KERNELS[matmul]
    from irecgan.rundir.machine import kernel_hashes
    return kernel_hashes()


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
