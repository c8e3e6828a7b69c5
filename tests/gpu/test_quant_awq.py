"""AWQ: scale folding keeps the float function, the searches beat plain round-to-nearest."""

import copy

import pytest
import torch

from gpu.quant import quantize_model
from gpu.quant.awq import (
    apply_scale,
    calibration_samples,
    decoder_layers,
    scaling_groups,
    search_clip,
    search_scale,
)
from gpu.quant.rtn import pseudo_quantize_int4
from matlas.errors import InvalidInput

GROUP = 32


@pytest.fixture(scope="module")
def outlier_lm():
    """A tiny Llama without GQA (so o_proj is scaled too) whose norms make a few activation channels
    20x larger than the rest, as in real LLMs."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=300, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for layer in model.model.layers:
            for norm in (layer.input_layernorm, layer.post_attention_layernorm):
                norm.weight[torch.randperm(128)[:4]] = 20.0
    return model


def ids(seed: int, n: int = 8, seqlen: int = 48) -> torch.Tensor:
    return torch.randint(0, 300, (n, seqlen), generator=torch.Generator().manual_seed(seed))


def test_groups_of_a_llama_layer(outlier_lm):
    groups = scaling_groups(decoder_layers(outlier_lm)[0])
    assert [list(g.linears) for g in groups] == [
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["self_attn.o_proj"],
        ["mlp.gate_proj", "mlp.up_proj"], ["mlp.down_proj"]]


def test_scale_folding_keeps_the_float_model(outlier_lm):
    model = copy.deepcopy(outlier_lm)
    x = ids(1)
    with torch.no_grad():
        ref = model(x).logits
        for layer in decoder_layers(model):
            for group in scaling_groups(layer):
                width = next(iter(group.linears.values())).in_features
                apply_scale(group, torch.exp(torch.randn(width) * 0.7))
        out = model(x).logits
    assert not torch.equal(model.model.layers[0].input_layernorm.weight, outlier_lm.model.layers[0].input_layernorm.weight)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_scale_search_beats_round_to_nearest_on_outlier_channels(outlier_lm):
    layer = copy.deepcopy(decoder_layers(outlier_lm)[0])
    group = scaling_groups(layer)[2]  # post_attention_layernorm -> gate/up, judged on the MLP output
    x = layer.post_attention_layernorm(torch.randn(4, 32, 128))
    before = {n: lin.weight.clone() for n, lin in group.linears.items()}
    with torch.no_grad():
        _, plain = search_scale(group, x, {}, GROUP, duo=False)
        scales, losses = search_scale(group, x, {}, GROUP)  # duo scaling, AutoAWQ's default
    assert len(plain) == 20 and min(plain) < 0.7 * plain[0]  # plain[0]: alpha 0, s = 1: plain RTN
    assert min(losses) < 0.7 * plain[0]
    assert all(torch.equal(lin.weight, before[n]) for n, lin in group.linears.items())  # search restores
    outliers = layer.post_attention_layernorm.weight > 10
    assert scales[outliers].min() > scales[~outliers].max()  # salient channels are scaled up


def test_clip_search_lowers_output_error():
    torch.manual_seed(0)
    w = torch.randn(64, 128)
    w[:, ::16] *= 8  # heavy-tailed weights: clipping trades a few outliers for a finer grid
    x = torch.randn(256, 128)
    max_val = search_clip(w, x, GROUP).unsqueeze(-1)
    clipped = w.reshape(64, -1, GROUP).clamp(-max_val, max_val).reshape(64, 128)

    def err(q):
        return (x @ (q - w).t()).pow(2).mean()

    assert max_val.squeeze(-1).le(w.abs().reshape(64, -1, GROUP).amax(-1)).all()
    assert err(pseudo_quantize_int4(clipped, GROUP)) < err(pseudo_quantize_int4(w, GROUP))


@pytest.mark.parametrize("search_samples", [None, 3])
def test_awq_model_is_closer_to_float_than_rtn(outlier_lm, search_samples):
    x = ids(2)
    with torch.no_grad():
        ref = outlier_lm(x).logits
        rtn = quantize_model(copy.deepcopy(outlier_lm), "rtn4", group_size=GROUP)(x).logits
        awq = quantize_model(copy.deepcopy(outlier_lm), "awq4", calib=ids(3), group_size=GROUP,
                             search_samples=search_samples)(x).logits

    def mse(out):
        return float((out - ref).pow(2).mean())

    assert mse(awq) < 0.8 * mse(rtn)


def test_awq_needs_calibration(outlier_lm):
    with pytest.raises(InvalidInput, match="calibration"):
        quantize_model(copy.deepcopy(outlier_lm), "awq4")


def test_calibration_samples_are_seeded_windows(tiny_lm_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    a, b = calibration_samples(tok, 4, 32, seed=0), calibration_samples(tok, 4, 32, seed=1)
    assert a.shape == (4, 32) and a.dtype == torch.int64
    assert torch.equal(a, calibration_samples(tok, 4, 32, seed=0)) and not torch.equal(a, b)
