"""GPU support: device choice, faiss-gpu, scoring kernels and weight quantization."""

from gpu.device import resolve_device

__all__ = ["resolve_device"]
