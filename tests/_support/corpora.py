"""Corpora written to disk for tests."""

from __future__ import annotations

from pathlib import Path

from retrieval.materials_corpus import materials_corpus

__all__ = ["write_corpus"]


def write_corpus(path: Path) -> int:
    """Write :func:`materials_corpus` to ``path`` as BEIR JSONL; returns the document count."""
    docs = materials_corpus()
    Path(path).write_text("".join(doc.model_dump_json(by_alias=True) + "\n" for doc in docs), encoding="utf-8")
    return len(docs)
