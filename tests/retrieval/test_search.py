import numpy as np
import pytest

from index.reader import open_index
from matlas.errors import InvalidInput
from retrieval.maxsim import maxsim_scores
from retrieval.search import Searcher


@pytest.fixture(scope="module")
def searcher(built_index, encoder):
    return Searcher(open_index(built_index), encoder)


def test_muvera_rerank_equals_exact_oracle_on_its_candidates(searcher, encoder):
    query = "cathode material for lithium ion batteries"
    hits = searcher.search(query, k=5, candidates=8)
    q = encoder.encode_query([query])[0]
    # re-score the same candidates by brute force from the stored vectors
    _, cand = searcher.index.fde_index.search(searcher.fde.encode_queries([q]), 8)
    cand = cand[0][cand[0] >= 0]
    oracle = maxsim_scores(q, [searcher.index.tokens.get([c])[0].astype(np.float32) for c in cand])
    order = np.argsort(-oracle, kind="stable")[:5]
    ids = [d.id for d in searcher.index.documents.get(cand[order])]
    assert [h.id for h in hits] == ids
    np.testing.assert_allclose([h.score for h in hits], oracle[order], rtol=1e-4)


def test_all_candidates_reproduce_exact_mode(searcher):
    query = "ferromagnetic metal with a magnetic moment"
    n = searcher.index.manifest.documents
    muvera = searcher.search(query, k=5, candidates=n)
    exact = searcher.search(query, k=5, mode="exact")
    assert [h.id for h in muvera] == [h.id for h in exact]
    assert exact[0].id == "fe"


@pytest.mark.parametrize("mode", ["muvera", "dense", "exact", "hybrid"])
def test_every_mode_finds_the_obvious_document(searcher, mode):
    hits = searcher.search("high temperature cuprate superconductor", k=3, mode=mode)
    assert hits[0].id == "ybco"
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].title == "YBCO" and "superconductor" in hits[0].text


def test_batch_equals_single(searcher):
    queries = ["wide band gap semiconductor", "layered 2D material"]
    batch = [searcher.hits(*ranked) for ranked in searcher.rank_batch(queries, k=4)]
    assert [[h.id for h in hits] for hits in batch] == [[h.id for h in searcher.search(q, k=4)] for q in queries]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"query": "   "}, "non-empty"),
        ({"query": "x", "k": 0}, "k must be"),
        ({"query": "x", "k": 5000}, "k must be"),
        ({"query": "x", "mode": "fuzzy"}, "unknown mode"),
    ],
)
def test_bad_requests(searcher, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        searcher.search(**kwargs)
