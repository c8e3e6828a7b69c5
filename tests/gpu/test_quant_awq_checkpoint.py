"""Our AWQ checkpoints read by an independent loader, as transformers / vLLM would read them.

transformers' own AWQ path (``AwqQuantizer``) needs ``gptqmodel``: with transformers 5.25.0,
``AutoModelForCausalLM.from_pretrained(<our checkpoint>, device_map="cpu")`` raises ``ImportError: Loading
an AWQ quantized model requires gptqmodel. Please install it with `pip install gptqmodel``` (checked
2026-12-07), and PyPI has no wheel of ``gptqmodel`` 7.7.0 (``pip download gptqmodel==7.7.0
--only-binary=:all:`` finds none; only a source distribution that compiles its kernels). So the oracle
here is the AutoAWQ GEMM format itself, written out in numpy from its specification (``qweight``
int32 [in, out/8] with nibble ``i`` holding column ``AWQ order[i]``, ``qzeros`` likewise per group,
fp16 ``scales``, ``W = (q - z) * s``): the safetensors file is read with ``safetensors.numpy``,
the weights are dequantized here, put into a plain transformers model built from the checkpoint's
config, and its logits are compared with our ``load_quantized`` model. The config itself is
validated by transformers' ``AwqConfig``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gpu.quant import load_quantized, quantize_model, save_quantized

# AutoAWQ (awq/utils/packing_utils.py): packing interleaves columns 0 2 4 6 1 3 5 7; column j sits in nibble REVERSE[j]
REVERSE = [0, 4, 1, 5, 2, 6, 3, 7]


def unpack(packed: np.ndarray) -> np.ndarray:
    """int32 [rows, cols/8] -> codes [rows, cols] in 0..15."""
    words = packed.astype(np.int64) & 0xFFFFFFFF
    nibbles = np.stack([(words >> (4 * i)) & 0xF for i in range(8)], axis=-1)  # [rows, cols/8, 8]
    return nibbles[..., REVERSE].reshape(packed.shape[0], -1)


def dequantize(qweight: np.ndarray, qzeros: np.ndarray, scales: np.ndarray, group: int) -> np.ndarray:
    """The float weight [out, in] of one AWQ GEMM linear."""
    q, z = unpack(qweight), unpack(qzeros)  # [in, out], [in/group, out]
    rows = np.arange(q.shape[0]) // group
    w = (q - z[rows]).astype(np.float32) * scales.astype(np.float32)[rows]
    return w.T


def independent_model(path):
    """A plain transformers model with every linear dequantized by the numpy code above."""
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoModelForCausalLM, AwqConfig

    raw = json.loads((path / "config.json").read_text())["quantization_config"]
    cfg = AwqConfig.from_dict(raw)
    assert (cfg.bits, cfg.zero_point, str(cfg.format).lower().split(".")[-1]) == (4, True, "gemm")
    group = raw["group_size"]
    state = {k: v for f in sorted(path.glob("*.safetensors")) for k, v in load_file(f).items()}
    config = AutoConfig.from_pretrained(path)
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    weights = {}
    for key in state:
        if key.endswith(".qweight"):
            name = key.removesuffix(".qweight")
            weights[f"{name}.weight"] = torch.from_numpy(
                dequantize(state[key], state[f"{name}.qzeros"], state[f"{name}.scales"], group).copy())
        elif not key.endswith((".qzeros", ".scales")):
            weights[key] = torch.from_numpy(state[key].copy()).float()
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    return model, len([k for k in state if k.endswith(".qweight")])


@pytest.fixture(scope="module")
def base(tiny_lm_dir):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()


@pytest.mark.parametrize("method", ["awq4", "rtn4"])
def test_independent_loader_gives_our_models_logits(base, tmp_path, method):
    import copy

    calib = torch.randint(0, base.config.vocab_size, (8, 32), generator=torch.Generator().manual_seed(0))
    quantized = quantize_model(copy.deepcopy(base), method, calib=calib if method == "awq4" else None, group_size=32)
    save_quantized(quantized, tmp_path)
    ours = load_quantized(tmp_path).eval()
    theirs, n_linears = independent_model(tmp_path)
    assert n_linears == 7 * base.config.num_hidden_layers  # q k v o gate up down per layer
    x = torch.randint(0, base.config.vocab_size, (2, 24), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b, ref = ours(x).logits, theirs(x).logits, base(x).logits
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert (a - ref).abs().max() > 0  # quantized: not the float model
    assert (a - ref).abs().mean() < 0.1 * ref.abs().mean()  # ... but close to it


def test_rtn_codes_round_the_float_weights(base, tmp_path):
    """RTN int4: every dequantized weight is within half a step of the float one (groups of 32)."""
    import copy

    save_quantized(quantize_model(copy.deepcopy(base), "rtn4", group_size=32), tmp_path)
    from safetensors.numpy import load_file

    state = {k: v for f in tmp_path.glob("*.safetensors") for k, v in load_file(f).items()}
    name = "model.layers.0.mlp.up_proj"
    w = dequantize(state[f"{name}.qweight"], state[f"{name}.qzeros"], state[f"{name}.scales"], 32)
    original = base.get_submodule(name).weight.detach().numpy()
    step = np.repeat(state[f"{name}.scales"].astype(np.float32).T, 32, axis=1)
    assert w.shape == original.shape
    assert np.all(np.abs(w - original) <= step / 2 + 1e-3 * step + 1e-6)
