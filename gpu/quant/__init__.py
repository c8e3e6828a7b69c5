"""Weight-only quantization of causal LMs: AWQ int4, round-to-nearest int4 and int8.

``quantize_model(model, method, calib=...)`` is the one door. int4 layers are ``WQLinear`` modules
stored in AutoAWQ's GEMM layout, saved and loaded as checkpoints vLLM and transformers read;
int8 uses torchao's weight-only int8 tensors (per-channel symmetric).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gpu.quant.awq import awq_quantize, calibration_samples, decoder_layers
from gpu.quant.qlinear import WQLinear, awq_config, load_quantized, save_quantized, weight_bytes
from gpu.quant.rtn import quantize_int8_
from matlas.errors import InvalidInput

__all__ = ["Method", "WQLinear", "awq_config", "calibration_samples", "fit_group_size", "load_quantized",
           "quantize_model", "quantized_linears", "save_quantized", "weight_bytes"]

Method = Literal["awq4", "rtn4", "int8"]
GROUP_SIZES = (128, 64, 32)


def quantized_linears(model: nn.Module, include_lm_head: bool = False) -> dict[str, nn.Module]:
    """The linear layers ``quantize_model`` converts, by qualified name: those of the decoder layers
    (already quantized ones included), plus ``lm_head`` when asked."""
    layers = decoder_layers(model)
    prefix = next(name for name, module in model.named_modules() if module is layers)
    found = {f"{prefix}.{name}": m for name, m in layers.named_modules() if isinstance(m, nn.Linear | WQLinear)}
    if include_lm_head:
        found["lm_head"] = model.get_output_embeddings()
    return found


def fit_group_size(in_features: list[int], preferred: int = 128) -> int:
    """The largest of 128, 64, 32 (not above ``preferred``) dividing every ``in_features``.

    >>> fit_group_size([576, 1536])  # SmolLM2-135M: 576 = 4.5 x 128
    64
    """
    for size in GROUP_SIZES:
        if size <= preferred and all(n % size == 0 for n in in_features):
            return size
    raise InvalidInput(f"no group size in {GROUP_SIZES} divides the input widths {sorted(set(in_features))}")


def quantize_model(model: nn.Module, method: Method = "awq4", *, calib: torch.Tensor | None = None,
                   group_size: int | None = None, include_lm_head: bool = False,
                   search_samples: int | None = None, cache_weight: bool = False) -> nn.Module:
    """Quantize ``model``'s decoder-layer linears in place and return it.

    ``awq`` and ``rtn4``: asymmetric int4, one scale and zero point per ``group_size`` inputs
    (None: 128, or the largest of 64 / 32 dividing every input width); ``awq`` needs ``calib``
    token ids [n_samples, seqlen] (see ``calibration_samples``), of which its scale search judges
    the first ``search_samples`` (None: all). ``int8``: per-channel weights.
    ``cache_weight`` keeps dequantized int4 weights after the first forward (faster, more memory).
    """
    if method not in ("awq4", "rtn4", "int8"):
        raise InvalidInput(f"unknown quantization method {method!r}; use awq4, rtn4 or int8")
    model.eval()
    linears = quantized_linears(model, include_lm_head)
    if method == "int8":
        quantize_int8_(model, list(linears))
        return model
    widths = [m.in_features for m in linears.values()]
    if group_size is None:
        group_size = fit_group_size(widths)
    elif any(n % group_size for n in widths):
        raise InvalidInput(f"group_size {group_size} does not divide the input widths {sorted(set(widths))}; "
                           f"use {fit_group_size(widths, group_size)} or leave it unset")
    if method == "awq4":
        if calib is None:
            raise InvalidInput("AWQ needs calibration token ids (calib=calibration_samples(tokenizer))")
        awq_quantize(model, calib, group_size, search_samples=search_samples, cache_weight=cache_weight)
    with torch.no_grad():
        for name, linear in quantized_linears(model, include_lm_head).items():
            if isinstance(linear, nn.Linear):  # rtn4, or lm_head after AWQ
                model.set_submodule(name, WQLinear.from_linear(linear, group_size, cache_weight=cache_weight))
    return model
