"""irecgan: a reproduction of IRecGAN (Bai, Guan, Wang, NeurIPS 2019) in TF1-style static graphs."""
import os

__version__ = "0.1.0"

# Same seed, same numbers on one kind of CPU (issue 25). TensorFlow 2.x's CPU kernels go through
# oneDNN, which picks its code by the CPU: its graph rewrites are on by default only on CPUs with
# AVX512_VNNI / AVX512_BF16 / AMX, and its sgemm (under MatMul, rewrites on or off) is
# JIT-compiled for the widest instruction set the CPU has. Each choice rounds differently:
# measured on one AMD EPYC (AVX-512), a tiny irecgan run wrote other metrics.jsonl bytes with
# ONEDNN_MAX_CPU_ISA=AVX2 or SSE41 than with the CPU's own, and irecgan's sampled sessions grow
# such differences into other online rewards. So both are fixed here, whatever the environment
# says, before anything of the package can import TensorFlow (tfcompat, or RecSim through
# sim/recsim_env): the rewrites off (TF 1.15's kernels), oneDNN's code capped at AVX2 (what every
# x86 server of the last decade has). Across kinds of CPU float32 kernels still round differently
# (an AVX2-only EPYC vs an AVX-512 one, both capped: docs/RESULTS.md, "Same seed, same numbers").
# TF 1.15's pip build reads neither.
REPRODUCIBLE_CPU_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0", "ONEDNN_MAX_CPU_ISA": "AVX2"}
os.environ.update(REPRODUCIBLE_CPU_ENV)
