"""``retrieval.metrics.evaluate`` against ``ir-measures`` (trec_eval through pytrec_eval, what BEIR reports).

Runs are real: BM25 over the ~430 default materials documents, MUVERA/dense/hybrid over the fixture
index, BM25 over SciFact when ``../shared`` is present. Judgments are graded (0-3) where the data
has none, so nDCG's gain convention is checked; some relevant documents are never retrieved and
some judged queries are missing from the run (they score 0, as in BEIR).
"""

from __future__ import annotations

import ir_measures
import numpy as np
import pytest
from ir_measures import RR, R, nDCG

from retrieval.bm25 import BM25Index
from retrieval.metrics import evaluate

MEASURES = {"ndcg@10": nDCG @ 10, "recall@100": R @ 100, "mrr@10": RR @ 10}


def reference(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Means over queries with a relevant judgment; a query missing from the run scores 0."""
    scored = {q: {d: float(len(ids) - i) for i, d in enumerate(ids)} for q, ids in run.items() if ids}
    per_query: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc(list(MEASURES.values()), qrels, scored):
        per_query.setdefault(m.query_id, {})[str(m.measure)] = m.value
    judged = [q for q, rels in qrels.items() if any(v > 0 for v in rels.values())]
    return {name: sum(per_query.get(q, {}).get(str(measure), 0.0) for q in judged) / len(judged)
            for name, measure in MEASURES.items()} | {"queries": len(judged)}


def assert_same(run, qrels):
    ours, theirs = evaluate(run, qrels), reference(run, qrels)
    assert ours["queries"] == theirs["queries"]
    for name in MEASURES:
        assert ours[name] == pytest.approx(theirs[name], abs=1e-9), name
    return ours


QUERIES = ["perovskite oxide", "rock salt sodium chloride", "wurtzite semiconductor", "hexagonal close packed metal",
           "noble gas", "octahedral coordination", "spinel", "fluorite structure", "body-centred cubic",
           "lanthanide", "space group Fm-3m", "diamond cubic", "halogen", "trigonal", "zinc blende", "alkali metal"]


@pytest.fixture(scope="module")
def bm25_run(materials_docs) -> dict[str, list[str]]:
    index = BM25Index.build([d.content for d in materials_docs])
    return {f"q{i}": [materials_docs[j].id for j in index.search(q, 150)[1]] for i, q in enumerate(QUERIES)}


def graded_qrels(run, docs, seed: int) -> dict[str, dict[str, int]]:
    """Grades 0-3 for some retrieved and some never-retrieved documents; one query with no relevant one."""
    rng = np.random.default_rng(seed)
    all_ids = [d.id for d in docs]
    qrels = {}
    for q, ids in run.items():
        judged = list(rng.choice(ids[:30], min(8, len(ids[:30])), replace=False)) if ids else []
        judged += list(rng.choice(all_ids, 3, replace=False))
        qrels[q] = {str(d): int(rng.integers(0, 4)) for d in judged}
    qrels["q0"] = dict.fromkeys(qrels["q0"], 0)  # judged, nothing relevant: not counted
    qrels["unretrieved"] = {all_ids[0]: 2, all_ids[1]: 1}  # not in the run: scores 0
    return qrels


@pytest.mark.parametrize("seed", range(5))
def test_graded_judgments_of_a_bm25_run_equal_trec_eval(bm25_run, materials_docs, seed):
    ours = assert_same(bm25_run, graded_qrels(bm25_run, materials_docs, seed))
    assert 0 < ours["ndcg@10"] < 1 and 0 < ours["recall@100"] < 1 and 0 < ours["mrr@10"] <= 1


def test_cut_offs_are_applied(bm25_run, materials_docs):
    """Relevant documents only at ranks 11-100, or only past 100: nDCG@10 and MRR@10 are 0, recall counts."""
    run = {q: ids for q, ids in bm25_run.items() if len(ids) > 120}
    assert len(run) >= 3
    qrels = {q: {ids[10]: 1, ids[99]: 2, ids[110]: 3} for q, ids in run.items()}
    ours = assert_same(run, qrels)
    assert (ours["ndcg@10"], ours["mrr@10"]) == (0.0, 0.0) and ours["recall@100"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("mode", ["muvera", "dense", "hybrid"])
def test_fixture_index_runs_equal_trec_eval(built_index, encoder, mode):
    from index.reader import open_index
    from retrieval.corpus import load_qrels, load_queries
    from retrieval.search import Searcher
    from tests.conftest import FIXTURES

    searcher = Searcher(open_index(built_index), encoder)
    queries = load_queries(FIXTURES / "queries.jsonl")
    qrels = load_qrels(FIXTURES / "qrels.tsv")
    ranked = searcher.rank_batch([q.text for q in queries], k=16, mode=mode)
    run = {q.id: [d.id for d in searcher.index.documents.get(ids)] for q, (_, ids) in zip(queries, ranked)}
    graded = {q: {d: r + (i % 2) for i, (d, r) in enumerate(rels.items())} for q, rels in qrels.items()}
    for judgments in (qrels, graded):
        ours = assert_same(run, judgments)
        assert ours["ndcg@10"] > 0.5


@pytest.mark.data
@pytest.mark.slow
def test_scifact_bm25_run_equals_trec_eval(shared_data):
    from retrieval.corpus import load_corpus, load_qrels, load_queries

    root = shared_data / "beir" / "scifact"
    docs = load_corpus(root / "corpus.jsonl")
    qrels = load_qrels(next((root / "qrels").glob("*.tsv")))
    queries = [q for q in load_queries(root / "queries.jsonl") if q.id in qrels]
    index = BM25Index.build([d.content for d in docs])
    run = {q.id: [docs[j].id for j in index.search(q.text, 100)[1]] for q in queries}
    ours = assert_same(run, qrels)
    assert ours["queries"] == len(qrels) and ours["ndcg@10"] > 0.5


def test_binary_judgments_of_a_bm25_run_equal_trec_eval(bm25_run):
    """Relevance 1 only (SciFact's kind of qrels): every judged query counts."""
    qrels = {q: {ids[i]: 1 for i in (0, 3, 40) if i < len(ids)} | {"never-retrieved": 1} for q, ids in bm25_run.items()}
    ours = assert_same(bm25_run, qrels)
    assert ours["queries"] == len(qrels)


def test_qrels_without_a_relevant_document_are_an_error():
    with pytest.raises(ValueError, match=r"^qrels hold no relevant documents$"):
        evaluate({"q": ["a"]}, {"q": {"a": 0}, "r": {}})
