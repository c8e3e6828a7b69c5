"""``index/faiss_index.py``: factory strings, and search parameters that hold for one call only."""

from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import pytest

from index.faiss_index import build_faiss_index, default_search_params, search_index
from matlas.errors import InvalidInput

RNG = np.random.default_rng(3)
VECTORS = RNG.standard_normal((2000, 24)).astype(np.float32)
QUERIES = RNG.standard_normal((16, 24)).astype(np.float32)


def _reference(index: faiss.Index, params: str, k: int) -> np.ndarray:
    """Ids of a private copy whose parameters FAISS's own ParameterSpace set (the oracle)."""
    copy = faiss.clone_index(index)
    faiss.ParameterSpace().set_index_parameters(copy, params)
    return copy.search(QUERIES, k)[1]


@pytest.mark.parametrize("factory,settings", [
    ("HNSW8", ["efSearch=8", "efSearch=16", "efSearch=400"]),
    ("IVF32,Flat", ["nprobe=1", "nprobe=4", "nprobe=32"]),
    ("OPQ8,IVF32,PQ8", ["nprobe=1", "nprobe=32"]),
    ("IVF32_HNSW8,Flat", ["nprobe=2,quantizer_efSearch=4", "efSearch=64,nprobe=8"]),
])
def test_concurrent_searches_with_different_parameters_each_get_their_own(factory, settings):
    index = build_faiss_index(factory, VECTORS)
    before = faiss.clone_index(index).search(QUERIES, 10)[1]
    expected = {p: _reference(index, p, 10) for p in settings}
    assert len({e.tobytes() for e in expected.values()}) > 1  # the settings do change the results
    jobs = [settings[i % len(settings)] for i in range(120)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda p: (p, search_index(index, QUERIES, 10, p)[1]), jobs))
    for params, ids in results:
        np.testing.assert_array_equal(ids, expected[params], err_msg=params)
    np.testing.assert_array_equal(index.search(QUERIES, 10)[1], before)  # the shared index is untouched


def test_default_parameters_size_hnsw_and_ivf_for_the_candidates():
    assert default_search_params("HNSW32", 300) == "efSearch=450"
    assert default_search_params("IVF1024,PQ16", 300) == "nprobe=32"
    assert default_search_params("Flat", 300) == ""


def test_parameters_that_do_not_apply_are_refused():
    index = build_faiss_index("Flat", VECTORS[:100])
    with pytest.raises(InvalidInput, match=r"\['nprobe'\] do not apply to a IndexFlat"):
        search_index(index, QUERIES, 5, "nprobe=3")
    with pytest.raises(InvalidInput, match="use name=number"):
        search_index(index, QUERIES, 5, "nprobe")


def test_inner_product_search_matches_brute_force_and_pads_with_minus_one():
    index = build_faiss_index("Flat", VECTORS[:7])
    scores, ids = search_index(index, QUERIES, 10)
    brute = QUERIES @ VECTORS[:7].T
    np.testing.assert_array_equal(ids[:, :7], np.argsort(-brute, axis=1, kind="stable"))
    np.testing.assert_allclose(scores[:, :7], -np.sort(-brute, axis=1), rtol=1e-5)
    assert (ids[:, 7:] == -1).all()


def test_factories_needing_training_refuse_too_small_corpora():
    with pytest.raises(InvalidInput, match="needs at least 256 training vectors"):
        build_faiss_index("IVF16,PQ8", VECTORS[:100])
    with pytest.raises(InvalidInput, match="invalid FAISS index factory string 'Nonsense'"):
        build_faiss_index("Nonsense", VECTORS)
