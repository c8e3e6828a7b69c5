"""MUVERA Fixed Dimensional Encodings (Dhulipala et al., 2024).

An FDE turns a multi-vector (a set of token vectors) into one fixed-size vector whose inner
product approximates the Chamfer (MaxSim) similarity of the two sets, so that a plain MIPS index
can find late-interaction candidates.

For each of ``num_repetitions`` repetitions ``r``:

1. SimHash: ``num_simhash_projections`` Gaussian hyperplanes split space into ``B = 2**k_sim``
   partitions; a token lands in the partition named by its sign bits.
2. Inner projection: each token is projected to ``projection_dimension`` dims by a dense
   Rademacher matrix scaled by ``1/sqrt(d_proj)`` (an unbiased JL sketch of inner products);
   ``projection_dimension=None`` keeps the tokens as they are.
3. Aggregation per partition: queries SUM their projected tokens; documents AVERAGE them, and with
   ``fill_empty_partitions`` an empty partition takes the projected token whose SimHash code is
   nearest in Hamming distance to the partition's (queries are never filled).

The repetitions are concatenated (``R * B * d_proj`` dims, 10,240 at the paper's Pareto point
R=20, k_sim=5, d_proj=16) and optionally compressed by a count sketch to
``final_projection_dimension`` dims.

Everything runs in one compiled loop parallel over documents (``_fde_kernels.encode``): one GEMM
gives a document's hyperplane sides; since aggregation is linear, the raw tokens are summed per
partition first and only the (at most ``B``) distinct partition rows are projected, which costs
``T*d + B*d*d_proj`` instead of ``T*d*d_proj`` per repetition. There is no Python loop per
document or partition.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np
from numba.typed import List
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import sparse
from threadpoolctl import threadpool_limits

from matlas.errors import InvalidInput
from retrieval._fde_kernels import encode, encode_serial

__all__ = ["FDEParams", "FixedDimensionalEncoder"]

_MAX_DOCS_PER_CHUNK = 4096
_PARALLEL_MIN_DOCS = 16
_PARALLEL_REGION = threading.Lock()
# threads take documents 4 at a time instead of one equal share each: lengths vary and a shared
# core may stall, so a static split waits for the slowest half (measured: +5-10 % docs/s)
_DOCS_PER_TASK = 4


class FDEParams(BaseModel):
    """Parameters of a MUVERA FDE; together with ``dim`` and ``seed`` they fix the encoding."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    num_repetitions: int = Field(20, ge=1, le=1024, description="Independent repetitions R.")
    num_simhash_projections: int = Field(
        5, ge=0, le=16, description="SimHash hyperplanes k_sim: 2**k_sim partitions per repetition."
    )
    projection_dimension: int | None = Field(
        16, ge=1, description="Inner random projection d_proj; None keeps the token dimension."
    )
    fill_empty_partitions: bool = Field(
        True, description="Documents fill empty partitions with the Hamming-nearest token."
    )
    final_projection_dimension: int | None = Field(
        None, ge=1, description="Count-sketch the concatenated FDE to this many dims; None: off."
    )
    seed: int = Field(42, description="Seed of every random matrix; same seed, same encoding.")

    @model_validator(mode="after")
    def _check_sizes(self) -> FDEParams:
        if self.num_repetitions * (2**self.num_simhash_projections) * (
            self.projection_dimension or 1
        ) > 1 << 24:
            raise ValueError("FDE would exceed 16,777,216 dims; lower R, k_sim or d_proj")
        return self

    def output_dim(self, dim: int) -> int:
        """Dimension of the FDE of ``dim``-dimensional token vectors."""
        if self.final_projection_dimension:
            return self.final_projection_dimension
        d_proj = self.projection_dimension or dim
        return self.num_repetitions * (2**self.num_simhash_projections) * d_proj


class FixedDimensionalEncoder:
    """Seeded MUVERA encoder for ``dim``-dimensional token vectors.

    >>> enc = FixedDimensionalEncoder(8, FDEParams(num_repetitions=2, num_simhash_projections=2,
    ...                                            projection_dimension=4))
    >>> enc.output_dim
    32
    >>> q = np.eye(8, dtype=np.float32)[:3]
    >>> round(float(enc.encode_query(q) @ enc.encode_document(q)), 4) > 0
    True
    """

    def __init__(self, dim: int, params: FDEParams | None = None) -> None:
        if dim < 1:
            raise InvalidInput(f"token dimension must be >= 1, got {dim}")
        self.dim = dim
        self.params = params or FDEParams()
        p = self.params
        if p.projection_dimension is not None and p.projection_dimension > dim:
            raise InvalidInput(
                f"projection_dimension={p.projection_dimension} exceeds the token dimension {dim}"
            )
        self.num_partitions = 2**p.num_simhash_projections
        self.d_proj = p.projection_dimension or dim
        self.output_dim = p.output_dim(dim)
        rng = np.random.default_rng(p.seed)
        R, k = p.num_repetitions, p.num_simhash_projections
        simhash = rng.standard_normal((dim, R, k)).astype(np.float32)  # bit j of repetition r
        self._simhash = np.ascontiguousarray(simhash.transpose(0, 2, 1).reshape(dim, k * R))
        self._projection = None
        self._blocks = np.zeros((R, 0, 0), dtype=np.float32)  # (R, d_proj, dim): P_r transposed
        if p.projection_dimension is not None:
            signs = rng.integers(0, 2, size=(dim, R * self.d_proj)).astype(np.float32) * 2 - 1
            self._projection = signs / np.float32(np.sqrt(self.d_proj))
            self._blocks = np.ascontiguousarray(
                self._projection.reshape(dim, R, self.d_proj).transpose(1, 2, 0)
            )
        self._sketch = None
        if p.final_projection_dimension:
            full = R * self.num_partitions * self.d_proj
            buckets = rng.integers(0, p.final_projection_dimension, size=full)
            signs = rng.integers(0, 2, size=full).astype(np.float32) * 2 - 1
            self._sketch = sparse.csr_matrix(
                (signs, (np.arange(full), buckets)), shape=(full, p.final_projection_dimension)
            )

    def encode_query(self, multivector: np.ndarray) -> np.ndarray:
        """FDE of one query, shape ``(output_dim,)`` float32."""
        return self.encode_queries([multivector])[0]

    def encode_document(self, multivector: np.ndarray) -> np.ndarray:
        """FDE of one document, shape ``(output_dim,)`` float32."""
        return self.encode_documents([multivector])[0]

    def encode_queries(self, multivectors: Sequence[np.ndarray]) -> np.ndarray:
        """FDEs (SUM aggregation, never filled) of queries, shape ``(n, output_dim)`` float32."""
        return self._encode(multivectors, is_query=True)

    def encode_documents(self, multivectors: Sequence[np.ndarray]) -> np.ndarray:
        """FDEs (AVERAGE aggregation, optional fill) of documents, ``(n, output_dim)`` float32."""
        return self._encode(multivectors, is_query=False)

    def _validate(self, multivectors: Sequence[np.ndarray]) -> list[np.ndarray]:
        if isinstance(multivectors, np.ndarray) and multivectors.ndim == 2:
            raise InvalidInput("expected a sequence of (n_tokens, dim) arrays, got one 2-D array")
        mats = []
        for i, m in enumerate(multivectors):
            try:
                arr = np.ascontiguousarray(m, dtype=np.float32)
            except ValueError as err:  # ragged nested lists
                raise InvalidInput(f"multivector {i} is ragged: {err}") from None
            if arr.ndim != 2 or arr.shape[1] != self.dim:
                raise InvalidInput(
                    f"multivector {i} must have shape (n_tokens, {self.dim}), got {arr.shape}"
                )
            if arr.shape[0] == 0:
                raise InvalidInput(f"multivector {i} is empty (0 tokens)")
            mats.append(arr)
        return mats

    def _encode(self, multivectors: Sequence[np.ndarray], *, is_query: bool) -> np.ndarray:
        mats = self._validate(multivectors)
        out = np.empty((len(mats), self.output_dim), dtype=np.float32)
        if len(mats) >= _PARALLEL_MIN_DOCS:  # documents run in parallel, one BLAS thread each
            # one parallel region at a time per process: numba's workqueue layer aborts the process when two
            # threads enter it at once (two batches of 16 searches did, in bench/load), and the BLAS limit is
            # process-wide; the region already uses every core
            with _PARALLEL_REGION, threadpool_limits(1, user_api="blas"):
                self._encode_chunks(mats, out, is_query=is_query)
        else:
            self._encode_chunks(mats, out, is_query=is_query)
        # every token lands in some partition, so a NaN/inf token makes its FDE non-finite:
        # checking the output is d*T/(R*B*d_proj) (7.5x) less work than checking the tokens
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if len(bad):
            raise InvalidInput(f"multivector {bad[0]} holds NaN or infinite (or overflowing) values")
        return out

    def _encode_chunks(self, mats: list[np.ndarray], out: np.ndarray, *, is_query: bool) -> None:
        p = self.params
        fill = not is_query and p.fill_empty_partitions
        full = p.num_repetitions * self.num_partitions * self.d_proj
        for start in range(0, len(mats), _MAX_DOCS_PER_CHUNK):
            chunk = mats[start : start + _MAX_DOCS_PER_CHUNK]
            dest = out[start : start + len(chunk)]
            fdes = dest if self._sketch is None else np.empty((len(chunk), full), np.float32)
            kernel = encode if len(chunk) >= _PARALLEL_MIN_DOCS else encode_serial
            with numba.parallel_chunksize(_DOCS_PER_TASK):
                kernel(List(chunk), self._simhash, p.num_simhash_projections, self._blocks,
                       self.num_partitions, not is_query, fill, fdes)
            if self._sketch is not None:
                dest[:] = (self._sketch.T @ fdes.T).T
