"""Triton MaxSim kernel over packed variable-length documents, and the wrapper that launches it.

Layout: every document's tokens back to back, ``tokens (T, dim)``, with ``doc_offsets (n_docs + 1,)``
(document ``j`` is ``tokens[doc_offsets[j]:doc_offsets[j + 1]]``); queries likewise. One program
scores one (document, query) pair: it tiles the query tokens by ``BLOCK_Q`` and the document tokens
by ``BLOCK_D``, accumulates ``tl.dot`` over ``dim`` in ``BLOCK_K`` chunks in float32, keeps a running
max per query token and sums the maxima. No padded copy of the batch is made, so a 30-token
document costs 30 tokens of reads, not ``max_len``.

Why a program per (document, query): a 30-300 token document already spans several 64-token tiles,
and C=300 candidates give 300 programs, enough to fill an H200's 132 SMs twice. Several queries
per launch (a second grid axis) serve the exhaustive search, which scores query groups against
store chunks; the re-ranker sends one query with its own candidates.

Runs compiled on CUDA tensors, or on CPU tensors under ``TRITON_INTERPRET=1`` (read by Triton when
this module is imported), which the tests use.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["maxsim_triton"]

# Queries have 5-32 tokens: one 32-row tile reads each document once (longer ones loop). 64-token
# document tiles keep the (32, 64) float32 accumulator in registers at 4 warps.
BLOCK_Q = 32
BLOCK_D = 64


@triton.jit
def _maxsim_kernel(
    q_ptr, q_offsets_ptr, d_ptr, d_offsets_ptr, out_ptr, n_docs,
    DIM: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_K: tl.constexpr,
    PRECISION: tl.constexpr,
):
    doc = tl.program_id(0)
    query = tl.program_id(1)
    d_start = tl.load(d_offsets_ptr + doc)
    d_end = tl.load(d_offsets_ptr + doc + 1)
    q_start = tl.load(q_offsets_ptr + query)
    q_end = tl.load(q_offsets_ptr + query + 1)
    ks = tl.arange(0, BLOCK_K)
    total = tl.zeros([BLOCK_Q], dtype=tl.float32)
    for qb in range(q_start, q_end, BLOCK_Q):
        rq = qb + tl.arange(0, BLOCK_Q)
        q_mask = rq < q_end
        best = tl.full([BLOCK_Q], float("-inf"), dtype=tl.float32)
        for db in range(d_start, d_end, BLOCK_D):
            rd = db + tl.arange(0, BLOCK_D)
            d_mask = rd < d_end
            acc = tl.zeros([BLOCK_Q, BLOCK_D], dtype=tl.float32)
            for k in range(0, DIM, BLOCK_K):
                kk = k + ks
                k_mask = kk < DIM
                q = tl.load(q_ptr + rq[:, None] * DIM + kk[None, :],
                            mask=q_mask[:, None] & k_mask[None, :], other=0.0)
                d = tl.load(d_ptr + rd[None, :] * DIM + kk[:, None],
                            mask=d_mask[None, :] & k_mask[:, None], other=0.0)
                acc = tl.dot(q, d, acc, input_precision=PRECISION)
            acc = tl.where(d_mask[None, :], acc, float("-inf"))
            best = tl.maximum(best, tl.max(acc, axis=1))
        total += tl.where(q_mask, best, 0.0)
    tl.store(out_ptr + query * n_docs + doc, tl.sum(total, axis=0))


def maxsim_triton(
    queries: torch.Tensor, query_offsets: torch.Tensor, tokens: torch.Tensor, doc_offsets: torch.Tensor
) -> torch.Tensor:
    """Chamfer scores ``(n_queries, n_docs)`` float32 of packed queries against packed documents.

    ``tokens (T, dim)`` is float16 or float32 and ``queries (Q, dim)`` is cast to its dtype;
    products and sums are float32 (``input_precision="ieee"`` for float32). Offsets are int64 on
    the same device. A document with no tokens scores ``-inf``.
    """
    if tokens.dtype not in (torch.float16, torch.float32):
        raise ValueError(f"token dtype must be float16 or float32, got {tokens.dtype}")
    if tokens.ndim != 2 or queries.ndim != 2 or queries.shape[1] != tokens.shape[1]:
        raise ValueError(f"need (Q, dim) queries and (T, dim) tokens, got {tuple(queries.shape)} and {tuple(tokens.shape)}")
    tensors = (queries, query_offsets, tokens, doc_offsets)
    if len({t.device for t in tensors}) != 1:
        raise ValueError(f"all inputs must be on one device, got {sorted({str(t.device) for t in tensors})}")
    if tokens.device.type != "cuda" and not triton.knobs.runtime.interpret:
        raise ValueError(f"Triton MaxSim needs CUDA tensors (or TRITON_INTERPRET=1), got {tokens.device}")
    if query_offsets.dtype != torch.int64 or doc_offsets.dtype != torch.int64:
        raise ValueError("offsets must be int64")
    queries = queries.to(tokens.dtype).contiguous()
    tokens = tokens.contiguous()
    n_queries, n_docs = len(query_offsets) - 1, len(doc_offsets) - 1
    out = torch.empty((n_queries, n_docs), dtype=torch.float32, device=tokens.device)
    if n_queries == 0 or n_docs == 0:
        return out
    dim = tokens.shape[1]
    _maxsim_kernel[(n_docs, n_queries)](
        queries, query_offsets, tokens, doc_offsets, out, n_docs,
        DIM=dim,
        BLOCK_Q=BLOCK_Q,
        BLOCK_D=BLOCK_D,
        BLOCK_K=min(128, max(16, triton.next_power_of_2(dim))),
        PRECISION="ieee" if tokens.dtype == torch.float32 else None,
    )
    return out
