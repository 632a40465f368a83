"""irecgan: a reproduction of IRecGAN (Bai, Guan, Wang, NeurIPS 2019) in TF1-style static graphs."""
import os
import sys

__version__ = "0.1.0"

# Same seed, same numbers across x86 CPUs (issue 25). TensorFlow's float32 MatMul runs, by default,
# Eigen's contraction with oneDNN's sgemm as its inner kernel (TF 1.15 and 2.x alike), and that
# sgemm is JIT-compiled for the CPU at hand: capped at one instruction set it still rounded
# differently on an AVX2-only AMD EPYC and an AVX-512 one (docs/RESULTS.md, "Same seed, same
# numbers across CPUs"), and irecgan's sampled sessions grow such last-bit differences into
# other online rewards. TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL=0 makes MatMul use Eigen's own kernel,
# compiled into the wheel, the same machine code on every CPU (measured: its results do not move
# under any oneDNN cap; 5-15 % more time per training step). Eigen picks its blocking of the inner
# dimension from the L1 data cache size, so CPUs with another L1 (48 KiB instead of the usual
# 32 KiB) may still round long products otherwise: scripts/cpu_fingerprint.py tells. The oneDNN
# graph rewrites stay off (TF 1.15's kernels) and oneDNN's code capped at AVX2, for the kernels
# that still reach it. All are set here, whatever the environment says, before anything of the
# package can import TensorFlow (tfcompat, or RecSim through sim/recsim_env). Tables made before
# this pin (oneDNN's sgemm) are reproduced by the commit that made them, on their CPU kind.
# TF_OVERRIDE_GLOBAL_THREADPOOL=1 gives every session's CPU device an intra-op thread pool of its
# own, of the size its ConfigProto asks for. Without it TensorFlow makes one pool per process, as
# large as the FIRST session asked, and ignores every later session's intra_op_parallelism_threads;
# Eigen splits a long inner dimension between those threads, so a product's rounding (a run's
# numbers, rundir/machine's fingerprint) followed what an earlier session of the process asked
# (a sweep's earlier run, a test before it in the same process).
REPRODUCIBLE_CPU_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2",
                        "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL": "0",
                        "TF_OVERRIDE_GLOBAL_THREADPOOL": "1"}
os.environ.update(REPRODUCIBLE_CPU_ENV)

# Import paths of release 0.1 (flat modules, now in subpackages) keep working for one release.
from irecgan import moved as _moved  # noqa: E402

_moved.install(sys.meta_path)
