"""BM25 lexical retrieval (bm25s, English stopwords and Snowball stemming), saved beside an index."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

__all__ = ["BM25Index"]

_STEMMER = Stemmer.Stemmer("english")
logging.getLogger("bm25s").setLevel(logging.WARNING)


def _tokenize(texts: Sequence[str]):
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_STEMMER, show_progress=False)


class BM25Index:
    """A BM25 (Lucene variant, k1=1.2, b=0.75) index over documents in id order."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts``; document ``i`` gets id ``i``."""
        retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        retriever.index(_tokenize(texts), show_progress=False)
        return cls(retriever)

    def save(self, directory: Path) -> None:
        """Save into ``directory`` (created)."""
        self._retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Load an index saved by ``save``."""
        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False))

    @property
    def num_docs(self) -> int:
        return int(self._retriever.scores["num_docs"])

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of the top ``k`` documents; documents scoring 0 are dropped."""
        k = min(k, self.num_docs)
        tokens = _tokenize([query])
        if not any(len(t) for t in tokens.ids):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        ids, scores = self._retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        ids, scores = ids[0].astype(np.int64), scores[0].astype(np.float32)
        keep = scores > 0
        return scores[keep], ids[keep]
