import numpy as np
import pytest

from retrieval.maxsim import maxsim_scores, maxsim_topk


def _naive(q, docs):
    return np.array([sum(max(float(qi @ dj) for dj in d) for qi in q) for d in docs], dtype=np.float32)


def test_equals_naive_chamfer_on_variable_length_docs():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((5, 12)).astype(np.float32)
    docs = [rng.standard_normal((n, 12)).astype(np.float16) for n in (1, 3, 17, 2)]
    np.testing.assert_allclose(maxsim_scores(q, docs), _naive(q, [d.astype(np.float32) for d in docs]), rtol=1e-5)


def test_topk_orders_and_names_ids():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((3, 8)).astype(np.float32)
    docs = [rng.standard_normal((4, 8)).astype(np.float32) for _ in range(6)]
    scores, ids = maxsim_topk(q, docs, 3, ids=np.arange(100, 106))
    expected = np.argsort(-_naive(q, docs), kind="stable")[:3] + 100
    assert ids.tolist() == expected.tolist()
    assert (np.diff(scores) <= 0).all()


def test_empty_inputs():
    assert maxsim_scores(np.ones((2, 3), np.float32), []).shape == (0,)
    with pytest.raises(ValueError, match="no token vectors"):
        maxsim_scores(np.ones((2, 3), np.float32), [np.zeros((0, 3), np.float32)])


def test_matrix_equals_per_query_scores():
    from retrieval.maxsim import maxsim_matrix

    rng = np.random.default_rng(2)
    queries = [rng.standard_normal((n, 6)).astype(np.float32) for n in (1, 4, 2)]
    docs = [rng.standard_normal((n, 6)).astype(np.float16) for n in (3, 1, 5, 2)]
    matrix = maxsim_matrix(queries, docs)
    assert matrix.shape == (3, 4)
    for row, q in zip(matrix, queries):
        np.testing.assert_allclose(row, _naive(q, [d.astype(np.float32) for d in docs]), rtol=1e-5)
