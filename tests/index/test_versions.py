import json

import pytest

from index.build import BuildParams, append_documents, build_index
from index.manifest import IndexManifest
from index.reader import open_index
from index.versions import IndexRoot
from matlas.errors import IndexNotFound, InvalidInput
from retrieval.corpus import Document
from retrieval.search import Searcher


def test_manifest_records_the_build(built_index, docs):
    m = IndexManifest.read(IndexRoot(built_index).current_path())
    assert (m.version, m.documents, m.factory, m.fde_dim) == ("v000001", len(docs), "Flat", 10240)
    assert m.encoder.model_id == "all-MiniLM-L6-v2" and m.encoder.dim == 384
    assert (m.fde.num_repetitions, m.fde.num_simhash_projections, m.fde.projection_dimension, m.fde.seed) == (20, 5, 16, 42)
    assert len(m.corpus_sha256) == 64 and m.tokens > len(docs)
    raw = json.loads((built_index / "versions" / "v000001" / "manifest.json").read_text())
    assert raw["format_version"] == 1


def test_token_vectors_are_float16_memory_maps(built_index):
    index = open_index(built_index)
    first = index.tokens.get([0])[0]
    assert first.dtype.name == "float16" and first.shape[1] == 384
    assert index.manifest.tokens == sum(len(t) for _, ts in index.tokens.iter_all() for t in ts)


def test_failed_build_leaves_serving_version_untouched(index_copy, docs, encoder, monkeypatch):
    before = (index_copy / "CURRENT").read_text()
    import index.build as build_module

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_module, "write_shard", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        build_index(docs[:3], index_copy, encoder, progress=False)
    assert (index_copy / "CURRENT").read_text() == before
    assert IndexRoot(index_copy).versions() == ["v000001"]
    assert not [p for p in (index_copy / "versions").iterdir() if p.name.startswith(".tmp")]
    assert open_index(index_copy).manifest.documents == len(docs)


def test_rebuild_flips_pointer_and_keeps_old_version(index_copy, docs, encoder):
    old_reader = open_index(index_copy)
    manifest = build_index(docs[:4], index_copy, encoder, BuildParams(factory="HNSW16", bm25=False), progress=False)
    root = IndexRoot(index_copy)
    assert manifest.version == root.current() == "v000002"
    assert root.versions() == ["v000001", "v000002"]
    assert open_index(index_copy).manifest.documents == 4
    # a reader opened before the flip keeps answering from its version
    assert old_reader.manifest.documents == len(docs) and len(old_reader.documents) == len(docs)
    root.publish("v000001")  # rollback
    assert open_index(index_copy).manifest.documents == len(docs)


def test_append_adds_documents_without_rebuild(index_copy, encoder, docs):
    new = [Document(id="zno", title="Zinc oxide", text="ZnO is a piezoelectric wide gap oxide used in varistors.")]
    manifest = append_documents(new, index_copy, encoder, progress=False)
    assert (manifest.version, manifest.parent, manifest.documents) == ("v000002", "v000001", len(docs) + 1)
    assert manifest.shards == ["s00000", "s00001"]
    old_shard = index_copy / "versions" / "v000001" / "s00000.tokens.npy"
    assert (index_copy / "versions" / "v000002" / "s00000.tokens.npy").stat().st_ino == old_shard.stat().st_ino
    searcher = Searcher(open_index(index_copy), encoder)
    for mode in ("muvera", "dense", "hybrid", "exact"):
        assert searcher.search("piezoelectric zinc oxide varistor", k=1, mode=mode)[0].id == "zno"
    assert searcher.search("cuprate superconductor", k=1)[0].id == "ybco"
    with pytest.raises(InvalidInput, match="already in the index"):
        append_documents(new, index_copy, encoder, progress=False)


def test_ivf_pq_needs_enough_training_points(tmp_path, docs, encoder):
    with pytest.raises(InvalidInput, match="needs at least 256 training vectors"):
        build_index(docs, tmp_path / "x", encoder, BuildParams(factory="IVF4,PQ8"), progress=False)
    with pytest.raises(InvalidInput, match="invalid FAISS index factory"):
        build_index(docs, tmp_path / "y", encoder, BuildParams(factory="Bogus12"), progress=False)
    assert not IndexRoot(tmp_path / "y").exists()


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(IndexNotFound, match="no index"):
        IndexRoot(tmp_path / "nothing").current()
    with pytest.raises(InvalidInput, match="no version"):
        IndexRoot(tmp_path / "nothing").publish("v000009")


def test_ivf_index_is_trained_and_searchable(tmp_path, docs, encoder):
    manifest = build_index(docs, tmp_path / "ivf", encoder, BuildParams(factory="IVF2,Flat", bm25=False), progress=False)
    assert manifest.factory == "IVF2,Flat"
    searcher = Searcher(open_index(tmp_path / "ivf"), encoder)
    assert searcher.search("high temperature cuprate superconductor", k=1, candidates=16)[0].id == "ybco"


def test_hybrid_fuses_what_the_index_has(tmp_path, docs, encoder):
    build_index(docs, tmp_path / "lean", encoder, BuildParams(dense=False, bm25=False), progress=False)
    searcher = Searcher(open_index(tmp_path / "lean"), encoder)
    assert searcher.search("cuprate superconductor", k=1, mode="hybrid")[0].id == "ybco"
    with pytest.raises(InvalidInput, match="without a dense index"):
        searcher.search("magnet", mode="dense")
