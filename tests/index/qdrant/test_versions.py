"""Versions on Qdrant as on disk: a collection per version behind an alias that moves atomically;
killed builds, resumed uploads, rollback, append, retention, and alias flips under concurrent queries."""

import threading

import numpy as np
import pytest

from index.build import append_documents as append_faiss
from index.manifest import EncoderInfo
from index.qdrant import append_documents, open_index, publish_encoded
from index.qdrant.manifest import MANIFEST_KEY
from index.reader import open_index as open_faiss
from matlas.errors import InvalidInput
from retrieval.catalog import IndexCatalog
from retrieval.corpus import Document
from retrieval.encoder_cache import EncoderCache
from retrieval.qdrant_search import QdrantSearcher
from retrieval.search import Searcher
from retrieval.service import SearchService


def _publish(store, docs, encoded, encoder, name="mini"):
    tokens, pooled = encoded
    return publish_encoded(docs, tokens, pooled, store.root(name), EncoderInfo.of(encoder))


def _ids(store, name="mini", version=None):
    return [d.id for d in open_index(store.root(name), version).documents]


def test_publish_serves_the_new_version_and_rollback_the_old(store, docs, encoded, encoder):
    root = store.root("mini")
    first = _publish(store, docs[:10], (encoded[0][:10], encoded[1][:10]), encoder)
    second = _publish(store, docs, encoded, encoder)
    assert (first.version, second.version) == ("v000001", "v000002")
    assert root.versions() == ["v000001", "v000002"] and root.current() == "v000002"
    aliases = {a.alias_name: a.collection_name for a in store.client.get_aliases().aliases}
    assert aliases == {"matlas__mini": "matlas__mini__v000002"}
    assert root.manifest() == second and second.corpus_sha256 != first.corpus_sha256
    root.publish("v000001")
    assert root.current() == "v000001" and _ids(store) == [d.id for d in docs[:10]]
    with pytest.raises(InvalidInput, match="no version 'v000009'"):
        root.publish("v000009")


def test_a_killed_upload_leaves_the_alias_and_a_rerun_finishes_it(store, docs, encoded, encoder, monkeypatch):
    root = store.root("mini")
    _publish(store, docs[:10], (encoded[0][:10], encoded[1][:10]), encoder)
    real_upsert, calls = store.client.upsert, []

    def dies_on_the_third_batch(*args, **kwargs):
        calls.append(kwargs["points"][0].id)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process is killed mid-upload: nothing of ours runs after this
        return real_upsert(*args, **kwargs)

    monkeypatch.setattr(store.client, "upsert", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        _publish(store, docs, encoded, encoder)
    assert root.current() == "v000001" and root.versions() == ["v000001"]
    assert _ids(store) == [d.id for d in docs[:10]]
    pending = store.client.get_collection("matlas__mini__v000002")
    assert MANIFEST_KEY not in pending.config.metadata and pending.points_count == 8  # two batches of 4

    calls.clear()
    monkeypatch.setattr(store.client, "upsert", lambda *a, **k: (calls.append(k["points"][0].id), real_upsert(*a, **k)))
    manifest = _publish(store, docs, encoded, encoder)  # the same build again: resumes v000002
    assert manifest.version == "v000002" and calls == [8, 12]  # only the batches that were missing
    assert root.current() == "v000002" and _ids(store) == [d.id for d in docs]


def test_another_build_drops_a_dead_pending_version(store, docs, encoded, encoder, monkeypatch):
    root = store.root("mini")
    _publish(store, docs[:10], (encoded[0][:10], encoded[1][:10]), encoder)
    real_upsert = store.client.upsert
    monkeypatch.setattr(store.client, "upsert", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        _publish(store, docs, encoded, encoder)
    monkeypatch.setattr(store.client, "upsert", real_upsert)
    other = _publish(store, docs[:12], (encoded[0][:12], encoded[1][:12]), encoder)  # a different build
    names = sorted(c.name for c in store.client.get_collections().collections)
    assert other.version == "v000003" and names == ["matlas__mini__v000001", "matlas__mini__v000003"]
    assert root.versions() == ["v000001", "v000003"]


def test_retention_keeps_the_newest_and_never_the_serving_one(store, docs, encoded, encoder):
    root = store.root("mini")
    for n in (6, 8, 10):
        _publish(store, docs[:n], (encoded[0][:n], encoded[1][:n]), encoder)
    root.publish("v000001")
    assert root.prune(keep=1) == ["v000002"]
    assert root.versions() == ["v000001", "v000003"] and root.current() == "v000001"


NEW = [Document(_id="nb3sn", title="Niobium tin", text="Nb3Sn is an A15 superconductor used in high-field magnets."),
       Document(_id="mapbi3", title="Methylammonium lead iodide", text="A hybrid perovskite absorber for solar cells.")]


@pytest.mark.parametrize("mode", ["muvera", "dense", "exact", "hybrid"])
def test_append_matches_a_faiss_append(store, docs, encoded, encoder, faiss_mini, tmp_path, mode):
    import shutil

    shutil.copytree(faiss_mini, tmp_path / "mini")
    _publish(store, docs, encoded, encoder)
    grown = append_documents(NEW, store.root("mini"), encoder, progress=False)
    append_faiss(NEW, tmp_path / "mini", encoder, progress=False)
    assert grown.version == "v000002" and grown.parent == "v000001" and grown.documents == len(docs) + 2
    assert _ids(store) == [d.id for d in [*docs, *NEW]] and _ids(store, version="v000001") == [d.id for d in docs]
    faiss_searcher = Searcher(open_faiss(tmp_path / "mini"), encoder)
    qdrant_searcher = QdrantSearcher(open_index(store.root("mini")), encoder)
    assert grown.corpus_sha256 == faiss_searcher.index.manifest.corpus_sha256
    queries = ["superconducting magnet wire", "perovskite solar absorber", "battery cathode"]
    for (e_scores, e_ids), (g_scores, g_ids) in zip(faiss_searcher.rank_batch(queries, 5, mode=mode, candidates=8),
                                                    qdrant_searcher.rank_batch(queries, 5, mode=mode, candidates=8)):
        assert g_ids.tolist() == e_ids.tolist()
        np.testing.assert_allclose(g_scores, e_scores, atol=1e-5)
    with pytest.raises(InvalidInput, match="already in the index"):
        append_documents(NEW[:1], store.root("mini"), encoder, progress=False)


def test_alias_flips_under_concurrent_queries(store, docs, encoded, encoder, tmp_path):
    """Queries run while the alias flips between two versions of disjoint documents: none fails, and
    every answer holds documents of the one version it reports."""
    tokens, pooled = encoded
    _publish(store, docs[:8], (tokens[:8], pooled[:8]), encoder)
    _publish(store, docs[8:], (tokens[8:], pooled[8:]), encoder)
    members = {"v000001": {d.id for d in docs[:8]}, "v000002": {d.id for d in docs[8:]}}
    service = SearchService(IndexCatalog(tmp_path, qdrant=store), EncoderCache())
    service.encoders.add(encoder)
    root, answers, failures, done = store.root("mini"), [], [], threading.Event()

    def query(i):
        while not done.is_set():
            try:
                searcher = service.searcher("mini")
                hits = searcher.search(["lithium battery", "magnet", "semiconductor"][i % 3], 4, mode="hybrid")
                answers.append((searcher.index.manifest.version, {h.id for h in hits}))
            except Exception as err:  # noqa: BLE001 (any failure is the finding)
                failures.append(repr(err))

    threads = [threading.Thread(target=query, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        for flip in range(30):
            root.publish("v000001" if flip % 2 else "v000002")
            threading.Event().wait(0.02)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures[:3]
    assert {version for version, _ in answers} == {"v000001", "v000002"}
    assert all(ids and ids <= members[version] for version, ids in answers)
