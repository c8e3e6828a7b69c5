"""BM25 lexical retrieval (bm25s, English stopwords and Snowball stemming), saved beside an index."""

from __future__ import annotations

import logging
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

__all__ = ["K1", "B", "BM25Index", "SparseTerms", "query_terms", "sparse_documents", "term_id"]

_STEMMER = Stemmer.Stemmer("english")
logging.getLogger("bm25s").setLevel(logging.WARNING)


K1, B = 1.2, 0.75
SparseTerms = tuple[list[int], list[float]]  # term ids (unique), their weights


def _tokenize(texts: Sequence[str]):
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_STEMMER, show_progress=False)


class BM25Index:
    """A BM25 (Lucene variant, k1=1.2, b=0.75) index over documents in id order."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._retriever = retriever

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index ``texts``; document ``i`` gets id ``i``."""
        retriever = bm25s.BM25(k1=K1, b=B, method="lucene")
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


def term_id(token: str) -> int:
    """A stable 32-bit id of a stemmed term (CRC-32), the index of its sparse-vector dimension.

    >>> term_id("cat")
    2656977832
    """
    return zlib.crc32(token.encode())


def _terms(texts: Sequence[str]) -> list[list[str]]:
    return bm25s.tokenize(list(texts), stopwords="en", stemmer=_STEMMER, return_ids=False, show_progress=False)


def sparse_documents(texts: Sequence[str]) -> list[SparseTerms]:
    """BM25 term weights of each text without the IDF factor, for an engine that applies IDF itself
    (Qdrant's ``Modifier.IDF`` uses Lucene's ``ln(1 + (N - df + 0.5) / (df + 0.5))``, as ``BM25Index``):
    ``tf / (tf + K1 * (1 - B + B * dl / avgdl))`` over the same terms as ``BM25Index``, so that a dot
    product with ``query_terms`` times IDF is the ``BM25Index`` score. ``avgdl`` is over ``texts``.
    """
    terms = _terms(texts)
    lengths = [len(t) for t in terms]
    avgdl = (sum(lengths) / len(lengths) if lengths else 0.0) or 1.0
    out = []
    for doc, dl in zip(terms, lengths):
        norm = K1 * (1 - B + B * dl / avgdl)
        counts = Counter(doc)
        out.append(([term_id(t) for t in counts], [tf / (tf + norm) for tf in counts.values()]))
    return out


def query_terms(text: str) -> SparseTerms:
    """A query's terms as a sparse vector (weight: occurrences in the query, as ``BM25Index.search`` sums them)."""
    counts = Counter(_terms([text])[0])
    return [term_id(t) for t in counts], [float(n) for n in counts.values()]
