"""BM25 (``retrieval.bm25``) against hand-computed Okapi scores and against ``rank-bm25``.

The index is BM25 with Lucene's idf ``ln(1 + (N - df + 0.5) / (df + 0.5))`` and term weight
``tf / (tf + k1 * (1 - b + b * dl / avgdl))`` (k1 = 1.2, b = 0.75). Lucene drops Robertson's
constant ``(k1 + 1)`` factor, which changes no ranking. Text is lower-cased, split on
``\\w\\w+``, English stopwords removed, then Snowball-stemmed.

Tokenization is the part two BM25 implementations disagree on most, so the ``rank-bm25``
comparison feeds it tokens made here, independently, by the rule above (regex, bm25s' English
stopword list as data, PyStemmer), and gives ``rank-bm25`` the Lucene idf: its default ATIRE idf
with an epsilon floor for terms in more than half the documents is a different ranking function.
"""

from __future__ import annotations

import math
import re
import uuid

import numpy as np
import pytest
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from rank_bm25 import BM25Okapi

from retrieval.bm25 import BM25Index

K1, B = 1.2, 0.75

TOY = ["gold iron gold", "iron zinc", "the tin", "Irons, zinc and zinc: lead"]
# after stopwords and stemming: [gold iron gold] [iron zinc] [tin] [iron zinc zinc lead]
# N = 4, dl = 3, 2, 1, 4, avgdl = 10 / 4 = 2.5


def _okapi(idf: float, tf: int, dl: int, avgdl: float) -> float:
    return idf * tf / (tf + K1 * (1 - B + B * dl / avgdl))


# idf(gold) = ln(1 + 3.5 / 1.5) = 1.2039728; idf(zinc) = ln(1 + 2.5 / 2.5) = ln 2; idf(iron) = ln(1 + 1.5 / 3.5)
HAND = {
    "gold zinc": {0: 1.2039728 * 2 / (2 + 1.2 * 1.15),  # 0.712410
                  3: 0.6931472 * 2 / (2 + 1.2 * 1.45),  # 0.370667
                  1: 0.6931472 * 1 / (1 + 1.2 * 0.85)},  # 0.343142
    "iron": {1: 0.3566749 / (1 + 1.2 * 0.85), 0: 0.3566749 / (1 + 1.2 * 1.15), 3: 0.3566749 / (1 + 1.2 * 1.45)},
    "the irons of lead": {3: 0.3566749 / (1 + 1.2 * 1.45) + math.log(1 + 3.5 / 1.5) / (1 + 1.2 * 1.45),
                          1: 0.3566749 / (1 + 1.2 * 0.85), 0: 0.3566749 / (1 + 1.2 * 1.15)},
}


@pytest.fixture(scope="module")
def toy() -> BM25Index:
    return BM25Index.build(TOY)


@pytest.mark.parametrize("query", list(HAND))
def test_toy_corpus_scores_equal_hand_computed_okapi(toy, query):
    scores, ids = toy.search(query, 10)
    expected = sorted(HAND[query].items(), key=lambda kv: -kv[1])
    assert ids.tolist() == [d for d, _ in expected] and (scores.dtype, ids.dtype) == (np.float32, np.int64)
    np.testing.assert_allclose(scores, [s for _, s in expected], rtol=1e-5)


def test_hand_formula_is_the_one_written_above():
    """The literals of HAND are the Lucene formula (guards the table against typos)."""
    idf = {t: math.log(1 + (4 - df + 0.5) / (df + 0.5)) for t, df in {"gold": 1, "zinc": 2, "iron": 3}.items()}
    assert HAND["gold zinc"][0] == pytest.approx(_okapi(idf["gold"], 2, 3, 2.5), rel=1e-6)
    assert HAND["gold zinc"][3] == pytest.approx(_okapi(idf["zinc"], 2, 4, 2.5), rel=1e-6)
    assert HAND["iron"][1] == pytest.approx(_okapi(idf["iron"], 1, 2, 2.5), rel=1e-6)


def test_documents_without_a_query_term_are_dropped_and_k_is_capped(toy):
    scores, ids = toy.search("tin", 100)
    assert ids.tolist() == [2] and scores[0] == pytest.approx(_okapi(math.log(1 + 3.5 / 1.5), 1, 1, 2.5), rel=1e-5)
    assert toy.num_docs == 4
    assert toy.search("gold zinc", 2)[1].tolist() == [0, 3]


@pytest.mark.parametrize("query", ["the of and", "", "unobtainium", "!!"])
def test_queries_with_no_indexed_term_return_nothing(toy, query):
    scores, ids = toy.search(query, 5)
    assert len(scores) == len(ids) == 0 and (scores.dtype, ids.dtype) == (np.float32, np.int64)


def test_save_and_load_keep_the_scores(tmp_path):
    marker = f"zq{uuid.uuid4().hex[:12]}"  # this index only: a copy left anywhere else cannot stand in for it
    index = BM25Index.build([*TOY, f"{marker} gold"])
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    for query in [*HAND, marker]:
        for a, b in zip(index.search(query, 10), loaded.search(query, 10)):
            np.testing.assert_array_equal(a, b)
    assert loaded.num_docs == 5 and loaded.search(marker, 3)[1].tolist() == [4]


# --- a real corpus: the ~430 default materials documents, against rank-bm25 ---

_STEM = Stemmer.Stemmer("english")
_STOP = set(STOPWORDS_EN)


def tokens(text: str) -> list[str]:
    return _STEM.stemWords([t for t in re.findall(r"(?u)\b\w\w+\b", text.lower()) if t not in _STOP])


class LuceneOkapi(BM25Okapi):
    """rank-bm25's Okapi scorer with Lucene's idf (always positive, no epsilon floor)."""

    def _calc_idf(self, nd):
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


QUERIES = [
    "perovskite oxide with cubic structure", "rock salt structure of sodium chloride", "wurtzite semiconductor",
    "hexagonal close packed metal", "noble gas element", "transition metal with octahedral coordination",
    "lithium iron phosphate olivine", "spinel", "fluorite structure AB2", "body-centred cubic iron",
    "lanthanide element atomic mass", "space group Fm-3m", "diamond cubic silicon", "halogen in group 17",
    "Cinnabar HgS trigonal", "zinc blende sphalerite",
]


@pytest.fixture(scope="module")
def materials(materials_docs):
    texts = [d.content for d in materials_docs]
    return texts, BM25Index.build(texts), LuceneOkapi([tokens(t) for t in texts], k1=K1, b=B)


@pytest.mark.parametrize("query", QUERIES)
def test_real_corpus_matches_rank_bm25(materials, query):
    texts, ours, reference = materials
    assert len(texts) > 400
    expected = reference.get_scores(tokens(query)) / (K1 + 1)  # Robertson's constant factor
    scores, ids = ours.search(query, 10)
    assert len(ids) == min(10, int((expected > 0).sum())) and len(ids) > 0
    np.testing.assert_allclose(scores, expected[ids], rtol=2e-4)  # our scores are float32
    tenth = np.sort(expected)[::-1][len(ids) - 1]
    assert np.all(expected[ids] >= tenth - 1e-4) and np.all(np.delete(expected, ids) <= tenth + 1e-4)
