"""``gpu.faiss_gpu.to_gpu``: results against a numpy brute-force oracle, on whichever device faiss has."""

import faiss
import numpy as np
import pytest

from gpu.faiss_gpu import to_gpu

needs_faiss_gpu = pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs faiss-gpu and a CUDA device")


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((500, 32)).astype(np.float32)


def _flat_ip(data: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(data.shape[1])
    index.add(data)
    return index


def test_moved_index_returns_the_exact_inner_product_top_k(data):
    queries = data[:5] + 0.1
    scores = queries.astype(np.float64) @ data.T.astype(np.float64)  # the oracle: numpy, not faiss
    expected_ids = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    got_scores, got_ids = to_gpu(_flat_ip(data)).search(queries, 10)
    np.testing.assert_array_equal(got_ids, expected_ids)
    np.testing.assert_allclose(got_scores, np.take_along_axis(scores, expected_ids, axis=1), rtol=1e-4)


@pytest.mark.skipif(faiss.get_num_gpus() > 0, reason="checks the fallback without a GPU")
def test_without_a_gpu_the_same_index_is_returned(data):
    index = _flat_ip(data)
    assert to_gpu(index) is index


@pytest.mark.gpu
@needs_faiss_gpu
def test_with_a_gpu_a_gpu_copy_is_returned_and_hnsw_stays(data):
    index = _flat_ip(data)
    moved = to_gpu(index)
    assert moved is not index and "Gpu" in type(moved).__name__
    hnsw = faiss.IndexHNSWFlat(32, 16)
    hnsw.add(data)
    assert to_gpu(hnsw) is hnsw
