"""Round-to-nearest weight quantization: asymmetric int4 per group (AWQ's grid) and int8 per channel."""

from __future__ import annotations

import torch
from torch import nn

from matlas.errors import InvalidInput

__all__ = ["dequantize_int4", "pseudo_quantize_int4", "quantize_int4", "quantize_int8_"]

MAX_INT4 = 15


def quantize_int4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Asymmetric 4-bit codes of ``w`` [out, in] per ``group_size`` inputs: ``(q, scales, zeros)``.

    ``q`` int32 [out, in] in 0..15; ``scales`` float16 and ``zeros`` int32 (0..15), both
    [out, in // group_size]; ``w ~ (q - zeros) * scales``. Scales are rounded to float16 before the
    codes are computed, so the stored checkpoint reproduces exactly what was measured.

    >>> q, s, z = quantize_int4(torch.tensor([[0.0, 1.5, 3.0, -1.5]]), group_size=4)
    >>> q.tolist(), s.tolist(), z.tolist()
    ([[5, 10, 15, 0]], [[0.300048828125]], [[5]])
    """
    out_features, in_features = w.shape
    if in_features % group_size:
        raise InvalidInput(f"in_features {in_features} is not a multiple of group_size {group_size}")
    groups = w.detach().float().reshape(out_features, -1, group_size)
    w_min, w_max = torch.aminmax(groups, dim=-1)
    scales = ((w_max - w_min).clamp(min=1e-5) / MAX_INT4).half()
    step = scales.float()
    zeros = (-torch.round(w_min / step)).clamp_(0, MAX_INT4)
    q = torch.round(groups / step.unsqueeze(-1)).add_(zeros.unsqueeze(-1)).clamp_(0, MAX_INT4)
    return q.reshape(out_features, in_features).int(), scales, zeros.int()


def dequantize_int4(q: torch.Tensor, scales: torch.Tensor, zeros: torch.Tensor, group_size: int) -> torch.Tensor:
    """Float32 weights [out, in] from codes [out, in], scales and zeros [out, in // group_size]."""
    groups = q.float().reshape(q.shape[0], -1, group_size)
    w = (groups - zeros.float().unsqueeze(-1)) * scales.float().unsqueeze(-1)
    return w.reshape(q.shape)


def pseudo_quantize_int4(w: torch.Tensor, group_size: int) -> torch.Tensor:
    """``w`` [out, in] rounded to its int4 grid and back, in ``w``'s dtype (what AWQ searches with)."""
    return dequantize_int4(*quantize_int4(w, group_size), group_size).to(w.dtype)


def quantize_int8_(model: nn.Module, names: list[str]) -> None:
    """Replace the weights of the ``nn.Linear`` modules ``names`` by torchao int8 weight-only tensors
    (symmetric, one scale per output channel), in place."""
    try:
        from torchao.quantization import Int8WeightOnlyConfig, quantize_
    except ImportError as err:
        raise InvalidInput("int8 quantization needs torchao: pip install torchao") from err
    wanted = set(names)
    quantize_(model, Int8WeightOnlyConfig(), filter_fn=lambda m, fqn: isinstance(m, nn.Linear) and fqn in wanted)
