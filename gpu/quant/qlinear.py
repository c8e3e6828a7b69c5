"""``WQLinear``: a 4-bit linear layer stored as AutoAWQ GEMM buffers; checkpoints vLLM can load."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gpu.quant.packing import pack_awq, unpack_awq
from gpu.quant.rtn import dequantize_int4, quantize_int4
from matlas.errors import InvalidInput

__all__ = ["WQLinear", "awq_config", "load_quantized", "save_quantized", "weight_bytes"]


def awq_config(group_size: int) -> dict:
    """The ``quantization_config`` of config.json for AutoAWQ GEMM checkpoints (vLLM, transformers)."""
    return {"quant_method": "awq", "bits": 4, "group_size": group_size, "zero_point": True, "version": "gemm"}


class WQLinear(nn.Module):
    """int4 weight-only linear: ``qweight`` int32 [in, out/8], ``qzeros`` int32 [in/group, out/8],
    ``scales`` float16 [in/group, out], as AutoAWQ's ``WQLinear_GEMM``.

    The forward pass dequantizes and matmuls in the input's dtype; with ``cache_weight`` the
    dequantized weight is kept (per device and dtype), trading memory for speed.
    """

    def __init__(self, in_features: int, out_features: int, group_size: int, bias: bool = False,
                 *, cache_weight: bool = False) -> None:
        super().__init__()
        if in_features % group_size or out_features % 8:
            raise InvalidInput(f"WQLinear needs in_features ({in_features}) divisible by group_size "
                               f"({group_size}) and out_features ({out_features}) divisible by 8")
        self.in_features, self.out_features, self.group_size = in_features, out_features, group_size
        self.cache_weight = cache_weight
        groups = in_features // group_size
        self.register_buffer("qweight", torch.zeros(in_features, out_features // 8, dtype=torch.int32))
        self.register_buffer("qzeros", torch.zeros(groups, out_features // 8, dtype=torch.int32))
        self.register_buffer("scales", torch.zeros(groups, out_features, dtype=torch.float16))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        self._weight: torch.Tensor | None = None

    @classmethod
    def from_linear(cls, linear: nn.Linear, group_size: int, *, cache_weight: bool = False) -> WQLinear:
        """Round-to-nearest int4 of ``linear.weight`` (asymmetric, one scale and zero per group)."""
        q, scales, zeros = quantize_int4(linear.weight, group_size)
        module = cls(linear.in_features, linear.out_features, group_size, linear.bias is not None,
                     cache_weight=cache_weight).to(linear.weight.device)
        module.qweight.copy_(pack_awq(q.t()))
        module.qzeros.copy_(pack_awq(zeros.t()))
        module.scales.copy_(scales.t())
        if linear.bias is not None:
            module.bias = linear.bias.detach().clone()
        return module

    def dequantize(self) -> torch.Tensor:
        """The float32 weight [out, in] that the codes, zeros and scales encode."""
        q = unpack_awq(self.qweight).t()
        zeros = unpack_awq(self.qzeros).t()
        return dequantize_int4(q, self.scales.t(), zeros, self.group_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self._weight
        if weight is None or weight.dtype != x.dtype or weight.device != x.device:
            weight = self.dequantize().to(device=x.device, dtype=x.dtype)
            self._weight = weight if self.cache_weight else None
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return F.linear(x, weight, bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, group_size={self.group_size}"


def weight_bytes(linear: nn.Module) -> int:
    """Bytes of a linear layer's weight storage (codes, scales and zeros when quantized; no bias)."""
    if isinstance(linear, WQLinear):
        return sum(t.numel() * t.element_size() for t in (linear.qweight, linear.qzeros, linear.scales))
    weight = linear.weight
    parts = [getattr(weight, n) for n in getattr(weight, "tensor_data_names", [])] or [weight]  # torchao
    return sum(t.numel() * t.element_size() for t in parts)


def save_quantized(model: nn.Module, path: Path) -> Path:
    """Save a model holding ``WQLinear`` layers as an AutoAWQ GEMM checkpoint (safetensors + config)."""
    sizes = {m.group_size for m in model.modules() if isinstance(m, WQLinear)}
    if len(sizes) != 1:
        raise InvalidInput(f"save_quantized needs WQLinear layers of one group size; found {sorted(sizes)}")
    model.config.quantization_config = awq_config(sizes.pop())
    model.save_pretrained(path)
    return Path(path)


def load_quantized(path: Path, *, cache_weight: bool = False) -> nn.Module:
    """Load an AutoAWQ GEMM checkpoint (as ``save_quantized`` writes) into ``WQLinear`` layers."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    found = getattr(config, "quantization_config", None) or {}
    expected = awq_config(found.get("group_size", 0))
    if {k: found.get(k) for k in expected} != expected:
        raise InvalidInput(f"{path} is not a 4-bit AWQ GEMM checkpoint: quantization_config={found}")
    del config.quantization_config
    state = {k: v for f in sorted(Path(path).glob("*.safetensors")) for k, v in load_file(f).items()}
    model = AutoModelForCausalLM.from_config(config, dtype=getattr(config, "dtype", None) or torch.float32)
    for name in (k.removesuffix(".qweight") for k in state if k.endswith(".qweight")):
        linear = model.get_submodule(name)
        model.set_submodule(name, WQLinear(linear.in_features, linear.out_features, expected["group_size"],
                                           linear.bias is not None, cache_weight=cache_weight))
    missing, unexpected = model.load_state_dict(state, strict=False)
    untied = set(missing) - set(getattr(model, "all_tied_weights_keys", None) or {})
    if untied or unexpected:
        raise InvalidInput(f"{path}: checkpoint does not match the model (missing {sorted(untied)[:5]}, "
                           f"unexpected {sorted(unexpected)[:5]})")
    model.config.quantization_config = found
    return model.eval()
