import json

import pytest

from agents.tools.retrieval import retrieval_tools
from matlas.settings import Settings
from retrieval.service import SearchService


@pytest.fixture(scope="module")
def search_documents(built_index, encoder):
    settings = Settings(index_root=built_index.parent, default_index="mini")
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)  # reuse the session's encoder
    (tool,) = retrieval_tools(service, settings.default_index)
    return tool


@pytest.mark.slow
def test_search_cites_document_ids(search_documents, docs):
    out = json.loads(search_documents.invoke({"query": "ferromagnetic iron", "k": 3}))
    assert out["index"] == "mini" and out["returned"] == 3
    top = out["results"][0]
    source = next(d for d in docs if d.id == top["id"])
    assert top["id"] == "fe" and top["title"] == source.title
    assert source.text.startswith(top["text"].removesuffix(" ..."))
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.slow
def test_unknown_index_and_bad_arguments(search_documents):
    assert search_documents.invoke({"query": "iron", "index": "nope"}) == (
        "search_documents: no index named 'nope'; available indexes: ['mini']")
    assert "index: String should match pattern" in search_documents.invoke({"query": "iron", "index": "../etc"})
    assert "k: Input should be less than or equal to 20" in search_documents.invoke({"query": "iron", "k": 100})
