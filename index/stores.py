"""Append-only, sharded stores of one index version: float16 token vectors and documents.

A shard is immutable once written, so a new version made by an append hard-links the shards of
its parent and adds one. Token vectors are memory-mapped; documents are JSON lines read by offset.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from retrieval.corpus import Document

__all__ = ["DocumentStore", "TokenStore", "write_shard"]


def write_shard(directory: Path, shard: str, docs: Sequence[Document], tokens: Sequence[np.ndarray]) -> int:
    """Write one shard (documents and their token vectors); returns its token count."""
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    matrix = np.concatenate(tokens).astype(np.float16) if len(tokens) else np.zeros((0, 0), np.float16)
    np.save(directory / f"{shard}.tokens.npy", matrix)
    np.save(directory / f"{shard}.token_offsets.npy", offsets)
    positions = [0]
    with open(directory / f"{shard}.docs.jsonl", "wb") as f:
        for doc in docs:
            line = doc.model_dump_json(by_alias=True).encode() + b"\n"
            f.write(line)
            positions.append(positions[-1] + len(line))
    np.save(directory / f"{shard}.doc_offsets.npy", np.asarray(positions, dtype=np.int64))
    return int(offsets[-1])


class _Sharded:
    def __init__(self, directory: Path, shards: Sequence[str], suffix: str) -> None:
        self.directory = directory
        counts = [len(np.load(directory / f"{s}.{suffix}", mmap_mode="r")) - 1 for s in shards]
        self._bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._bounds[-1])

    def _locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= len(self)):
            raise IndexError(f"document ids out of range [0, {len(self)})")
        shard = np.searchsorted(self._bounds, ids, side="right") - 1
        return shard, ids - self._bounds[shard]


class TokenStore(_Sharded):
    """Memory-mapped float16 token vectors; ``get(ids)`` returns one ``(n_i, dim)`` array per id."""

    def __init__(self, directory: Path, shards: Sequence[str]) -> None:
        super().__init__(directory, shards, "token_offsets.npy")
        self._matrices = [np.load(directory / f"{s}.tokens.npy", mmap_mode="r") for s in shards]
        self._offsets = [np.load(directory / f"{s}.token_offsets.npy") for s in shards]

    def get(self, ids: Sequence[int]) -> list[np.ndarray]:
        """Token vectors (float16 views into the map) of documents ``ids``."""
        shard, local = self._locate(np.asarray(ids))
        return [
            self._matrices[s][self._offsets[s][i] : self._offsets[s][i + 1]]
            for s, i in zip(shard.tolist(), local.tolist())
        ]

    def iter_all(self, batch: int = 1024) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
        """Yield ``(ids, token arrays)`` over every document, ``batch`` at a time."""
        for start in range(0, len(self), batch):
            ids = np.arange(start, min(start + batch, len(self)))
            yield ids, self.get(ids)


class DocumentStore(_Sharded):
    """Documents by position, read from JSON lines by byte offset."""

    def __init__(self, directory: Path, shards: Sequence[str]) -> None:
        super().__init__(directory, shards, "doc_offsets.npy")
        self._offsets = [np.load(directory / f"{s}.doc_offsets.npy") for s in shards]
        self._maps = []
        for s in shards:
            with open(directory / f"{s}.docs.jsonl", "rb") as f:
                size = f.seek(0, 2)
                self._maps.append(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b"")

    def get(self, ids: Sequence[int]) -> list[Document]:
        """Documents at positions ``ids``."""
        shard, local = self._locate(np.asarray(ids))
        return [
            Document.model_validate(json.loads(self._maps[s][self._offsets[s][i] : self._offsets[s][i + 1]]))
            for s, i in zip(shard.tolist(), local.tolist())
        ]

    def __iter__(self) -> Iterator[Document]:
        for start in range(0, len(self), 4096):
            yield from self.get(range(start, min(start + 4096, len(self))))
