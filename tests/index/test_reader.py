"""``index/reader.py``: ``open_index`` is the one way to open a version; placement is the caller's."""

import numpy as np
import pytest

from index.build import BuildParams, publish_encoded
from index.manifest import EncoderInfo
from index.reader import open_index
from index.versions import IndexRoot
from matlas.errors import IndexNotFound
from retrieval.corpus import Document
from retrieval.fde import FDEParams

RNG = np.random.default_rng(9)
ENCODER = EncoderInfo(model_id="synthetic", dim=4, max_length=8)


def _publish(root, n):
    docs = [Document(_id=f"d{i}", text=f"text {i}") for i in range(n)]
    tokens = [RNG.standard_normal((2, 4)).astype(np.float32) for _ in range(n)]
    return docs, publish_encoded(docs, tokens, RNG.standard_normal((n, 4)).astype(np.float32), root, ENCODER,
                                 BuildParams(fde=FDEParams(projection_dimension=4), bm25=False))


def test_opens_the_serving_version_or_a_named_one(tmp_path):
    root = tmp_path / "idx"
    first_docs, first = _publish(root, 3)
    second_docs, second = _publish(root, 5)
    serving = open_index(root)
    assert serving.manifest.version == second.version and list(serving.documents) == second_docs
    assert serving.fde_index.ntotal == len(serving.tokens) == 5 and serving.bm25 is None
    older = open_index(IndexRoot(root), first.version)
    assert older.manifest.version == first.version and list(older.documents) == first_docs
    assert older.path == IndexRoot(root).versions_dir / first.version


def test_the_caller_places_every_faiss_index(tmp_path):
    root = tmp_path / "idx"
    _publish(root, 3)
    placed = []
    version = open_index(root, place=lambda index: placed.append(index.ntotal) or index)
    assert placed == [3, 3]  # the FDE index and the dense index, nothing else
    assert version.dense_index.ntotal == 3


def test_missing_indexes_and_versions_raise_index_not_found(tmp_path):
    with pytest.raises(IndexNotFound, match="nothing has been built there yet"):
        open_index(tmp_path / "none")
    _publish(tmp_path / "idx", 2)
    with pytest.raises(FileNotFoundError):
        open_index(tmp_path / "idx", "v000009")
