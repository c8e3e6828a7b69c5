"""FAISS inner-product indexes over FDE (or pooled) vectors, described by index-factory strings.

This is the only module that calls ``faiss.write_index`` / ``faiss.read_index`` for float indexes.
"""

from __future__ import annotations

import re
from pathlib import Path

import faiss
import numpy as np

from matlas.errors import InvalidInput

__all__ = ["build_faiss_index", "default_search_params", "read_index", "search_index", "write_index"]

_TRAIN_MAX = 100_000


def _min_train_points(factory: str) -> int:
    """Training points a factory string needs (the IVF list count, or PQ's 256 centroids)."""
    need = 0
    if m := re.search(r"IVF(\d+)", factory):
        need = max(need, int(m.group(1)))
    if re.search(r"PQ\d+", factory):
        need = max(need, 256)
    return need


def build_faiss_index(factory: str, vectors: np.ndarray, *, seed: int = 0) -> faiss.Index:
    """A trained inner-product index from ``factory`` holding ``vectors`` ``(n, d)`` float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    try:
        index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[-1] if str(err).strip() else "invalid"
        raise InvalidInput(f"invalid FAISS index factory string {factory!r}: {first}") from None
    if not index.is_trained:
        need = _min_train_points(factory)
        if len(vectors) < need:
            raise InvalidInput(
                f"factory {factory!r} needs at least {need} training vectors, the corpus has {len(vectors)}"
            )
        rng = np.random.default_rng(seed)
        sample = vectors if len(vectors) <= _TRAIN_MAX else vectors[rng.choice(len(vectors), _TRAIN_MAX, replace=False)]
        index.train(sample)
    index.add(vectors)
    return index


def default_search_params(factory: str, candidates: int) -> str:
    """ParameterSpace string for a factory: HNSW efSearch and IVF nprobe sized for ``candidates``."""
    params = []
    if "HNSW" in factory:
        params.append(f"efSearch={max(candidates + candidates // 2, 64)}")
    if m := re.search(r"IVF(\d+)", factory):
        params.append(f"nprobe={min(int(m.group(1)), 32)}")
    return ",".join(params)


def search_index(index: faiss.Index, queries: np.ndarray, k: int, params: str = "") -> tuple[np.ndarray, np.ndarray]:
    """``(scores, ids)`` each ``(n, k)``; ids are ``-1`` where fewer than ``k`` exist."""
    if params:
        on_gpu = hasattr(faiss, "GpuIndex") and isinstance(index, faiss.GpuIndex)
        space = faiss.GpuParameterSpace() if on_gpu else faiss.ParameterSpace()
        space.set_index_parameters(index, params)
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)


def write_index(index: faiss.Index, path: Path) -> None:
    """Write a CPU index to ``path``."""
    faiss.write_index(index, str(path))


def read_index(path: Path, *, mmap: bool = False) -> faiss.Index:
    """Read an index; ``mmap=True`` maps it read-only instead of loading it."""
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(path), flags)
