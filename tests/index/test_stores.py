"""``index/stores.py``: sharded float16 token store and document store, read back across shards."""

import numpy as np
import pytest

from index.stores import DocumentStore, TokenStore, write_shard
from retrieval.corpus import Document

RNG = np.random.default_rng(11)


def _shard(directory, shard, first, lengths):
    docs = [Document(_id=f"d{first + i}", title=f"T{first + i}", text=f"text {first + i} ∆ é", metadata={"n": first + i})
            for i in range(len(lengths))]
    tokens = [RNG.standard_normal((n, 6)).astype(np.float32) for n in lengths]
    return docs, tokens, write_shard(directory, shard, docs, tokens)


@pytest.fixture
def two_shards(tmp_path):
    docs_a, tokens_a, count_a = _shard(tmp_path, "s00000", 0, [3, 1, 5])
    docs_b, tokens_b, count_b = _shard(tmp_path, "s00001", 3, [2, 4])
    return tmp_path, docs_a + docs_b, tokens_a + tokens_b, (count_a, count_b)


def test_token_counts_and_vectors_survive_across_shards_as_float16(two_shards):
    directory, _, tokens, counts = two_shards
    assert counts == (3 + 1 + 5, 2 + 4)
    store = TokenStore(directory, ["s00000", "s00001"])
    assert len(store) == 5
    for got, want in zip(store.get([4, 0, 2, 3]), [tokens[4], tokens[0], tokens[2], tokens[3]]):
        assert got.dtype == np.float16
        np.testing.assert_array_equal(got, want.astype(np.float16))
    seen = [(ids.tolist(), [t.shape for t in arrays]) for ids, arrays in store.iter_all(batch=2)]
    assert seen == [([0, 1], [(3, 6), (1, 6)]), ([2, 3], [(5, 6), (2, 6)]), ([4], [(4, 6)])]


def test_documents_read_back_by_position_in_order(two_shards):
    directory, docs, _, _ = two_shards
    store = DocumentStore(directory, ["s00000", "s00001"])
    assert len(store) == 5
    assert store.get([3, 1]) == [docs[3], docs[1]]
    assert list(store) == docs


@pytest.mark.parametrize("ids", [[5], [-1], [0, 7]])
def test_positions_out_of_range_raise(two_shards, ids):
    directory = two_shards[0]
    with pytest.raises(IndexError, match=r"out of range \[0, 5\)"):
        TokenStore(directory, ["s00000", "s00001"]).get(ids)
    with pytest.raises(IndexError, match=r"out of range \[0, 5\)"):
        DocumentStore(directory, ["s00000", "s00001"]).get(ids)


def test_a_store_reads_only_the_shards_it_is_given(two_shards):
    directory, docs, _, _ = two_shards
    assert list(DocumentStore(directory, ["s00001"])) == docs[3:]
    assert len(TokenStore(directory, [])) == 0
