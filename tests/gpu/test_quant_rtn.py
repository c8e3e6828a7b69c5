"""Round-to-nearest int4 (asymmetric, per group) and torchao int8 weight-only."""

import pytest
import torch
from torch import nn

from gpu.quant.rtn import dequantize_int4, pseudo_quantize_int4, quantize_int4, quantize_int8_
from matlas.errors import InvalidInput


@pytest.fixture
def weight() -> torch.Tensor:
    return torch.randn(48, 256, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("group_size", [32, 128])
def test_int4_error_within_one_step_and_a_quarter_on_average(weight, group_size):
    q, scales, zeros = quantize_int4(weight, group_size)
    assert q.min() >= 0 and q.max() <= 15 and zeros.min() >= 0 and zeros.max() <= 15
    assert scales.dtype == torch.float16 and scales.shape == (48, 256 // group_size)
    err = (dequantize_int4(q, scales, zeros, group_size) - weight).abs().reshape(48, -1, group_size)
    step = scales.float().unsqueeze(-1)
    # half a step from rounding; up to a whole one where the rounded zero point pushes a code past 0..15
    assert torch.all(err <= step * 1.001)
    assert (err <= 0.5 * step * 1.001).float().mean() > 0.99
    assert err.mean() < 0.3 * step.mean()  # uniform rounding error: a quarter step


def test_int4_hits_group_min_and_max(weight):
    q, _, _ = quantize_int4(weight, 64)
    groups = q.reshape(48, -1, 64)
    assert torch.all(groups.amax(-1) >= 14) and torch.all(groups.amin(-1) <= 1)


def test_smaller_groups_quantize_more_finely(weight):
    errors = [(pseudo_quantize_int4(weight, g) - weight).pow(2).mean() for g in (32, 64, 128, 256)]
    assert errors == sorted(errors)


def test_group_size_must_divide_inputs(weight):
    with pytest.raises(InvalidInput, match="not a multiple of group_size 100"):
        quantize_int4(weight, 100)


def test_int8_is_per_channel_and_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(128, 64), nn.Linear(64, 32))
    x = torch.randn(8, 128)
    with torch.no_grad():
        model[0].weight[3] *= 50  # one large output channel must not coarsen the others
        ref = model(x)
        quantize_int8_(model, ["0"])
        out = model(x)
    assert type(model[0].weight).__name__ != "Parameter" and isinstance(model[1].weight, nn.Parameter)
    assert (out - ref).abs().max() < 0.01 * ref.abs().max()
