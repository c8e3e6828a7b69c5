"""Build an index version from a corpus, or append documents to the serving version.

Both encode documents once (token multi-vectors and pooled vectors in one forward pass), compute
MUVERA FDEs, and write a complete new version that is published atomically (``index.versions``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from index.faiss_index import build_faiss_index, read_index, write_index
from index.manifest import EncoderInfo, IndexManifest
from index.reader import open_index
from index.stores import write_shard
from index.versions import IndexRoot
from matlas.errors import InvalidInput
from retrieval.bm25 import BM25Index
from retrieval.corpus import Document, chain_checksum
from retrieval.encoder import MultiVectorEncoder
from retrieval.fde import FDEParams, FixedDimensionalEncoder

__all__ = ["BuildParams", "append_documents", "build_index", "publish_encoded"]


class BuildParams(BaseModel):
    """How to build an index: FDE parameters and the FAISS factory string of the FDE index."""

    fde: FDEParams = Field(default_factory=FDEParams)
    factory: str = Field("Flat", description="FAISS index-factory string, e.g. Flat, HNSW32, IVF256,PQ64.")
    dense: bool = Field(True, description="Also build the pooled single-vector index.")
    bm25: bool = Field(True, description="Also build the BM25 index.")


def _encode(docs: Sequence[Document], encoder: MultiVectorEncoder, progress: bool):
    if not docs:
        raise InvalidInput("no documents to index")
    return encoder.encode([d.content for d in docs], kind="document", output="both", show_progress_bar=progress)


def build_index(
    docs: Sequence[Document],
    root: Path | str,
    encoder: MultiVectorEncoder,
    params: BuildParams | None = None,
    *,
    progress: bool = True,
) -> IndexManifest:
    """Encode ``docs`` and publish them as a new version of the index at ``root``."""
    tokens, pooled = _encode(docs, encoder, progress)
    return publish_encoded(docs, tokens, pooled, root, EncoderInfo.of(encoder), params)


def document_fdes(docs: Sequence[Document], tokens: Sequence[np.ndarray], pooled: np.ndarray, encoder: EncoderInfo,
                  params: BuildParams) -> np.ndarray:
    """The documents' FDEs, after checking there is one multi-vector and pooled vector per document
    (what every backend publishes from)."""
    if not docs or len(docs) != len(tokens) or len(docs) != len(pooled):
        raise InvalidInput(f"need one multi-vector and pooled vector per document, got {len(docs)} documents, "
                           f"{len(tokens)} multi-vectors, {len(pooled)} pooled vectors")
    return FixedDimensionalEncoder(encoder.dim, params.fde).encode_documents(tokens)


def publish_encoded(
    docs: Sequence[Document],
    tokens: Sequence[np.ndarray],
    pooled: np.ndarray,
    root: Path | str,
    encoder: EncoderInfo,
    params: BuildParams | None = None,
) -> IndexManifest:
    """Publish already-encoded documents (token multi-vectors, pooled vectors) as a new version."""
    params = params or BuildParams()
    fdes = document_fdes(docs, tokens, pooled, encoder, params)
    index_root = IndexRoot(root)
    with index_root.new_version() as (tmp, name):
        write_index(build_faiss_index(params.factory, fdes, seed=params.fde.seed), tmp / "fde.faiss")
        n_tokens = write_shard(tmp, "s00000", docs, tokens)
        if params.dense:
            write_index(build_faiss_index("Flat", pooled), tmp / "dense.faiss")
        if params.bm25:
            BM25Index.build([d.content for d in docs]).save(tmp / "bm25")
        manifest = IndexManifest(
            name=index_root.name,
            version=name,
            encoder=encoder,
            fde=params.fde,
            fde_dim=fdes.shape[1],
            factory=params.factory,
            documents=len(docs),
            tokens=n_tokens,
            shards=["s00000"],
            corpus_sha256=chain_checksum("", docs),
            dense=params.dense,
            bm25=params.bm25,
        )
        manifest.write(tmp)
    return manifest


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def append_documents(
    docs: Sequence[Document], root: Path | str, encoder: MultiVectorEncoder, *, progress: bool = True
) -> IndexManifest:
    """Add ``docs`` to the serving version as a new version (no re-encoding of old documents)."""
    index_root = IndexRoot(root)
    base = open_index(index_root)
    old = base.manifest
    old.encoder.check(EncoderInfo.of(encoder), old.name)
    old_docs = list(base.documents)  # read once: ids to check, texts for BM25
    existing = {d.id for d in old_docs}
    clash = [d.id for d in docs if d.id in existing]
    if clash or len({d.id for d in docs}) != len(docs):
        raise InvalidInput(f"document ids already in the index or repeated: {sorted(set(clash))[:5]}")
    tokens, pooled = _encode(docs, encoder, progress)
    fdes = FixedDimensionalEncoder(encoder.dim, old.fde).encode_documents(tokens)
    with index_root.new_version() as (tmp, name):
        for file in base.path.iterdir():
            if file.name.startswith(tuple(old.shards)):
                _link(file, tmp / file.name)
        shard = f"s{len(old.shards):05d}"
        n_tokens = write_shard(tmp, shard, docs, tokens)
        fde_index = read_index(base.path / "fde.faiss")
        fde_index.add(np.ascontiguousarray(fdes))
        write_index(fde_index, tmp / "fde.faiss")
        if old.dense:
            dense = read_index(base.path / "dense.faiss")
            dense.add(pooled)
            write_index(dense, tmp / "dense.faiss")
        if old.bm25:
            BM25Index.build([d.content for d in [*old_docs, *docs]]).save(tmp / "bm25")
        manifest = old.model_copy(
            update={
                "version": name,
                "parent": old.version,
                "documents": old.documents + len(docs),
                "tokens": old.tokens + n_tokens,
                "shards": [*old.shards, shard],
                "corpus_sha256": chain_checksum(old.corpus_sha256, docs),
                "created_at": datetime.now(UTC),
            }
        )
        manifest.write(tmp)
    return manifest
