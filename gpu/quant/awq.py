"""AWQ (Lin et al. 2023): activation-aware scaling and clipping before int4 round-to-nearest.

Calibration tokens run through the model block by block: the inputs of the first decoder layer
are captured with a hook, then each layer in turn

1. records the inputs of its linears (forward hooks) and their per-channel mean ``|x|``;
2. for each group of linears sharing an input (q/k/v after ``input_layernorm``; o after v when
   shapes allow; gate/up after ``post_attention_layernorm``; down after up) grid-searches
   ``alpha`` in {0, 1/20, ..., 19/20} for ``s = mean|x| ** alpha / mean|w~| ** (1 - alpha)``
   (AutoAWQ's duo scaling, ``w~`` = weights over their group's max; normalised), minimising the
   MSE of the group's module output with ``Q(W * s) / s`` weights, and folds the best ``s`` into
   the preceding norm or linear (``W * s``, previous op ``/ s``: the float function is unchanged);
3. searches a per-group clipping threshold (``max|w|`` shrunk by up to 50 %) minimising each
   linear's output error (q and k are skipped, as AutoAWQ does);
4. replaces its linears by int4 ``WQLinear`` and feeds the *quantized* layer's outputs to the next
   layer, so later layers calibrate on the error upstream layers really make (AutoAWQ feeds the
   float outputs).

Supports Llama-style decoder layers (Llama, Qwen2, Mistral, SmolLM): ``self_attn.{q,k,v,o}_proj``,
``mlp.{gate,up,down}_proj`` and RMSNorms whose weight multiplies the normalised input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gpu.quant.qlinear import WQLinear
from gpu.quant.rtn import pseudo_quantize_int4
from matlas.errors import InvalidInput

__all__ = ["ScaleGroup", "apply_scale", "awq_quantize", "calibration_samples", "decoder_layers",
           "scaling_groups", "search_scale"]

N_GRID = 20
MAX_SHRINK = 0.5
CLIP_TOKENS = 512
_NO_CLIP = ("q_proj", "k_proj")  # their error reaches the output through softmax(q k^T), not linearly


@dataclass
class ScaleGroup:
    """Linears sharing one input, the op producing that input, and the module whose output is judged."""

    prev: nn.Module
    linears: dict[str, nn.Linear]
    inspect: nn.Module
    takes_kwargs: bool = False  # the attention module needs the layer's position embeddings and mask


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder layers of a Hugging Face causal LM (``model.model.layers``)."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise InvalidInput(f"{type(model).__name__} has no model.layers; quantization supports "
                           "Llama-style causal LMs (Llama, Qwen2, Mistral, SmolLM)")
    return layers


def calibration_samples(tokenizer, n_samples: int = 32, seqlen: int = 256, seed: int = 0) -> torch.Tensor:
    """Token ids [n_samples, seqlen] (int64) cut at seeded offsets from the Python language reference
    (``pydoc_data.topics``, shipped with CPython: offline and deterministic)."""
    from pydoc_data.topics import topics

    ids = tokenizer("\n\n".join(topics[k] for k in sorted(topics)), add_special_tokens=False).input_ids
    if len(ids) <= seqlen:
        raise InvalidInput(f"calibration text has {len(ids)} tokens; seqlen {seqlen} is too long")
    starts = torch.randint(0, len(ids) - seqlen, (n_samples,), generator=torch.Generator().manual_seed(seed))
    return torch.tensor([ids[s:s + seqlen] for s in starts.tolist()])


def scaling_groups(layer: nn.Module) -> list[ScaleGroup]:
    """The AWQ scaling groups of one Llama-style decoder layer, in forward order."""
    try:
        attn, mlp = layer.self_attn, layer.mlp
        groups = [ScaleGroup(layer.input_layernorm, {"self_attn.q_proj": attn.q_proj, "self_attn.k_proj": attn.k_proj,
                                                     "self_attn.v_proj": attn.v_proj}, attn, takes_kwargs=True)]
        if attn.v_proj.weight.shape == attn.o_proj.weight.shape:  # no GQA: o's input channels are v's outputs
            groups.append(ScaleGroup(attn.v_proj, {"self_attn.o_proj": attn.o_proj}, attn.o_proj))
        groups.append(ScaleGroup(layer.post_attention_layernorm,
                                 {"mlp.gate_proj": mlp.gate_proj, "mlp.up_proj": mlp.up_proj}, mlp))
        groups.append(ScaleGroup(mlp.up_proj, {"mlp.down_proj": mlp.down_proj}, mlp.down_proj))
    except AttributeError as err:
        raise InvalidInput(f"AWQ supports Llama-style decoder layers; {type(layer).__name__}: {err}") from err
    return groups


def apply_scale(group: ScaleGroup, scales: torch.Tensor) -> None:
    """Fold ``scales`` [in] into ``group``: its linears' input channels ``* s``, the previous op ``/ s``."""
    prev = group.prev
    if isinstance(prev, nn.Linear):
        prev.weight[-scales.numel():].div_(scales.view(-1, 1))
    else:
        prev.weight.div_(scales)
    if getattr(prev, "bias", None) is not None:
        prev.bias.div_(scales)
    for linear in group.linears.values():
        linear.weight.mul_(scales.view(1, -1))


def search_scale(group: ScaleGroup, x: torch.Tensor, kwargs: dict, group_size: int, n_grid: int = N_GRID,
                 search_samples: int | None = None, duo: bool = True) -> tuple[torch.Tensor, list[float]]:
    """Best scales [in] for ``group`` given its input ``x`` [n, seq, in], and the output MSE per alpha
    (without ``duo``, ``losses[0]`` is plain round-to-nearest: alpha 0, s = 1). ``mean|x|`` uses all ``n`` sequences,
    the loss the first ``search_samples`` (None: all). ``duo`` (AutoAWQ's default ``duo_scaling``)
    searches ``s = mean|x| ** alpha / mean|w~| ** (1 - alpha)``, ``w~`` the weights normalised by
    their group's ``max|w|``; without it ``s = mean|x| ** alpha`` (the paper's form)."""
    x_mean = x.abs().reshape(-1, x.shape[-1]).float().mean(0)
    w_mean = _weight_mean(group.linears.values(), group_size).to(x_mean) if duo else None
    if search_samples is not None and search_samples < x.shape[0]:
        kwargs = {k: v[:search_samples] if torch.is_tensor(v) and v.shape[0] == x.shape[0] else v
                  for k, v in kwargs.items()}
        x = x[:search_samples]
    target = _run(group, x, kwargs)
    originals = {name: lin.weight.detach().clone() for name, lin in group.linears.items()}
    losses, best = [], None
    for step in range(n_grid):
        alpha = step / n_grid
        s = x_mean.pow(alpha) / (w_mean.pow(1 - alpha) + 1e-4) if duo else x_mean.pow(alpha)
        s = s.clamp(min=1e-4)
        s = (s / (s.max() * s.min()).sqrt()).to(x.dtype)
        for name, lin in group.linears.items():
            lin.weight.copy_(pseudo_quantize_int4(originals[name] * s, group_size) / s)
        losses.append(float((_run(group, x, kwargs) - target).float().pow(2).mean()))
        if losses[-1] <= min(losses):
            best = s
    for name, lin in group.linears.items():
        lin.weight.copy_(originals[name])
    return best, losses


def _weight_mean(linears, group_size: int) -> torch.Tensor:
    """Mean over output rows of ``|w|`` normalised by its group's ``max|w|``, per input channel."""
    w = torch.cat([lin.weight.detach().float() for lin in linears])
    g = w.abs().reshape(-1, group_size)
    return (g / (g.amax(dim=1, keepdim=True) + 1e-6)).reshape(w.shape).mean(0)


def search_clip(weight: torch.Tensor, x: torch.Tensor, group_size: int, n_grid: int = N_GRID,
                max_shrink: float = MAX_SHRINK) -> torch.Tensor:
    """Per (output channel, group) clipping thresholds [out, in / group_size] minimising the error of
    ``x @ Q(clamp(W))^T`` per group, over at most ``CLIP_TOKENS`` evenly spaced tokens of ``x``."""
    out_features, in_features = weight.shape
    x = x.reshape(-1, in_features)
    x = x[:: max(1, x.shape[0] // CLIP_TOKENS)].float()
    xg = x.reshape(x.shape[0], -1, group_size).transpose(0, 1)  # [groups, tokens, g]
    w = weight.float().reshape(out_features, -1, group_size)  # [out, groups, g]
    reference = torch.bmm(xg, w.permute(1, 2, 0))  # [groups, tokens, out]
    limit = w.abs().amax(dim=-1)  # [out, groups]
    best, best_err = limit.clone(), torch.full_like(limit, float("inf"))
    for step in range(int(max_shrink * n_grid)):
        max_val = limit * (1 - step / n_grid)
        clipped = w.clamp(-max_val.unsqueeze(-1), max_val.unsqueeze(-1)).reshape(out_features, in_features)
        q = pseudo_quantize_int4(clipped, group_size).reshape(out_features, -1, group_size)
        err = (torch.bmm(xg, q.permute(1, 2, 0)) - reference).pow(2).mean(dim=1).t()  # [out, groups]
        better = err < best_err
        best_err[better], best[better] = err[better], max_val[better]
    return best


@torch.no_grad()
def awq_quantize(model: nn.Module, calib: torch.Tensor, group_size: int, *, search_samples: int | None = None,
                 cache_weight: bool = False) -> nn.Module:
    """Scale, clip and int4-quantize every decoder-layer linear of ``model`` in place, calibrated on
    token ids ``calib`` [n_samples, seqlen]; returns ``model``. The scale search judges the first
    ``search_samples`` sequences (None: all; fewer is proportionally faster)."""
    layers = decoder_layers(model)
    hidden, kwargs = _first_layer_inputs(model, layers, calib)
    for layer in layers:
        feats = _linear_inputs(layer, hidden, kwargs)
        for group in scaling_groups(layer):
            x = feats[next(iter(group.linears))]
            scales, _ = search_scale(group, x, kwargs, group_size, search_samples=search_samples)
            apply_scale(group, scales)
            for name in group.linears:
                feats[name] = feats[name] / scales
        for name, linear in _linears(layer).items():
            if not name.endswith(_NO_CLIP):
                max_val = search_clip(linear.weight, feats[name], group_size).unsqueeze(-1)
                w = linear.weight.reshape(linear.out_features, -1, group_size)
                linear.weight.copy_(w.clamp(-max_val, max_val).reshape(linear.weight.shape))
            layer.set_submodule(name, WQLinear.from_linear(linear, group_size, cache_weight=cache_weight))
        del feats
        hidden = _output(layer(hidden, **kwargs))
    return model


class _Captured(Exception):
    """Stops the calibration forward pass once the first decoder layer's inputs are recorded."""


def _first_layer_inputs(model: nn.Module, layers: nn.ModuleList, calib: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Hidden states entering ``layers[0]`` and the keyword arguments the model passes each layer."""
    seen: dict = {}

    def hook(module, args, kwargs):
        seen["hidden"] = args[0] if args else kwargs.pop("hidden_states")
        seen["kwargs"] = kwargs
        raise _Captured

    handle = layers[0].register_forward_pre_hook(hook, with_kwargs=True)
    try:
        model(input_ids=calib.to(next(model.parameters()).device), use_cache=False)
    except _Captured:
        pass
    finally:
        handle.remove()
    return seen["hidden"], seen["kwargs"]


def _linear_inputs(layer: nn.Module, hidden: torch.Tensor, kwargs: dict) -> dict[str, torch.Tensor]:
    """The input of every linear of ``layer`` on ``hidden`` (one float forward pass)."""
    feats: dict[str, torch.Tensor] = {}
    handles = [lin.register_forward_hook(lambda m, args, out, name=name: feats.__setitem__(name, args[0]))
               for name, lin in _linears(layer).items()]
    try:
        layer(hidden, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return feats


def _linears(layer: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in layer.named_modules() if isinstance(m, nn.Linear)}


def _run(group: ScaleGroup, x: torch.Tensor, kwargs: dict) -> torch.Tensor:
    return _output(group.inspect(x, **kwargs) if group.takes_kwargs else group.inspect(x))


def _output(out) -> torch.Tensor:
    """Hidden states of a module's output (attention and older decoder layers return tuples)."""
    return out[0] if isinstance(out, tuple) else out
