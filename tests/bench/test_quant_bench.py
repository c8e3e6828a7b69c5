"""``bench.quant.measure``: every row is compared with the unquantized model, whatever runs first."""

import pytest
import torch

from bench.quant import measure, perplexity


@pytest.fixture(scope="module")
def tiny(tiny_lm_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()
    ids = AutoTokenizer.from_pretrained(tiny_lm_dir)("The band gap of silicon is 1.1 eV. GaN has a wide band gap.",
                                                     return_tensors="pt").input_ids
    return model, ids


def test_reference_is_the_unquantized_model_whatever_runs_first(tiny):
    model, ids = tiny
    base_ppl = perplexity(model, ids)  # recomputed here by cross-entropy, not taken from a row
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1]
    oracle = float(torch.exp(torch.nn.functional.cross_entropy(logits, ids[0, 1:])))
    assert base_ppl == pytest.approx(oracle, rel=1e-5)
    rows = measure(model, ids, ["rtn4", "int8", "fp32"], group_size=32)
    by = {r["method"]: r for r in rows}
    assert by["fp32"]["vs_fp32_%"] == 0.0 and by["fp32"]["ppl"] == pytest.approx(oracle, abs=1e-3)
    for method in ("rtn4", "int8"):
        assert by[method]["vs_fp32_%"] == pytest.approx(100 * (by[method]["ppl"] / oracle - 1), abs=0.02)
    assert by["rtn4"]["vs_fp32_%"] != 0.0  # rtn4 is first and is still compared with fp32, not itself
    assert perplexity(model, ids) == base_ppl  # the base model was not quantized in place
