"""Rebuild an index from its corpus without ever serving a broken version.

``rebuild_index`` takes the index's rebuild lock (Redis with a TTL, or an ``flock`` when no Redis
is configured; a rebuild already running makes this one ``skipped``), builds the corpus into a
staging root ``NAME/.staging/NAME`` with the serving version's encoder and parameters, validates it
(document counts; sanity queries must find their own document) and only then moves it into the
index as the next version and flips ``CURRENT``. A rejected or crashed build leaves the serving
version untouched; the staging root is wiped by the next rebuild. The newest
``config.keep_versions`` versions are kept for ``matlas index rollback``.

On Qdrant (an index already there, or a new one with ``config.backend == "qdrant"``) the same steps
run on collections: the new version is uploaded as a pending collection, validated, then the alias
moves; a rejected version's collection is dropped, and retention drops old collections.

The corpus is the one recorded in ``NAME/CORPUS`` (written by a rebuild given ``corpus``), else the
bundled materials corpus for the index named ``materials`` (``retrieval.materials_corpus.bundled_corpus``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import redis
from pydantic import BaseModel, ConfigDict, Field

from index.backends import IndexBackends, is_qdrant
from index.build import BuildParams, build_index
from index.manifest import IndexManifest
from index.reader import IndexVersion, open_index
from index.versions import IndexRoot
from matlas.errors import InvalidInput
from retrieval.corpus import MATERIALS_INDEX, Document, bundled_corpus, load_corpus
from retrieval.encoder import MultiVectorEncoder
from retrieval.search import Searcher
from workers.locks import file_lease, redis_lease

if TYPE_CHECKING:
    from index.qdrant import QdrantRoot, QdrantStore, QdrantVersion

__all__ = ["RebuildConfig", "RebuildReport", "corpus_source", "rebuild_index", "rebuild_lock", "validate_version"]

log = logging.getLogger(__name__)

_CORPUS_FILE = "CORPUS"
_PROBES = 3  # documents queried with their own text to validate a build
_PROBE_K = 3  # ... each must come back within this many hits


class RebuildConfig(BaseModel):
    """What rebuilds need to know (``matlas.wiring.rebuild_config`` makes it from the settings)."""

    model_config = ConfigDict(frozen=True)

    indexes_dir: Path = Field(description="Directory of named indexes.")
    encoder_model: str = Field(description="Encoder of an index built for the first time (later: the manifest's).")
    build: BuildParams = Field(description="Build parameters of an index built for the first time.")
    backend: Literal["faiss", "qdrant"] = Field("faiss", description="Backend of an index built for the first time.")
    keep_versions: int = Field(5, ge=1, description="Newest versions kept for rollback.")
    redis_url: str | None = Field(None, description="Redis of the rebuild locks; None: file locks.")
    lock_ttl_s: float = Field(60.0, gt=0, description="TTL of a Redis lock, renewed while the rebuild runs.")


class RebuildReport(BaseModel):
    """What one rebuild did."""

    index: str
    status: Literal["published", "skipped", "rejected"] = Field(
        description="published: serving the new version; skipped: another rebuild holds the lock; "
        "rejected: the new version failed validation and was discarded."
    )
    version: str | None = Field(description="Version serving afterwards (None if the index has none).")
    previous: str | None = Field(None, description="Version serving before.")
    documents: int = Field(0, description="Documents in the corpus read.")
    problems: list[str] = Field(default_factory=list, description="Validation failures (rejected only).")
    removed: list[str] = Field(default_factory=list, description="Old versions deleted by retention.")
    seconds: float = Field(0.0, description="Wall time of the rebuild.")


def rebuild_lock(config: RebuildConfig, name: str) -> contextlib.AbstractContextManager[bool]:
    """The lock of index ``name``'s rebuilds: Redis when ``config.redis_url`` is set, else a file."""
    if config.redis_url:
        client = redis.Redis.from_url(config.redis_url, socket_connect_timeout=5)
        return redis_lease(client, f"matlas:lock:rebuild:{name}", config.lock_ttl_s)
    return file_lease(config.indexes_dir / name / ".rebuild.lock")


def validate_version(version: IndexVersion | QdrantVersion, docs: Sequence[Document],
                     encoder: MultiVectorEncoder) -> list[str]:
    """Problems of a built ``version`` of ``docs`` (FAISS or Qdrant; empty if sound): document counts, and a
    few documents queried with their own text must come back in the top hits (or a duplicate of them)."""
    if isinstance(version, IndexVersion):
        counts = {"manifest": version.manifest.documents, "FAISS": version.fde_index.ntotal,
                  "document store": len(version.documents)}
        searcher = Searcher(version, encoder)
    else:
        from retrieval.qdrant_search import QdrantSearcher

        counts = {"manifest": version.manifest.documents, "Qdrant": version.points()}
        searcher = QdrantSearcher(version, encoder)
    problems = [f"{what} holds {n} documents, the corpus {len(docs)}" for what, n in counts.items() if n != len(docs)]
    for position in sorted({int(p) for p in np.linspace(0, len(docs) - 1, _PROBES)}):
        doc = docs[position]
        hits = searcher.search(doc.content, _PROBE_K)
        if not any(hit.id == doc.id or (hit.title, hit.text) == (doc.title, doc.text) for hit in hits):
            problems.append(f"querying document {doc.id!r} with its own text returned {[h.id for h in hits]}")
    return problems


def rebuild_index(
    config: RebuildConfig,
    name: str,
    *,
    load_encoder: Callable[[str], MultiVectorEncoder],
    corpus: Path | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    qdrant: QdrantStore | None = None,
) -> RebuildReport:
    """Rebuild index ``name`` from its corpus (``corpus`` replaces the recorded one) and serve it if valid.

    ``load_encoder(model_id)`` supplies encoders (a worker's loaded ones); ``on_stage`` hears
    ``building``, ``validating`` and ``publishing``; ``qdrant`` is the Qdrant of the deployment, if any.
    """
    start = time.perf_counter()
    root = IndexBackends(config.indexes_dir, qdrant, default=config.backend).locate(name, must_exist=False)
    if is_qdrant(root):
        return _rebuild_qdrant(config, root, load_encoder, corpus, on_stage, start)
    with rebuild_lock(config, root.name) as held:
        previous = root.current() if root.exists() else None
        if not held:
            return _skipped(root.name, previous)
        docs = _read_corpus(root, corpus)
        model_id, params = _build_setup(root, config)
        encoder = load_encoder(model_id)
        with _staging(root) as staging:
            on_stage("building")
            build_index(docs, staging.path, encoder, params, progress=False)
            on_stage("validating")
            problems = validate_version(open_index(staging.path), docs, encoder)
            if problems:
                log.warning("rebuild of %s rejected: %s", root.name, "; ".join(problems))
                return RebuildReport(index=root.name, status="rejected", version=previous, previous=previous,
                                     documents=len(docs), problems=problems, seconds=time.perf_counter() - start)
            on_stage("publishing")
            version = _adopt(staging.current_path(), root)
        if corpus is not None:
            _record_corpus(root, corpus)
        removed = _prune(root, config.keep_versions)
    log.info("rebuild of %s published %s (%d documents)", root.name, version, len(docs))
    return RebuildReport(index=root.name, status="published", version=version, previous=previous,
                         documents=len(docs), removed=removed, seconds=time.perf_counter() - start)


def _skipped(name: str, previous: str | None) -> RebuildReport:
    """What a rebuild reports when another rebuild of ``name`` holds its lock (on either backend)."""
    log.info("rebuild of %s skipped: another rebuild holds its lock", name)
    return RebuildReport(index=name, status="skipped", version=previous, previous=previous)


def _rebuild_qdrant(config: RebuildConfig, root: QdrantRoot, load_encoder: Callable[[str], MultiVectorEncoder],
                    corpus: Path | None, on_stage: Callable[[str], None], start: float) -> RebuildReport:
    """``rebuild_index`` for an index on Qdrant: a pending collection, validated, then the alias moves."""
    from index.qdrant import build_index as build_qdrant
    from index.qdrant import open_index as open_qdrant

    home = IndexRoot(config.indexes_dir / root.name)  # the lock and the recorded corpus
    with rebuild_lock(config, root.name) as held:
        previous = root.current() if root.exists() else None
        if not held:
            return _skipped(root.name, previous)
        docs = _read_corpus(home, corpus)
        if previous is None:
            model_id, params = config.encoder_model, config.build
        else:
            m = root.manifest()
            model_id, params = m.encoder.model_id, BuildParams(fde=m.fde, dense=m.dense, bm25=m.bm25)
        encoder = load_encoder(model_id)
        on_stage("building")
        manifest = build_qdrant(docs, root, encoder, params, progress=False, publish=False)
        on_stage("validating")
        problems = validate_version(open_qdrant(root, manifest.version), docs, encoder)
        if problems:
            log.warning("rebuild of %s rejected: %s", root.name, "; ".join(problems))
            root.drop(manifest.version)
            return RebuildReport(index=root.name, status="rejected", version=previous, previous=previous,
                                 documents=len(docs), problems=problems, seconds=time.perf_counter() - start)
        on_stage("publishing")
        root.publish(manifest.version)
        if corpus is not None:
            _record_corpus(home, corpus)
        removed = root.prune(config.keep_versions)
    log.info("rebuild of %s published %s on Qdrant (%d documents)", root.name, manifest.version, len(docs))
    return RebuildReport(index=root.name, status="published", version=manifest.version, previous=previous,
                         documents=len(docs), removed=removed, seconds=time.perf_counter() - start)


def corpus_source(root: IndexRoot, corpus: Path | None = None) -> Path | None:
    """The corpus file a rebuild of ``root`` reads: ``corpus``, else the recorded one; None: the built-in one."""
    recorded = root.path / _CORPUS_FILE
    if corpus is None and recorded.is_file():
        corpus = Path(recorded.read_text().strip())
    if corpus is None and root.name != MATERIALS_INDEX:
        raise InvalidInput(f"index {root.name!r} has no recorded corpus; rebuild it once with a corpus.jsonl path")
    if corpus is not None and not corpus.is_file():
        raise InvalidInput(f"corpus file not found: {corpus}")
    return corpus


def _read_corpus(root: IndexRoot, corpus: Path | None) -> list[Document]:
    source = corpus_source(root, corpus)
    return load_corpus(source) if source is not None else bundled_corpus(root.name)


def _record_corpus(root: IndexRoot, corpus: Path) -> None:
    root.path.mkdir(parents=True, exist_ok=True)
    tmp = root.path / f".{_CORPUS_FILE}.tmp"
    tmp.write_text(f"{Path(corpus).resolve()}\n")
    os.replace(tmp, root.path / _CORPUS_FILE)


def _build_setup(root: IndexRoot, config: RebuildConfig) -> tuple[str, BuildParams]:
    """The serving version's encoder and build parameters (so queries keep working), else the config's."""
    if not root.exists():
        return config.encoder_model, config.build
    m = IndexManifest.read(root.current_path())
    return m.encoder.model_id, BuildParams(fde=m.fde, factory=m.factory, dense=m.dense, bm25=m.bm25)


@contextlib.contextmanager
def _staging(root: IndexRoot) -> Iterator[IndexRoot]:
    """A fresh private root to build in (same file system as ``root``), removed afterwards."""
    base = root.path / ".staging"
    shutil.rmtree(base, ignore_errors=True)  # left by a rebuild that crashed
    try:
        yield IndexRoot(base / root.name)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _adopt(staged: Path, root: IndexRoot) -> str:
    """Move the validated version in ``staged`` into ``root`` as its next version and serve it."""
    with root.new_version() as (tmp, version):
        for item in staged.iterdir():
            os.rename(item, tmp / item.name)
        IndexManifest.read(tmp).model_copy(update={"version": version}).write(tmp)
    return version


def _prune(root: IndexRoot, keep: int) -> list[str]:
    """Delete all but the newest ``keep`` versions (never the serving one)."""
    current = root.current()
    removed = [v for v in root.versions()[:-keep] if v != current]
    for version in removed:
        shutil.rmtree(root.versions_dir / version)
    return removed
