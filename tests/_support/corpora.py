"""Corpora that several tests share, built once per process (a forked mutation-test run inherits them)."""

from __future__ import annotations

import functools


@functools.cache
def materials_documents() -> tuple:
    """The default materials corpus (~430 documents from pymatgen's bundled data), as a tuple."""
    from retrieval.materials_corpus import materials_corpus

    return tuple(materials_corpus())
