"""``index/build.py``: what a published version holds, checked against the inputs, and atomic failure."""

import hashlib

import faiss
import numpy as np
import pytest

from index.build import BuildParams, publish_encoded
from index.faiss_index import read_index
from index.manifest import EncoderInfo, IndexManifest
from index.versions import IndexRoot
from matlas.errors import InvalidInput
from retrieval.corpus import Document
from retrieval.fde import FDEParams

DIM = 8
RNG = np.random.default_rng(5)
DOCS = [Document(_id=f"d{i}", title=f"doc {i}", text=f"words of document {i}") for i in range(12)]
TOKENS = [RNG.standard_normal((n, DIM)).astype(np.float32) for n in RNG.integers(1, 7, len(DOCS))]
POOLED = RNG.standard_normal((len(DOCS), DIM)).astype(np.float32)
ENCODER = EncoderInfo(model_id="synthetic", dim=DIM, max_length=16)
FDE = FDEParams(num_repetitions=2, num_simhash_projections=3, projection_dimension=4, seed=7)


def test_a_version_holds_every_document_its_tokens_and_vectors(tmp_path):
    manifest = publish_encoded(DOCS, TOKENS, POOLED, tmp_path / "idx", ENCODER, BuildParams(fde=FDE))
    root = IndexRoot(tmp_path / "idx")
    assert root.versions() == [manifest.version] == [root.current()]
    assert IndexManifest.read(root.current_path()) == manifest
    assert manifest.documents == len(DOCS) and manifest.tokens == sum(len(t) for t in TOKENS)
    assert manifest.fde_dim == 2 * 2**3 * 4  # repetitions x 2^k_sim partitions x projection dimension
    digest = hashlib.sha256(b"")
    for doc in DOCS:
        digest.update(doc.model_dump_json(by_alias=True).encode() + b"\n")
    assert manifest.corpus_sha256 == digest.hexdigest()
    dense = read_index(root.current_path() / "dense.faiss")
    np.testing.assert_array_equal(faiss.rev_swig_ptr(dense.get_xb(), dense.ntotal * DIM).reshape(-1, DIM), POOLED)
    assert read_index(root.current_path() / "fde.faiss").ntotal == len(DOCS)
    assert (root.current_path() / "bm25").exists()


def test_lean_builds_write_neither_dense_nor_bm25(tmp_path):
    manifest = publish_encoded(DOCS, TOKENS, POOLED, tmp_path / "lean", ENCODER,
                               BuildParams(fde=FDE, dense=False, bm25=False))
    path = IndexRoot(tmp_path / "lean").current_path()
    assert not manifest.dense and not manifest.bm25
    assert not (path / "dense.faiss").exists() and not (path / "bm25").exists()


def test_a_failed_build_publishes_nothing_and_leaves_no_partial_version(tmp_path):
    root = IndexRoot(tmp_path / "idx")
    with pytest.raises(InvalidInput, match="needs at least 256 training vectors"):
        publish_encoded(DOCS, TOKENS, POOLED, root.path, ENCODER, BuildParams(fde=FDE, factory="IVF4,PQ4"))
    assert not root.exists() and root.versions() == []
    assert list(root.versions_dir.glob(".tmp-*")) == []


def test_inputs_must_pair_up(tmp_path):
    with pytest.raises(InvalidInput, match="12 documents, 11 multi-vectors, 12 pooled vectors"):
        publish_encoded(DOCS, TOKENS[:-1], POOLED, tmp_path / "idx", ENCODER)
    with pytest.raises(InvalidInput, match="0 documents"):
        publish_encoded([], [], POOLED[:0], tmp_path / "idx", ENCODER)
