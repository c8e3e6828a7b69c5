"""WQLinear: packed buffers as AutoAWQ GEMM, forward = dequantized matmul, save and reload."""

import copy
import json

import pytest
import torch
from torch import nn

from gpu.quant import (
    WQLinear,
    fit_group_size,
    load_quantized,
    quantize_model,
    save_quantized,
    weight_bytes,
)
from gpu.quant.packing import unpack_awq
from gpu.quant.rtn import quantize_int4
from matlas.errors import InvalidInput


@pytest.fixture
def linear() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(256, 96)


def test_buffers_match_autoawq_gemm(linear):
    q = WQLinear.from_linear(linear, 64)
    assert (q.qweight.dtype, q.qweight.shape) == (torch.int32, (256, 12))
    assert (q.qzeros.dtype, q.qzeros.shape) == (torch.int32, (4, 12))
    assert (q.scales.dtype, q.scales.shape) == (torch.float16, (4, 96))
    codes, scales, zeros = quantize_int4(linear.weight, 64)
    assert torch.equal(unpack_awq(q.qweight), codes.t()) and torch.equal(unpack_awq(q.qzeros), zeros.t())
    assert torch.equal(q.scales, scales.t())


@pytest.mark.parametrize("cache_weight", [False, True])
def test_forward_is_the_dequantized_matmul(linear, cache_weight):
    q = WQLinear.from_linear(linear, 64, cache_weight=cache_weight)
    x = torch.randn(3, 5, 256)
    with torch.no_grad():
        expected = x @ q.dequantize().t() + linear.bias
        torch.testing.assert_close(q(x), expected)
        torch.testing.assert_close(q(x.double()), expected.double(), rtol=1e-5, atol=1e-5)
        assert (q(x) - linear(x)).abs().max() < 0.1 * linear(x).abs().max()
    assert (q._weight is not None) == cache_weight


def test_weight_bytes_of_int4_is_about_an_eighth(linear):
    packed = weight_bytes(WQLinear.from_linear(linear, 128))
    assert packed == 256 * 96 // 2 + 2 * (96 // 2) + 2 * 96 * 2  # codes + zeros + fp16 scales
    assert weight_bytes(linear) == 256 * 96 * 4


def test_fit_group_size():
    assert fit_group_size([256, 512]) == 128 and fit_group_size([576, 1536]) == 64 and fit_group_size([96]) == 32
    with pytest.raises(InvalidInput, match="no group size"):
        fit_group_size([100])


def test_save_and_reload_awq_checkpoint(tiny_lm_dir, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    model = quantize_model(AutoModelForCausalLM.from_pretrained(tiny_lm_dir), "rtn4")  # hidden 64 -> group 64
    save_quantized(model, tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())["quantization_config"]
    assert config == {"quant_method": "awq", "bits": 4, "group_size": 64, "zero_point": True, "version": "gemm"}
    with safe_open(tmp_path / "model.safetensors", "pt") as f:
        prefix = "model.layers.1.mlp.down_proj"  # in 128, out 64
        assert f.get_tensor(f"{prefix}.qweight").dtype == torch.int32 and f.get_slice(f"{prefix}.qweight").get_shape() == [128, 8]
        assert f.get_slice(f"{prefix}.qzeros").get_shape() == [2, 8]
        assert f.get_tensor(f"{prefix}.scales").dtype == torch.float16 and f.get_slice(f"{prefix}.scales").get_shape() == [2, 64]
        names = f.keys()
        assert not any(k.endswith("proj.weight") for k in names)
    reloaded = load_quantized(tmp_path)
    assert isinstance(reloaded.model.layers[0].self_attn.q_proj, WQLinear)
    x = torch.randint(0, 300, (2, 16))
    with torch.no_grad():
        torch.testing.assert_close(reloaded(x).logits, model(x).logits, rtol=0, atol=0)


def test_load_refuses_a_float_checkpoint(tiny_lm_dir):
    with pytest.raises(InvalidInput, match="not a 4-bit AWQ GEMM checkpoint"):
        load_quantized(tiny_lm_dir)


def test_quantize_model_targets_decoder_linears_only(tiny_lm_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir)
    quantized = quantize_model(copy.deepcopy(model), "rtn4", group_size=32)
    kinds = {name: type(m).__name__ for name, m in quantized.named_modules() if isinstance(m, nn.Linear | WQLinear)}
    assert kinds.pop("lm_head") == "Linear" and set(kinds.values()) == {"WQLinear"} and len(kinds) == 14
    with pytest.raises(InvalidInput, match="group_size 128 does not divide"):
        quantize_model(copy.deepcopy(model), "rtn4", group_size=128)
    with pytest.raises(InvalidInput, match="unknown quantization method 'nf4'"):
        quantize_model(model, "nf4")
