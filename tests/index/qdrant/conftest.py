"""Fixtures of the Qdrant backend tests: local-mode Qdrant (in memory, or a folder for other processes),
the fixture corpus encoded once, and a FAISS index of the same vectors to compare with."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def encoded(docs, encoder):
    """``(tokens, pooled)`` of the fixture corpus, encoded once by the session encoder."""
    return encoder.encode([d.content for d in docs], kind="document", output="both", show_progress_bar=False)


@pytest.fixture
def store():
    """A fresh in-memory local-mode Qdrant with small upload batches (several per build)."""
    from qdrant_client import QdrantClient

    from index.qdrant import QdrantParams, QdrantStore

    store = QdrantStore(QdrantClient(":memory:"), QdrantParams(batch_size=4), where="local mode")
    yield store
    store.close()


@pytest.fixture(scope="session")
def faiss_mini(tmp_path_factory, docs, encoded, encoder):
    """A FAISS index of the fixture corpus from the same vectors (read only)."""
    from index.build import publish_encoded
    from index.manifest import EncoderInfo

    root = tmp_path_factory.mktemp("faiss") / "mini"
    publish_encoded(docs, *encoded, root, EncoderInfo.of(encoder))
    return root
