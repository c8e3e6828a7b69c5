"""MaxSim kernels against the padded torch reference: CPU path, dispatcher, Triton (interpreted, CUDA).

The Triton interpreter tests run the kernel in a child process started with ``TRITON_INTERPRET=1``
(Triton reads it when a kernel is decorated, at import): this process keeps compiled kernels for the
``gpu`` tests. Run as a script, this file is that child: ``python <this file> OUT.npz``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from gpu.kernels import BACKENDS, maxsim_backend, maxsim_cpu, maxsim_padded, score_batch
from matlas.errors import InvalidInput
from matlas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _unit(rng: np.random.Generator, n: int, dim: int, dtype=np.float32) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(dtype)


def _case(seed: int, dim: int, dtype, doc_lengths, query_lengths):
    rng = np.random.default_rng(seed)
    return [_unit(rng, n, dim, dtype) for n in query_lengths], [_unit(rng, n, dim, dtype) for n in doc_lengths]


# (dim, dtype, document lengths, query lengths): 1-token documents, documents across several
# 64-token tiles, a 40-token query across two 32-token tiles, dims that are not powers of two.
INTERPRETER_CASES = [
    (32, np.float16, (1, 5, 64, 65, 130), (7,)),
    (48, np.float16, (1, 1, 17, 70), (3, 40)),
    (64, np.float32, (2, 1, 33, 129), (12, 1)),
    (48, np.float32, (1, 9), (32, 33)),
]


def _naive(queries, documents) -> np.ndarray:
    return np.array([[sum(max(float(qi @ dj) for dj in d) for qi in q) for d in documents] for q in queries])


def test_padded_reference_equals_naive_chamfer():
    queries, docs = _case(0, 6, np.float32, (1, 4, 2), (3, 1))
    np.testing.assert_allclose(maxsim_padded(queries, docs), _naive(queries, docs), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("dim", [32, 48, 384])
def test_cpu_path_equals_reference_across_blocks(dim, dtype):
    queries, docs = _case(dim, dim, dtype, (1, 30, 200, 1, 77, 5, 300, 2), (20, 1, 5))
    offsets = np.cumsum([0] + [len(q) for q in queries])
    reference = maxsim_padded(queries, docs)
    for block_tokens in (1, 64, 250, 10_000):  # one document per block .. one block; 300 > 250
        out = maxsim_cpu(np.concatenate(queries), offsets, docs, block_tokens=block_tokens)
        np.testing.assert_allclose(out, reference, rtol=1e-5, atol=1e-5)


def test_cpu_path_reads_read_only_float16_views():
    queries, docs = _case(3, 32, np.float16, (4, 6, 3), (5,))
    store = np.concatenate(docs)
    store.flags.writeable = False
    views = np.split(store, [4, 10])
    np.testing.assert_allclose(maxsim_cpu(queries[0], np.array([0, 5]), views), maxsim_padded(queries, docs), rtol=1e-5)


def test_backend_choice_env_override_and_errors(monkeypatch):
    monkeypatch.setenv("MATLAS_MAXSIM_BACKEND", "torch")  # read once, by the settings (issue 13.1)
    assert maxsim_backend(Settings().maxsim_backend) == "torch"
    assert maxsim_backend("cpu") == "cpu"
    assert get_args(Settings.model_fields["maxsim_backend"].annotation) == BACKENDS
    monkeypatch.setenv("MATLAS_MAXSIM_BACKEND", "gpu")
    with pytest.raises(ValidationError, match=r"'auto', 'cpu', 'torch' or 'triton'"):
        Settings()
    with pytest.raises(InvalidInput, match=r"'gpu'.*'auto', 'cpu', 'torch', 'triton'"):
        maxsim_backend("gpu")
    monkeypatch.delenv("MATLAS_MAXSIM_BACKEND")
    assert maxsim_backend() == ("triton" if torch.cuda.is_available() else "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without CUDA")
def test_triton_backend_refused_without_cuda():
    with pytest.raises(InvalidInput, match="needs triton and a CUDA device"):
        maxsim_backend("triton")


def test_backends_agree_and_validate_input():
    queries, docs = _case(4, 48, np.float16, (3, 1, 50), (4, 9))
    np.testing.assert_allclose(score_batch(queries, docs, backend="cpu"), score_batch(queries, docs, backend="torch"),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="document 1 has no token vectors"):
        score_batch(queries, [docs[0], docs[0][:0]])
    with pytest.raises(ValueError, match=r"differ in dimension: \[32, 48\]"):
        score_batch([q[:, :32] for q in queries], docs)


@pytest.fixture(scope="module")
def interpreted(tmp_path_factory) -> dict[str, np.ndarray]:
    """Outputs of the Triton kernel run by the interpreter in a child process, per case."""
    pytest.importorskip("triton")
    out = tmp_path_factory.mktemp("triton") / "interpreted.npz"
    env = {**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop("MATLAS_MAXSIM_BACKEND", None)
    done = subprocess.run([sys.executable, __file__, str(out)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(out))


@pytest.mark.parametrize("index", range(len(INTERPRETER_CASES)))
def test_triton_kernel_interpreted_equals_reference(interpreted, index):
    dim, dtype, doc_lengths, query_lengths = INTERPRETER_CASES[index]
    queries, docs = _case(index, dim, dtype, doc_lengths, query_lengths)
    reference = maxsim_padded(queries, docs)
    np.testing.assert_allclose(interpreted[f"kernel{index}"], reference, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(interpreted[f"dispatch{index}"], reference, rtol=1e-5, atol=1e-5)


def test_triton_kernel_interpreted_scores_empty_documents_minus_inf(interpreted):
    assert interpreted["empty"].tolist() == [[float("-inf"), 1.0]]


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_triton_kernel_on_cuda_equals_reference(dtype):
    rng = np.random.default_rng(5)
    lengths = np.clip(rng.lognormal(np.log(70), 0.6, 300), 1, 300).astype(int)
    queries, docs = _case(5, 384, dtype, lengths, (20, 32, 5))
    # the kernel multiplies in the storage dtype: compare with queries rounded to it
    reference = maxsim_padded([q.astype(dtype) for q in queries], docs, device="cuda")
    assert maxsim_backend() == "triton"
    np.testing.assert_allclose(score_batch(queries, docs), reference, rtol=1e-4, atol=1e-4)


def _run_interpreted(out: str) -> None:
    """Child process: run the kernel and the dispatcher on every case, save the scores."""
    assert os.environ.get("TRITON_INTERPRET") == "1"
    from gpu.kernels.maxsim_triton import maxsim_triton

    def offsets(arrays):
        return torch.tensor(np.cumsum([0] + [len(a) for a in arrays]), dtype=torch.int64)

    results = {}
    for index, (dim, dtype, doc_lengths, query_lengths) in enumerate(INTERPRETER_CASES):
        queries, docs = _case(index, dim, dtype, doc_lengths, query_lengths)
        packed = [torch.from_numpy(np.concatenate(x)) for x in (queries, docs)]
        results[f"kernel{index}"] = maxsim_triton(packed[0], offsets(queries), packed[1], offsets(docs)).numpy()
        results[f"dispatch{index}"] = score_batch(queries, docs, backend="triton")
    q = torch.eye(2, dtype=torch.float16)
    results["empty"] = maxsim_triton(q[:1], offsets([q[:1]]), q[:1], torch.tensor([0, 0, 1])).numpy()
    np.savez(out, **results)


if __name__ == "__main__":
    _run_interpreted(sys.argv[1])
