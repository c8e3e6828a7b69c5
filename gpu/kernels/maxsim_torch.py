"""MaxSim by batched matmul over zero-padded documents: the plain torch reference, on any device."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

__all__ = ["maxsim_padded"]


def maxsim_padded(
    queries: Sequence[np.ndarray], documents: Sequence[np.ndarray], *, device: str = "cpu"
) -> np.ndarray:
    """Chamfer scores ``(n_queries, n_docs)`` float32: documents padded to ``(n_docs, max_len, dim)``.

    One batched matmul of the padded documents with every query token, padding masked to ``-inf``
    before the max over document tokens, then a sum over each query's tokens. Every document and
    query needs ``>= 1`` token.

    >>> q = [np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)]
    >>> maxsim_padded(q, [np.array([[1.0, 0.0]]), np.array([[0.5, 0.5], [0.0, 1.0]])]).tolist()
    [[1.0, 1.5]]
    """
    lengths = [len(d) for d in documents]
    tokens = torch.from_numpy(np.concatenate(documents)).to(device, torch.float32)
    padded = pad_sequence(tokens.split(lengths), batch_first=True)  # (n_docs, max_len, dim)
    positions = torch.arange(padded.shape[1], device=device)
    valid = positions[None, :] < torch.tensor(lengths, device=device)[:, None]
    q = torch.from_numpy(np.concatenate(queries).astype(np.float32, copy=False)).to(device)
    sims = torch.matmul(padded, q.T)  # (n_docs, max_len, Q)
    per_doc = sims.masked_fill_(~valid[:, :, None], float("-inf")).amax(dim=1)  # (n_docs, Q)
    sums = [part.sum(dim=1) for part in per_doc.split([len(x) for x in queries], dim=1)]
    return torch.stack(sums).cpu().numpy()
