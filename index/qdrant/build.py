"""Build a Qdrant index version from a corpus, or append documents to the serving one.

The same encoder, FDE parameters and seed as a FAISS build; each version is one collection
(``index.qdrant.versions``), published by moving the alias once the upload is complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
from qdrant_client import models

from index.build import BuildParams, document_fdes
from index.manifest import EncoderInfo
from index.qdrant.manifest import QdrantManifest
from index.qdrant.upload import upload_points
from index.qdrant.versions import QdrantRoot
from matlas.errors import InvalidInput, UpstreamError
from retrieval.bm25 import SparseTerms, sparse_documents
from retrieval.corpus import Document, chain_checksum
from retrieval.encoder import MultiVectorEncoder
from retrieval.fde import FixedDimensionalEncoder

__all__ = ["append_documents", "build_index", "publish_encoded"]

_VECTORS = ["fde", "tok", "dense"]


def _creator(root: QdrantRoot, dim: int, fde_dim: int, dense: bool, bm25: bool) -> Callable[[str], None]:
    p = root.store.params
    quantization = (models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
        type=models.ScalarType.INT8, always_ram=True)) if p.fde_quantization == "int8" else None)
    vectors = {
        "fde": models.VectorParams(size=fde_dim, distance=models.Distance.DOT, on_disk=p.fde_on_disk,
                                   quantization_config=quantization),
        "tok": models.VectorParams(
            size=dim, distance=models.Distance.DOT, on_disk=p.tokens_on_disk,
            datatype=models.Datatype.FLOAT16 if p.token_datatype == "float16" else models.Datatype.FLOAT32,
            multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
            hnsw_config=models.HnswConfigDiff(m=0)),  # scored for candidates only: no graph
    }
    if dense:
        vectors["dense"] = models.VectorParams(size=dim, distance=models.Distance.DOT)
    sparse = {"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)} if bm25 else None

    def create(collection: str) -> None:
        root.store.client.create_collection(
            collection, vectors_config=vectors, sparse_vectors_config=sparse,
            hnsw_config=models.HnswConfigDiff(m=p.hnsw_m, ef_construct=p.hnsw_ef_construct),
            shard_number=p.shards, replication_factor=p.replication_factor)

    return create


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _sparse(terms: SparseTerms) -> models.SparseVector:
    return models.SparseVector(indices=terms[0], values=terms[1])


def _new_points(docs: Sequence[Document], tokens: Sequence[np.ndarray], pooled: np.ndarray | None, fdes: np.ndarray,
                sparse: Sequence[SparseTerms] | None, offset: int) -> Callable[[Sequence[int]], list[models.PointStruct]]:
    """Points of documents ``offset + i``: token vectors rounded to float16 (what FAISS's token store keeps)."""
    def make(ids: Sequence[int]) -> list[models.PointStruct]:
        points = []
        for pid in ids:
            i = pid - offset
            vector: dict = {"fde": fdes[i].tolist(), "tok": tokens[i].astype(np.float16).astype(np.float32).tolist()}
            if pooled is not None:
                vector["dense"] = pooled[i].tolist()
            if sparse is not None:
                vector["bm25"] = _sparse(sparse[offset + i])
            points.append(models.PointStruct(id=pid, vector=vector, payload=docs[i].model_dump(mode="json", by_alias=True)))
        return points

    return make


def _finish(root: QdrantRoot, collection: str, manifest: QdrantManifest, publish: bool) -> QdrantManifest:
    with root.store.reachable():
        stored = root.store.client.count(collection, exact=True).count
    if stored != manifest.documents:
        raise UpstreamError(f"Qdrant collection {collection!r} holds {stored} points after the upload, "
                            f"expected {manifest.documents}")
    root.complete(manifest)
    if publish:
        root.publish(manifest.version)
    return manifest


def build_index(docs: Sequence[Document], root: QdrantRoot, encoder: MultiVectorEncoder,
                params: BuildParams | None = None, *, progress: bool = True, publish: bool = True) -> QdrantManifest:
    """Encode ``docs`` and upload them as a new version of the index at ``root`` (served unless not ``publish``)."""
    if not docs:
        raise InvalidInput("no documents to index")
    tokens, pooled = encoder.encode([d.content for d in docs], kind="document", output="both", show_progress_bar=progress)
    return publish_encoded(docs, tokens, pooled, root, EncoderInfo.of(encoder), params, progress=progress, publish=publish)


def publish_encoded(
    docs: Sequence[Document], tokens: Sequence[np.ndarray], pooled: np.ndarray, root: QdrantRoot,
    encoder: EncoderInfo, params: BuildParams | None = None, *, progress: bool = False, publish: bool = True,
) -> QdrantManifest:
    """Upload already-encoded documents as a new version (resuming an interrupted upload of the same build)."""
    params = params or BuildParams()
    fdes = document_fdes(docs, tokens, pooled, encoder, params)
    sparse = sparse_documents([d.content for d in docs]) if params.bm25 else None
    checksum = chain_checksum("", docs)
    key = _key("build", checksum, encoder, params, root.store.params)
    create = _creator(root, encoder.dim, fdes.shape[1], params.dense, params.bm25)
    with root.stage(key, create) as (collection, version, resumed):
        upload_points(root.store, collection, range(len(docs)),
                      _new_points(docs, tokens, pooled if params.dense else None, fdes, sparse, 0),
                      progress=progress, resume=resumed)
        manifest = QdrantManifest(
            name=root.name, version=version, encoder=encoder, fde=params.fde, fde_dim=fdes.shape[1],
            factory="qdrant", documents=len(docs), tokens=int(sum(len(t) for t in tokens)), shards=[],
            corpus_sha256=checksum, dense=params.dense, bm25=params.bm25, collection=collection,
            storage=root.store.params)
        return _finish(root, collection, manifest, publish)


def _stored_documents(root: QdrantRoot, collection: str, count: int) -> list[Document]:
    from index.qdrant.search import QdrantDocuments

    return list(QdrantDocuments(root.store, collection, count))


def append_documents(docs: Sequence[Document], root: QdrantRoot, encoder: MultiVectorEncoder, *,
                     progress: bool = True) -> QdrantManifest:
    """Add ``docs`` to the serving version as a new version: the old points are copied (vectors as
    stored, no re-encoding), the new ones uploaded, and BM25 re-weighted over all the texts."""
    old = root.manifest()
    old.encoder.check(EncoderInfo.of(encoder), old.name)
    old_docs = _stored_documents(root, old.collection, old.documents)
    existing = {d.id for d in old_docs}
    clash = [d.id for d in docs if d.id in existing]
    if not docs:
        raise InvalidInput("no documents to index")
    if clash or len({d.id for d in docs}) != len(docs):
        raise InvalidInput(f"document ids already in the index or repeated: {sorted(set(clash))[:5]}")
    tokens, pooled = encoder.encode([d.content for d in docs], kind="document", output="both", show_progress_bar=progress)
    fdes = FixedDimensionalEncoder(encoder.dim, old.fde).encode_documents(tokens)
    sparse = sparse_documents([d.content for d in [*old_docs, *docs]]) if old.bm25 else None
    checksum = chain_checksum(old.corpus_sha256, docs)
    key = _key("append", old.collection, checksum, root.store.params)
    create = _creator(root, old.encoder.dim, old.fde_dim, old.dense, old.bm25)
    client, n_old = root.store.client, old.documents

    def copy(ids: Sequence[int]) -> list[models.PointStruct]:
        stored = sorted(client.retrieve(old.collection, list(ids), with_payload=True,
                                        with_vectors=[v for v in _VECTORS if v != "dense" or old.dense]),
                        key=lambda p: p.id)
        for point in stored:
            if sparse is not None:
                point.vector["bm25"] = _sparse(sparse[point.id])
        return [models.PointStruct(id=p.id, vector=p.vector, payload=p.payload) for p in stored]

    with root.stage(key, create) as (collection, version, resumed):
        upload_points(root.store, collection, range(n_old), copy, progress=progress, resume=resumed)
        upload_points(root.store, collection, range(n_old, n_old + len(docs)),
                      _new_points(docs, tokens, pooled if old.dense else None, fdes, sparse, n_old),
                      progress=progress, resume=resumed)
        manifest = old.model_copy(update={
            "version": version, "parent": old.version, "collection": collection, "created_at": datetime.now(UTC),
            "storage": root.store.params,
            "documents": n_old + len(docs), "tokens": old.tokens + int(sum(len(t) for t in tokens)),
            "corpus_sha256": checksum})
        return _finish(root, collection, manifest, True)
