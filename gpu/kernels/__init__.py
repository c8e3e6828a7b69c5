"""Scoring kernels: MaxSim on CPU (blocked GEMM), in plain torch (padded reference) and in Triton."""

from gpu.kernels.maxsim import BACKENDS, maxsim_backend, score_batch
from gpu.kernels.maxsim_cpu import maxsim_cpu
from gpu.kernels.maxsim_torch import maxsim_padded

__all__ = ["BACKENDS", "maxsim_backend", "maxsim_cpu", "maxsim_padded", "score_batch"]
