import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from matlas.errors import InvalidInput
from retrieval.fde import FDEParams, FixedDimensionalEncoder
from retrieval.maxsim import maxsim_scores


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("reps,ksim,dproj", [(20, 5, 16), (20, 4, 8), (3, 0, 4), (2, 3, None)])
def test_output_dim_is_r_times_partitions_times_dproj(reps, ksim, dproj):
    enc = FixedDimensionalEncoder(32, FDEParams(num_repetitions=reps, num_simhash_projections=ksim, projection_dimension=dproj))
    out = enc.encode_documents([_unit(np.random.default_rng(0), 7, 32)])
    assert out.shape == (1, reps * 2**ksim * (dproj or 32)) == (1, enc.output_dim)
    assert out.dtype == np.float32


def test_default_is_the_papers_pareto_point():
    assert FixedDimensionalEncoder(128).output_dim == 20 * 32 * 16 == 10240


def test_seeded_and_deterministic():
    rng = np.random.default_rng(1)
    docs = [_unit(rng, n, 16) for n in (1, 5, 40)]
    a = FixedDimensionalEncoder(16, FDEParams(seed=7, projection_dimension=8)).encode_documents(docs)
    b = FixedDimensionalEncoder(16, FDEParams(seed=7, projection_dimension=8)).encode_documents(docs)
    c = FixedDimensionalEncoder(16, FDEParams(seed=8, projection_dimension=8)).encode_documents(docs)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(2)
    enc = FixedDimensionalEncoder(16, FDEParams(projection_dimension=8))
    docs = [_unit(rng, n, 16) for n in (3, 1, 50, 9) * 6]  # 24 docs: the parallel kernel
    batch = enc.encode_documents(docs)
    for i, d in enumerate(docs):
        np.testing.assert_allclose(batch[i], enc.encode_document(d), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(enc.encode_queries(docs)[2], enc.encode_query(docs[2]), rtol=1e-5, atol=1e-6)


def test_query_is_sum_and_never_filled():
    enc = FixedDimensionalEncoder(16, FDEParams(num_repetitions=4, num_simhash_projections=4, projection_dimension=None))
    token = _unit(np.random.default_rng(3), 1, 16)
    q = enc.encode_query(token).reshape(4, 16, 16)
    # one token lands in exactly one partition per repetition; every other block stays zero
    assert ((np.abs(q).sum(axis=2) > 0).sum(axis=1) == 1).all()
    np.testing.assert_allclose(q.sum(axis=1), np.repeat(token, 4, axis=0), rtol=1e-6)
    two = enc.encode_query(np.concatenate([token, token])).reshape(4, 16, 16)
    np.testing.assert_allclose(two, 2 * q, rtol=1e-6)  # SUM, not average


def test_single_token_document_fills_every_partition_with_that_token():
    enc = FixedDimensionalEncoder(16, FDEParams(num_repetitions=3, num_simhash_projections=3, projection_dimension=None))
    token = _unit(np.random.default_rng(4), 1, 16)
    d = enc.encode_document(token).reshape(3, 8, 16)
    np.testing.assert_allclose(d, np.broadcast_to(token, (3, 8, 16)), rtol=1e-6)
    off = FixedDimensionalEncoder(16, FDEParams(num_repetitions=3, num_simhash_projections=3,
                                                projection_dimension=None, fill_empty_partitions=False))
    assert ((np.abs(off.encode_document(token).reshape(3, 8, 16)).sum(-1) > 0).sum(axis=1) == 1).all()


def test_fill_uses_hamming_nearest_token():
    """Brute-force check of the fill rule on a few tokens and partitions."""
    params = FDEParams(num_repetitions=2, num_simhash_projections=3, projection_dimension=None)
    enc = FixedDimensionalEncoder(8, params)
    doc = _unit(np.random.default_rng(5), 2, 8)
    fde = enc.encode_document(doc).reshape(2, 8, 8)
    bits = (doc @ enc._simhash).reshape(2, 3, 2).transpose(0, 2, 1) > 0  # bit-major columns
    codes = (bits * (1 << np.arange(3))).sum(-1)  # (tokens, reps)
    for r in range(2):
        for b in range(8):
            members = [t for t in range(2) if codes[t, r] == b]
            if members:
                np.testing.assert_allclose(fde[r, b], doc[members].mean(0), rtol=1e-5)
            else:
                dist = [(int(codes[t, r]) ^ b).bit_count() for t in range(2)]
                np.testing.assert_allclose(fde[r, b], doc[int(np.argmin(dist))], rtol=1e-5)


def test_average_for_documents():
    enc = FixedDimensionalEncoder(8, FDEParams(num_repetitions=1, num_simhash_projections=0, projection_dimension=None))
    doc = _unit(np.random.default_rng(6), 5, 8)
    np.testing.assert_allclose(enc.encode_document(doc), doc.mean(0), rtol=1e-5)
    np.testing.assert_allclose(enc.encode_query(doc), doc.sum(0), rtol=1e-5)


def test_inner_product_tracks_chamfer():
    rng = np.random.default_rng(7)
    enc = FixedDimensionalEncoder(32, FDEParams(num_repetitions=20, num_simhash_projections=3, projection_dimension=None))
    query = _unit(rng, 4, 32)
    near = [query + 0.05 * _unit(rng, 4, 32) for _ in range(5)]
    far = [_unit(rng, 4, 32) for _ in range(5)]
    docs = [d / np.linalg.norm(d, axis=1, keepdims=True) for d in near] + far
    ip = enc.encode_documents(docs) @ enc.encode_query(query)
    chamfer = maxsim_scores(query, docs)
    assert ip[:5].min() > ip[5:].max()
    assert np.corrcoef(ip, chamfer)[0, 1] > 0.9


def test_final_projection_is_a_count_sketch():
    params = FDEParams(num_repetitions=2, num_simhash_projections=2, projection_dimension=4, final_projection_dimension=10)
    enc = FixedDimensionalEncoder(8, params)
    full = FixedDimensionalEncoder(8, params.model_copy(update={"final_projection_dimension": None}))
    doc = _unit(np.random.default_rng(8), 6, 8)
    out = enc.encode_document(doc)
    assert out.shape == (10,)
    np.testing.assert_allclose(out, full.encode_document(doc) @ enc._sketch.toarray(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "bad,match",
    [
        ([np.zeros((0, 8), np.float32)], "empty"),
        ([np.zeros((3, 7), np.float32)], "shape"),
        ([[[0.1] * 8, [0.2] * 7]], "ragged"),
        ([np.full((2, 8), np.nan, np.float32)], "NaN"),
        (np.zeros((3, 8), np.float32), "sequence"),
    ],
)
def test_bad_input_is_rejected_clearly(bad, match):
    enc = FixedDimensionalEncoder(8, FDEParams(projection_dimension=4))
    with pytest.raises(InvalidInput, match=match):
        enc.encode_documents(bad)


def test_bad_parameters_are_rejected():
    with pytest.raises(InvalidInput, match="exceeds"):
        FixedDimensionalEncoder(8, FDEParams(projection_dimension=16))
    with pytest.raises(ValueError):
        FDEParams(num_repetitions=0)


def test_canonical_values_are_pinned():
    """Guards the encoding against silent changes (indexes on disk depend on it)."""
    enc = FixedDimensionalEncoder(4, FDEParams(num_repetitions=1, num_simhash_projections=1, projection_dimension=2, seed=0))
    doc = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(enc.encode_document(doc), PINNED, atol=1e-6)


PINNED = [0.70710677, 0.70710677, -0.70710677, 0.70710677]


def _reference_document_fde(enc, doc):
    """Per-token loops, straight from the MUVERA definition (the earliest token wins ties)."""
    p = enc.params
    R, k, B, dp = p.num_repetitions, p.num_simhash_projections, enc.num_partitions, enc.d_proj
    bits = (doc @ enc._simhash).reshape(len(doc), k, R).transpose(0, 2, 1) > 0  # bit-major
    proj = doc if enc._projection is None else doc @ enc._projection
    out = np.zeros((R, B, dp), np.float64)
    for r in range(R):
        vals = proj if enc._projection is None else proj[:, r * dp:(r + 1) * dp]
        codes = [int(sum(int(b) << j for j, b in enumerate(bits[t, r]))) for t in range(len(doc))]
        for b in range(B):
            members = [t for t in range(len(doc)) if codes[t] == b]
            if members:
                out[r, b] = vals[members].mean(0)
            elif p.fill_empty_partitions:
                dist = [(int(c) ^ b).bit_count() for c in codes]
                out[r, b] = vals[int(np.argmin(dist))]
    return out.ravel()


@pytest.mark.parametrize("reps", [3, 4])  # repetitions run in pairs: odd and even counts
@pytest.mark.parametrize("dproj", [None, 4])
@pytest.mark.parametrize("n_docs", [5, 20])  # serial and parallel kernels
def test_batched_encoding_matches_per_token_reference(dproj, reps, n_docs):
    rng = np.random.default_rng(11)
    enc = FixedDimensionalEncoder(12, FDEParams(num_repetitions=reps, num_simhash_projections=4, projection_dimension=dproj))
    docs = [_unit(rng, n, 12) for n in (1, 2, 7, 30, 3) * (n_docs // 5)]
    batch = enc.encode_documents(docs)
    for row, doc in zip(batch, docs):
        np.testing.assert_allclose(row, _reference_document_fde(enc, doc), rtol=1e-5, atol=1e-6)


def test_results_do_not_alias_the_scratch_buffer():
    enc = FixedDimensionalEncoder(8, FDEParams(num_repetitions=1, num_simhash_projections=2, projection_dimension=None))
    rng = np.random.default_rng(12)
    first = enc.encode_documents([_unit(rng, 3, 8)])
    kept = first.copy()
    enc.encode_documents([_unit(rng, 5, 8)])
    np.testing.assert_array_equal(first, kept)


@pytest.mark.parametrize("n,d,m", [(32, 384, 16), (7, 384, 10), (1, 5, 3), (3, 9, 4), (2, 1, 7)])
def test_projection_kernel_equals_matmul_on_every_tail(n, d, m):
    from retrieval._fde_kernels import gemm_nt

    rng = np.random.default_rng(n * 1000 + m)
    a = rng.standard_normal((n, d)).astype(np.float32)
    bt = rng.standard_normal((m, d)).astype(np.float32)
    out = np.full((n, m), np.nan, dtype=np.float32)
    gemm_nt(a, bt, out)
    np.testing.assert_allclose(out, a.astype(np.float64) @ bt.T.astype(np.float64), rtol=1e-4, atol=1e-4)


def test_one_dimensional_tokens_and_a_projection_as_wide_as_the_tokens():
    """The smallest token dimension (1) and d_proj == dim are valid, and encode as the reference says."""
    rng = np.random.default_rng(13)
    one = FixedDimensionalEncoder(1, FDEParams(num_repetitions=3, num_simhash_projections=2, projection_dimension=None))
    doc = rng.standard_normal((4, 1)).astype(np.float32)
    np.testing.assert_allclose(one.encode_document(doc), _reference_document_fde(one, doc), rtol=1e-5, atol=1e-6)
    square = FixedDimensionalEncoder(6, FDEParams(num_repetitions=2, num_simhash_projections=2, projection_dimension=6))
    doc = _unit(rng, 5, 6)
    np.testing.assert_allclose(square.encode_document(doc), _reference_document_fde(square, doc), rtol=1e-5, atol=1e-6)
    with pytest.raises(InvalidInput, match=r"^token dimension must be >= 1, got 0$"):
        FixedDimensionalEncoder(0)


def test_any_numeric_input_encodes_as_its_float32_rounding():
    """float64 arrays and nested lists of ints give exactly the FDE of the same tokens as float32."""
    enc = FixedDimensionalEncoder(4, FDEParams(num_repetitions=1, num_simhash_projections=1, projection_dimension=2, seed=0))
    np.testing.assert_allclose(enc.encode_document([[1, 0, 0, 0], [0, 1, 0, 0]]), PINNED, atol=1e-6)
    assert enc.encode_document([[1, 0, 0, 0], [0, 1, 0, 0]]).dtype == np.float32
    rng = np.random.default_rng(14)
    wide = FixedDimensionalEncoder(16, FDEParams(num_repetitions=4, num_simhash_projections=3, projection_dimension=8))
    docs64 = [rng.standard_normal((n, 16)) for n in (3, 9)]
    np.testing.assert_array_equal(wide.encode_documents(docs64),
                                  wide.encode_documents([d.astype(np.float32) for d in docs64]))


def test_bad_input_names_the_offending_multivector():
    enc = FixedDimensionalEncoder(8, FDEParams(projection_dimension=4))
    good = np.ones((2, 8), np.float32)
    bad = good.copy()
    bad[1, 3] = np.inf
    with pytest.raises(InvalidInput, match=r"^multivector 2 holds NaN or infinite"):
        enc.encode_documents([good, good, bad, good])
    with pytest.raises(InvalidInput, match=r"^multivector 1 must have shape \(n_tokens, 8\), got \(2, 7\)$"):
        enc.encode_documents([good, good[:, :7]])
    with pytest.raises(InvalidInput, match=r"^expected a sequence of \(n_tokens, dim\) arrays, got one 2-D array$"):
        enc.encode_documents(good)


def test_count_sketch_into_a_huge_dimension_is_a_signed_permutation():
    """Count sketch (definition): each FDE coordinate goes to one uniform bucket with a uniform random sign.

    With far more buckets than coordinates there is no collision, so the sketch of an FDE holds exactly its
    nonzero coordinates, some of them negated; into 4 buckets, every bucket receives some coordinates."""
    base = FDEParams(num_repetitions=1, num_simhash_projections=2, projection_dimension=4, fill_empty_partitions=True)
    full = FixedDimensionalEncoder(8, base)
    huge = FixedDimensionalEncoder(8, base.model_copy(update={"final_projection_dimension": 1_000_000}))
    doc = _unit(np.random.default_rng(15), 6, 8)
    x, y = full.encode_document(doc), huge.encode_document(doc)
    assert y.shape == (1_000_000,) and np.count_nonzero(y) == np.count_nonzero(x) == 16
    np.testing.assert_allclose(np.sort(np.abs(y[y != 0])), np.sort(np.abs(x[x != 0])), rtol=1e-6)
    flipped = np.sum(~np.isin(y[y != 0], x[x != 0]))
    assert 0 < flipped < 16  # random signs: some coordinates negated, not all
    small = FixedDimensionalEncoder(8, base.model_copy(update={"num_repetitions": 4, "final_projection_dimension": 4}))
    assert np.all(small.encode_documents([doc, -doc]) != 0)


def test_a_sketch_wider_than_the_fde_keeps_its_dimension():
    params = FDEParams(num_repetitions=1, num_simhash_projections=1, projection_dimension=2, final_projection_dimension=64)
    enc = FixedDimensionalEncoder(4, params)
    assert enc.output_dim == 64
    assert enc.encode_documents([np.eye(4, dtype=np.float32)] * 3).shape == (3, 64)


def test_parallel_encodes_from_several_threads_do_not_abort_the_process():
    """Batched searches encode 16+ queries at once from two threads: numba's workqueue layer aborts the whole
    process (SIGABRT) when two threads enter its parallel region together, so the region is entered by one at a
    time. Run in a child process, since the failure kills the process that hits it."""
    script = textwrap.dedent("""
        import threading
        import numpy as np
        from retrieval.fde import FDEParams, FixedDimensionalEncoder

        fde = FixedDimensionalEncoder(32, FDEParams(num_repetitions=4, num_simhash_projections=3))
        rng = np.random.default_rng(0)
        docs = [rng.standard_normal((12, 32)).astype(np.float32) for _ in range(64)]
        expected = fde.encode_documents(docs)
        errors = []

        def work():
            for _ in range(30):
                if not np.array_equal(fde.encode_documents(docs), expected):
                    errors.append("differs")

        threads = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print("ok" if not errors else errors[0])
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False,
                         cwd=Path(__file__).resolve().parents[2], env=os.environ | {"NUMBA_NUM_THREADS": "2"})
    assert run.returncode == 0 and run.stdout.strip() == "ok", (run.returncode, run.stdout, run.stderr[-2000:])
