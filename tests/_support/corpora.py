"""Corpora for tests: the default materials corpus built once per process (a forked mutation-test
run inherits it), and written to disk as BEIR JSONL."""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["materials_documents", "write_corpus"]


@functools.cache
def materials_documents() -> tuple:
    """The default materials corpus (~430 documents from pymatgen's bundled data), as a tuple."""
    from retrieval.materials_corpus import materials_corpus

    return tuple(materials_corpus())


def write_corpus(path: Path) -> int:
    """Write the materials corpus to ``path`` as BEIR JSONL; returns the document count."""
    docs = materials_documents()
    Path(path).write_text("".join(doc.model_dump_json(by_alias=True) + "\n" for doc in docs), encoding="utf-8")
    return len(docs)
