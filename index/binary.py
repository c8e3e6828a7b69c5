"""FAISS binary (Hamming) indexes over packed codes, described by a small factory string.

Factories: ``"BFlat"`` (exact, ``IndexBinaryFlat``, the default), ``"BHash<b>"``
(``IndexBinaryHash``: exact match on the first ``b`` bits, then Hamming within ``nflip`` flipped
bits) and ``"BMultiHash<m>x<b>"`` (``IndexBinaryMultiHash``: ``m`` tables of ``b`` bits). Every
index is wrapped in ``IndexBinaryIDMap2`` so search returns the caller's int64 ids. Hashed
indexes refuse to build when a bucket holds more than ``max_bucket`` codes (their search degrades
to a scan of the bucket).

This is the only module that calls ``faiss.write_index_binary`` / ``faiss.read_index_binary``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from pydantic import Field

from index.manifest import VersionManifest
from index.versions import IndexRoot
from matlas.errors import InvalidInput

__all__ = ["BINARY_FACTORIES", "BinaryIndexManifest", "build_binary_index", "open_binary_version",
           "publish_binary_version", "read_index_binary", "search_binary", "write_index_binary"]

BINARY_FACTORIES = ("BFlat", "BHash<b>", "BMultiHash<m>x<b>")
_HASH = re.compile(r"^BHash(\d+)$")
_MULTI = re.compile(r"^BMultiHash(\d+)x(\d+)$")


_FAST_CODE_SIZES = (4, 8, 16, 20, 32, 64)  # bytes FAISS has specialised Hamming computers for


def _codes(codes: np.ndarray, bits: int | None = None) -> np.ndarray:
    """``codes`` as contiguous uint8, zero-padded to the next code size FAISS computes fast.

    Zero bytes add nothing to Hamming distances, so 16-bit codes padded to 32 bits rank the same
    and skip FAISS's generic byte loop. ``bits`` is the (padded) width of the index searched.
    """
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2:
        raise InvalidInput(f"binary codes must be a 2-D uint8 array (n, bits // 8), got {codes.dtype} {codes.shape}")
    size = next((s for s in _FAST_CODE_SIZES if s >= codes.shape[1]), codes.shape[1])
    if bits is not None and size * 8 != bits:
        raise InvalidInput(f"codes have {codes.shape[1] * 8} bits, the index has {bits}")
    if size != codes.shape[1]:
        codes = np.pad(codes, ((0, 0), (0, size - codes.shape[1])))
    return np.ascontiguousarray(codes)


def _bucket_sizes(codes: np.ndarray, start: int, b: int) -> int:
    """Largest number of codes sharing bits ``start .. start + b`` (little-endian bit order)."""
    bits = np.unpackbits(codes, axis=1, bitorder="little")[:, start:start + b]
    keys = np.packbits(bits, axis=1, bitorder="little")
    return int(np.unique(keys, axis=0, return_counts=True)[1].max()) if len(keys) else 0


def build_binary_index(factory: str, codes: np.ndarray, ids: np.ndarray | None = None, *,
                       nflip: int = 2, max_bucket: int = 100_000) -> faiss.IndexBinary:
    """An ``IndexBinaryIDMap2`` of ``factory`` holding ``codes`` ``(n, nbytes)`` uint8 with ``ids`` (default 0..n-1)."""
    bits = np.shape(codes)[1] * 8 if np.ndim(codes) == 2 else 0  # the code length; storage may pad it
    codes = _codes(codes)
    if ids is None:
        ids = np.arange(len(codes), dtype=np.int64)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if ids.shape != (len(codes),):
        raise InvalidInput(f"need one id per code: {len(codes)} codes, ids of shape {ids.shape}")
    if factory == "BFlat":
        inner = faiss.IndexBinaryFlat(codes.shape[1] * 8)
    elif (m := _HASH.match(factory)) or (m := _MULTI.match(factory)):
        tables, b = (1, int(m.group(1))) if factory.startswith("BHash") else (int(m.group(1)), int(m.group(2)))
        if not 1 <= b <= 64 or tables * b > bits:
            raise InvalidInput(f"factory {factory!r}: {tables} table(s) of {b} bits do not fit in {bits}-bit codes (b <= 64)")
        worst = max(_bucket_sizes(codes, t * b, b) for t in range(tables))
        if worst > max_bucket:
            raise InvalidInput(f"factory {factory!r}: a bucket holds {worst} codes (> max_bucket={max_bucket}); use more bits per table")
        width = codes.shape[1] * 8
        inner = faiss.IndexBinaryHash(width, b) if tables == 1 else faiss.IndexBinaryMultiHash(width, tables, b)
        inner.nflip = nflip
    else:
        raise InvalidInput(f"unknown binary index factory {factory!r}; use one of {list(BINARY_FACTORIES)}")
    index = faiss.IndexBinaryIDMap2(inner)  # the wrapper keeps a reference to ``inner``
    index.add_with_ids(codes, ids)
    return index


def search_binary(index: faiss.IndexBinary, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, ids)`` each ``(n, k)`` int32 / int64, nearest first; ids are ``-1`` past the hits."""
    if k < 1:
        raise InvalidInput(f"k must be >= 1, got {k}")
    return index.search(_codes(queries, index.d), k)


def write_index_binary(index: faiss.IndexBinary, path: Path) -> None:
    """Write a CPU binary index to ``path``."""
    faiss.write_index_binary(index, str(path))


def read_index_binary(path: Path) -> faiss.IndexBinary:
    """Read a binary index written by :func:`write_index_binary`."""
    if not Path(path).is_file():
        raise InvalidInput(f"no binary index file at {path}")
    return faiss.read_index_binary(str(path))


class BinaryIndexManifest(VersionManifest):
    """``manifest.json`` of a binary index version: one named FAISS binary index per part."""

    bits: int = Field(description="Stored code length in bits (16-bit codes are stored zero-padded to 32).")
    factory: str = Field(description="Binary factory string of every part ('BFlat', 'BHash16', ...).")
    parts: dict[str, int] = Field(description="Part name -> number of codes; file '<part>.bidx'.")
    meta: dict[str, Any] = Field(default_factory=dict, description="What the codes came from (hasher, data).")


def publish_binary_version(root: Path | str, parts: dict[str, faiss.IndexBinary], factory: str, *,
                           meta: dict[str, Any] | None = None,
                           write_extra: Callable[[Path], None] | None = None) -> BinaryIndexManifest:
    """Write ``parts`` (and whatever ``write_extra(dir)`` adds) as a new version and flip ``CURRENT``."""
    if not parts or len({p.d for p in parts.values()}) != 1:
        raise InvalidInput(f"need one or more parts of one code length, got {[(k, p.d) for k, p in parts.items()]}")
    index_root = IndexRoot(root)
    with index_root.new_version() as (tmp, version):
        for part, index in parts.items():
            write_index_binary(index, tmp / f"{part}.bidx")
        if write_extra is not None:
            write_extra(tmp)
        manifest = BinaryIndexManifest(name=index_root.name, version=version, bits=next(iter(parts.values())).d,
                                       factory=factory, parts={k: p.ntotal for k, p in parts.items()}, meta=meta or {})
        manifest.write(tmp)
    return manifest


def open_binary_version(root: Path | str) -> tuple[BinaryIndexManifest, dict[str, faiss.IndexBinary], Path]:
    """``(manifest, parts, directory)`` of the serving version; ``IndexNotFound`` if none."""
    directory = IndexRoot(root).current_path()
    manifest = BinaryIndexManifest.read(directory)
    return manifest, {p: read_index_binary(directory / f"{p}.bidx") for p in manifest.parts}, directory
