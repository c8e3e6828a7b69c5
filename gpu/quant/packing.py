"""AutoAWQ GEMM packing: eight 4-bit codes per int32, columns interleaved in the order [0,2,4,6,1,3,5,7].

Same layout as ``WQLinear_GEMM.from_linear`` in casper-hansen/AutoAWQ
(awq/modules/linear/gemm.py, commit d9dc8e5): for packed column ``c`` and nibble ``i``,
``packed[:, c] |= codes[:, 8 * c + ORDER[i]] << 4 * i``; ``qweight`` packs the codes transposed to
[in, out] and ``qzeros`` the zero points [in // group, out], so vLLM's and transformers' AWQ GEMM
kernels read them as they are. Here it is vectorised instead of AutoAWQ's per-column loop.
"""

from __future__ import annotations

import torch

__all__ = ["AWQ_ORDER", "pack_awq", "unpack_awq"]

AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)
_SHIFTS = torch.arange(0, 32, 4)


def pack_awq(codes: torch.Tensor) -> torch.Tensor:
    """Pack int codes [rows, cols] in 0..15 (cols a multiple of 8) into int32 [rows, cols // 8].

    >>> pack_awq(torch.arange(8).reshape(1, 8)).tolist()  # nibbles, low first: 0 2 4 6 1 3 5 7
    [[1966171168]]
    """
    rows, cols = codes.shape
    if cols % 8:
        raise ValueError(f"cannot pack {cols} columns: not a multiple of 8")
    nibbles = codes.long().reshape(rows, cols // 8, 8)[..., list(AWQ_ORDER)]
    words = (nibbles << _SHIFTS.to(codes.device)).sum(dim=-1)  # < 2**32: no nibbles overlap
    return torch.where(words >= 2**31, words - 2**32, words).int()  # as int32 bits


def unpack_awq(packed: torch.Tensor) -> torch.Tensor:
    """Codes int32 [rows, 8 * cols] from AWQ-packed int32 [rows, cols] (the inverse of ``pack_awq``)."""
    nibbles = (packed.unsqueeze(-1) >> _SHIFTS.to(packed.device).int()) & 0xF
    codes = torch.empty_like(nibbles)
    codes[..., list(AWQ_ORDER)] = nibbles
    return codes.reshape(packed.shape[0], -1)
