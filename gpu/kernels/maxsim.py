"""Choose and run a MaxSim backend: the Triton kernel on CUDA, the blocked-GEMM CPU path otherwise.

Backends: ``cpu`` (``maxsim_cpu``), ``torch`` (``maxsim_padded``, the padded-matmul reference on
the default torch device), ``triton`` (``maxsim_triton`` on CUDA, or on CPU under
``TRITON_INTERPRET=1``) and ``auto``. The choice comes from the caller (a deployment sets it
with ``MATLAS_MAXSIM_BACKEND``, read by ``matlas.settings``), else ``auto``.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import torch

from gpu.device import resolve_device
from gpu.kernels.maxsim_cpu import maxsim_cpu
from gpu.kernels.maxsim_torch import maxsim_padded
from matlas.errors import InvalidInput

__all__ = ["BACKENDS", "Backend", "maxsim_backend", "score_batch"]

Backend = Literal["auto", "cpu", "torch", "triton"]
BACKENDS: tuple[str, ...] = get_args(Backend)


def maxsim_backend(preference: str | None = None) -> str:
    """The backend to run: ``preference``, else ``auto``, resolved.

    >>> maxsim_backend("cpu")
    'cpu'
    """
    choice = preference or "auto"
    if choice not in BACKENDS:
        raise InvalidInput(f"unknown MaxSim backend {choice!r}; choose one of {list(BACKENDS)}")
    if choice == "auto":
        has_triton = importlib.util.find_spec("triton") is not None
        return "triton" if has_triton and torch.cuda.is_available() else "cpu"
    if choice == "triton":
        _triton_device()
    return choice


def score_batch(
    queries: Sequence[np.ndarray], documents: Sequence[np.ndarray], *, backend: str | None = None
) -> np.ndarray:
    """Chamfer scores ``(n_queries, n_docs)`` float32 of every query against every document.

    Queries and documents are ``(n, dim)`` float16 or float32 arrays with ``n >= 1``; the work
    runs on ``maxsim_backend(backend)``.
    """
    name = maxsim_backend(backend)
    if len(documents) == 0 or len(queries) == 0:
        return np.zeros((len(queries), len(documents)), dtype=np.float32)
    doc_lengths = _lengths(documents, "document")
    query_lengths = _lengths(queries, "query")
    dims = {queries[0].shape[1], documents[0].shape[1]}
    if len(dims) != 1:
        raise ValueError(f"queries and documents differ in dimension: {sorted(dims)}")
    if name == "torch":
        return maxsim_padded(queries, documents, device=resolve_device())
    query_tokens = np.concatenate(queries).astype(np.float32, copy=False)
    query_offsets = _offsets(query_lengths)
    if name == "cpu":
        return maxsim_cpu(query_tokens, query_offsets, documents)
    return _score_triton(query_tokens, query_offsets, documents, doc_lengths)


def _score_triton(
    query_tokens: np.ndarray, query_offsets: np.ndarray, documents: Sequence[np.ndarray], doc_lengths: np.ndarray
) -> np.ndarray:
    """Pack the documents on the host, copy them (float16 stays float16) and launch the kernel."""
    from gpu.kernels.maxsim_triton import maxsim_triton

    device = _triton_device()
    tokens = np.concatenate(documents)
    if tokens.dtype != np.float16:
        tokens = tokens.astype(np.float32, copy=False)
    scores = maxsim_triton(
        torch.from_numpy(query_tokens).to(device),
        torch.from_numpy(query_offsets).to(device),
        torch.from_numpy(tokens).to(device),
        torch.from_numpy(_offsets(doc_lengths)).to(device),
    )
    return scores.cpu().numpy()


@functools.cache
def _triton_device() -> str:
    """``"cuda"`` where triton compiles for a CUDA device, ``"cpu"`` under its interpreter."""
    if importlib.util.find_spec("triton") is not None:
        if torch.cuda.is_available():
            return "cuda"
        import triton

        if triton.knobs.runtime.interpret:
            return "cpu"
    raise InvalidInput(
        "MaxSim backend 'triton' needs triton and a CUDA device (or TRITON_INTERPRET=1); use 'auto' or 'cpu'"
    )


def _lengths(arrays: Sequence[np.ndarray], kind: str) -> np.ndarray:
    lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    if (lengths == 0).any():
        raise ValueError(f"{kind} {int(np.argmin(lengths))} has no token vectors")
    return lengths


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
