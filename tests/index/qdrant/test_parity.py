"""Qdrant answers as FAISS does: same documents in every mode on the same corpus and vectors, MUVERA's
top-10 identical for the same candidate count (fewer than the documents) with MaxSim scores equal to 1e-5.

The oracle is the FAISS backend (``retrieval.search.Searcher``, itself checked against brute-force
MaxSim in tests/retrieval), which shares nothing with the Qdrant path but the encoder and the FDE.
"""

import numpy as np
import pytest

from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from index.qdrant import open_index
from index.qdrant import publish_encoded as publish_qdrant
from index.reader import open_index as open_faiss
from retrieval.corpus import Document
from retrieval.fde import FDEParams
from retrieval.qdrant_search import QdrantSearcher
from retrieval.search import Searcher


@pytest.fixture
def pair(store, docs, encoded, encoder, faiss_mini):
    publish_qdrant(docs, *encoded, store.root("mini"), EncoderInfo.of(encoder))
    return Searcher(open_faiss(faiss_mini), encoder), QdrantSearcher(open_index(store.root("mini")), encoder)


def _queries(docs, queries_path):
    import json

    return [json.loads(line)["text"] for line in queries_path.read_text().splitlines()] + [d.title for d in docs]


@pytest.mark.parametrize("mode", ["muvera", "dense", "exact", "hybrid"])
def test_every_mode_returns_the_documents_faiss_returns(pair, docs, corpus_path, mode):
    faiss_searcher, qdrant_searcher = pair
    queries = _queries(docs, corpus_path.parent / "queries.jsonl")
    expected = faiss_searcher.rank_batch(queries, 10, mode=mode, candidates=6)
    got = qdrant_searcher.rank_batch(queries, 10, mode=mode, candidates=6)
    for query, (e_scores, e_ids), (g_scores, g_ids) in zip(queries, expected, got):
        assert g_ids.tolist() == e_ids.tolist(), query
        np.testing.assert_allclose(g_scores, e_scores, atol=1e-5, err_msg=query)


def test_hits_carry_the_documents(pair, docs):
    faiss_searcher, qdrant_searcher = pair
    got, expected = (s.search("blue LED semiconductor", 3) for s in (qdrant_searcher, faiss_searcher))
    assert [h.model_copy(update={"score": 0.0}) for h in got] == [h.model_copy(update={"score": 0.0}) for h in expected]
    np.testing.assert_allclose([h.score for h in got], [h.score for h in expected], atol=1e-5)  # float32 sums
    assert [d.id for d in qdrant_searcher.index.documents] == [d.id for d in docs]


def test_muvera_on_a_corpus_larger_than_the_candidates(store, tmp_path):
    """300 synthetic documents, 25 candidates: the FDE stage decides which documents MaxSim sees."""
    rng = np.random.default_rng(11)
    dim, n = 16, 300
    docs = [Document(_id=f"d{i}", text=f"document {i}") for i in range(n)]
    tokens = [rng.standard_normal((int(m), dim)).astype(np.float32) for m in rng.integers(2, 12, n)]
    tokens = [t / np.linalg.norm(t, axis=1, keepdims=True) for t in tokens]
    pooled = np.stack([t.mean(0) for t in tokens])
    params = BuildParams(fde=FDEParams(num_repetitions=4, num_simhash_projections=3, projection_dimension=8, seed=3))
    info = EncoderInfo(model_id="synthetic", dim=dim, max_length=32)
    publish_encoded(docs, tokens, pooled, tmp_path / "syn", info, params)
    publish_qdrant(docs, tokens, pooled, store.root("syn"), info, params)
    faiss_searcher = Searcher(open_faiss(tmp_path / "syn"), None)
    qdrant_searcher = QdrantSearcher(open_index(store.root("syn")), None)
    queries = [q / np.linalg.norm(q, axis=1, keepdims=True) for q in (rng.standard_normal((5, dim)) for _ in range(12))]
    expected = faiss_searcher.rank_multivectors(queries, 10, 25)
    got = qdrant_searcher.rank_multivectors(queries, 10, 25)
    exact = faiss_searcher._exact(queries, 10)
    assert any(e[1].tolist() != x[1].tolist() for e, x in zip(expected, exact))  # the candidate stage matters here
    for (e_scores, e_ids), (g_scores, g_ids) in zip(expected, got):
        assert g_ids.tolist() == e_ids.tolist()
        np.testing.assert_allclose(g_scores, e_scores, atol=1e-5)
