import faiss
import numpy as np

from gpu.faiss_gpu import to_gpu


def test_to_gpu_moves_index_when_faiss_sees_a_gpu_and_keeps_results():
    rng = np.random.default_rng(0)
    data = rng.standard_normal((500, 32)).astype(np.float32)
    index = faiss.IndexFlatIP(32)
    index.add(data)
    moved = to_gpu(index)
    if faiss.get_num_gpus() == 0:
        assert moved is index
    else:
        assert moved is not index and "Gpu" in type(moved).__name__
    expected = index.search(data[:5], 10)
    got = moved.search(data[:5], 10)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5)
