"""Reciprocal-rank fusion against the formula of Cormack et al. (2009), computed by hand per document."""

import numpy as np
import pytest

from retrieval.fusion import reciprocal_rank_fusion


def test_scores_are_the_sum_of_reciprocal_ranks():
    rankings = [[7, 3, 9], [3, 5], [9, 7, 3, 1]]
    scores, ids = reciprocal_rank_fusion(rankings, k=60)
    expected = {7: 1 / 61 + 1 / 62, 3: 1 / 62 + 1 / 61 + 1 / 63, 9: 1 / 63 + 1 / 61, 5: 1 / 62, 1: 1 / 64}
    assert ids.tolist() == [3, 7, 9, 5, 1]
    np.testing.assert_allclose(scores, [expected[d] for d in ids.tolist()], rtol=1e-6)
    assert scores.dtype == np.float32 and ids.dtype == np.int64


def test_default_k_is_60_and_ties_break_by_smaller_id():
    scores, ids = reciprocal_rank_fusion([[4, 2], [2, 4]])
    assert ids.tolist() == [2, 4] and scores[0] == pytest.approx(1 / 61 + 1 / 62)
    scores, ids = reciprocal_rank_fusion([[1], [0]], k=1)
    assert ids.tolist() == [0, 1] and scores.tolist() == [0.5, 0.5]


def test_numpy_ids_and_empty_lists():
    scores, ids = reciprocal_rank_fusion([np.array([5, 6], dtype=np.int64), []], k=0)
    assert ids.tolist() == [5, 6] and scores.tolist() == [1.0, 0.5]
    scores, ids = reciprocal_rank_fusion([])
    assert len(scores) == len(ids) == 0 and ids.dtype == np.int64 and scores.dtype == np.float32
