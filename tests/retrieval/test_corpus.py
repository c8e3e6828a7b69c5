import pytest

from matlas.errors import InvalidInput
from retrieval.corpus import Document, chain_checksum, load_corpus, load_qrels, load_queries


def test_loads_beir_files(corpus_path):
    docs = load_corpus(corpus_path)
    assert len(docs) == 16 and docs[0].id == "gan" and docs[0].title == "Gallium nitride"
    assert load_queries(corpus_path.parent / "queries.jsonl")[0].id == "q1"
    assert load_qrels(corpus_path.parent / "qrels.tsv")["q1"] == {"lfp": 1, "lco": 1}


@pytest.mark.parametrize(
    "content,match",
    [
        ('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', "duplicate"),
        ('{"_id": "a", "text": "x"}\nnot json\n', ":2: not valid JSON"),
        ('{"title": "no id"}\n', "id"),
        ('{"_id": "a", "title": "", "text": ""}\n', "neither title nor text"),
        ("", "empty"),
    ],
)
def test_bad_corpus_lines_name_the_line(tmp_path, content, match):
    path = tmp_path / "corpus.jsonl"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=match):
        load_corpus(path)


def test_bad_qrels_header(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("q\td\t1\n")
    with pytest.raises(InvalidInput, match="header"):
        load_qrels(path)


def test_numeric_ids_and_checksum_chain():
    a, b = Document(_id=1, text="x"), Document(id="2", text="y")
    assert a.id == "1"
    assert chain_checksum(chain_checksum("", [a]), [b]) != chain_checksum("", [a, b])
    assert chain_checksum("", [a, b]) == chain_checksum("", [a, b])
