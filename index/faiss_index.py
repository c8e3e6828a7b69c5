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
    """``(scores, ids)`` each ``(n, k)``; ids are ``-1`` where fewer than ``k`` exist.

    ``params`` (ParameterSpace syntax, ``"efSearch=450,nprobe=32"``) applies to this call only:
    the shared index is never modified, so threads may search it with different parameters.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if not params:
        return index.search(queries, k)
    keep: list[faiss.SearchParameters] = []  # the tree of parameter objects, alive during the search
    values = _parse_params(params)
    search_params = _search_parameters(index, values, keep)
    if values:
        raise InvalidInput(f"search parameters {sorted(values)} do not apply to a {type(faiss.downcast_index(index)).__name__}")
    return index.search(queries, k, params=search_params)


def _parse_params(params: str) -> dict[str, float]:
    values = {}
    for item in filter(None, (p.strip() for p in params.split(","))):
        name, _, value = item.partition("=")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise InvalidInput(f"invalid search parameter {item!r} in {params!r}: use name=number") from None
    return values


def _take(values: dict[str, float], name: str, prefixes: tuple[str, ...]) -> float | None:
    """Pop the first of ``prefix + name`` present in ``values``."""
    for prefix in prefixes:
        if prefix + name in values:
            return values.pop(prefix + name)
    return None


def _search_parameters(
    index: faiss.Index, values: dict[str, float], keep: list, prefixes: tuple[str, ...] = ("",)
) -> faiss.SearchParameters | None:
    """Per-call parameters for ``index`` and its sub-indexes, popping the names of ``values`` they use
    (as ParameterSpace does: an IVF index passes ``quantizer_X`` and names it does not know to its quantizer)."""
    index = faiss.downcast_index(index)
    found: faiss.SearchParameters | None = None
    if isinstance(index, faiss.IndexPreTransform):
        inner = _search_parameters(index.index, values, keep, prefixes)
        found = faiss.SearchParametersPreTransform(index_params=inner) if inner is not None else None
    elif isinstance(index, faiss.IndexRefine):
        k_factor = _take(values, "k_factor", prefixes)
        base = _search_parameters(index.base_index, values, keep, prefixes)
        if base is not None or k_factor is not None:
            found = faiss.IndexRefineSearchParameters(base_index_params=base)
            found.k_factor = index.k_factor if k_factor is None else k_factor
    elif isinstance(index, faiss.IndexIVF) or (hasattr(faiss, "GpuIndexIVF") and isinstance(index, faiss.GpuIndexIVF)):
        nprobe, max_codes = _take(values, "nprobe", prefixes), _take(values, "max_codes", prefixes)
        quantizer = _search_parameters(index.quantizer, values, keep, ("quantizer_", "")) if prefixes == ("",) else None
        if nprobe is not None or max_codes is not None or quantizer is not None:
            found = faiss.SearchParametersIVF(nprobe=int(index.nprobe if nprobe is None else nprobe),
                                              max_codes=int(index.max_codes if max_codes is None else max_codes))
            if quantizer is not None:
                found.quantizer_params = quantizer
    elif isinstance(index, faiss.IndexHNSW) and (ef := _take(values, "efSearch", prefixes)) is not None:
        found = faiss.SearchParametersHNSW(efSearch=int(ef))
    if found is not None:
        keep.append(found)
    return found


def write_index(index: faiss.Index, path: Path) -> None:
    """Write a CPU index to ``path``."""
    faiss.write_index(index, str(path))


def read_index(path: Path, *, mmap: bool = False) -> faiss.Index:
    """Read an index; ``mmap=True`` maps it read-only instead of loading it."""
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(path), flags)
