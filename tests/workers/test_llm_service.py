"""The in-process path of ``workers.llm_service``: registry, generation events, stop and length."""

from __future__ import annotations

import pytest

from matlas.settings import Settings
from matlas.wiring import serving_config
from workers import llm_service
from workers.llm_service import GenerationRequest, ModelNotFound

CHAT = [{"role": "user", "content": "What is the band gap of GaN?"}]


@pytest.fixture(scope="module")
def settings(tiny_lm_dir, tmp_path_factory) -> Settings:
    return Settings(llm_model=str(tiny_lm_dir), home=tmp_path_factory.mktemp("home"), broker_url=None, device="cpu")


def _request(settings: Settings, **kw) -> GenerationRequest:
    return GenerationRequest(model=settings.llm_model, messages=CHAT, **{"max_tokens": 12, **kw})


def test_models_load_once_per_process_and_quantization(settings):
    assert llm_service.warm_up(serving_config(settings)) == [settings.llm_model]
    plain = llm_service.get_model(settings.llm_model)
    assert plain is llm_service.get_model(settings.llm_model) and plain.quantization == "none"
    int8 = llm_service.get_model(settings.llm_model, quantization="int8")
    assert int8 is not plain and int8 is llm_service.get_model(settings.llm_model, quantization="int8")
    assert int8.quantization == "int8"


def test_served_models_default_to_bundled_smollm2():
    assert llm_service.served_models(serving_config(Settings(llm_model=None))) == [llm_service.DEFAULT_MODEL]


def test_events_equal_the_models_own_completion(settings):
    request = _request(settings, temperature=1.0, seed=7)
    events = list(llm_service.generate(request, serving_config(settings)))
    assert [e.kind for e in events] == ["delta"] * (len(events) - 1) + ["end"]
    assert all(e.text for e in events[:-1])
    done = llm_service.complete(iter(events))
    expected = llm_service.get_model(settings.llm_model).complete(CHAT, max_tokens=12, temperature=1.0, seed=7)
    assert done == expected
    assert done.prompt_tokens == len(llm_service.get_model(settings.llm_model).prompt_ids(CHAT))


def test_max_tokens_ends_with_length(settings):
    done = llm_service.complete(llm_service.generate(_request(settings, max_tokens=3, temperature=1.0, seed=1), serving_config(settings)))
    assert (done.completion_tokens, done.finish_reason) == (3, "length")


def test_stop_string_cuts_the_text(settings):
    full = llm_service.complete(llm_service.generate(_request(settings, temperature=1.0, seed=3), serving_config(settings)))
    stop = full.text[len(full.text) // 2:][:2]
    assert stop, f"need a longer sample than {full.text!r}"
    done = llm_service.complete(llm_service.generate(_request(settings, temperature=1.0, seed=3, stop=[stop]), serving_config(settings)))
    assert done.text == full.text[:full.text.find(stop)]
    assert done.finish_reason == "stop"


def test_unknown_model_raises_before_generating(settings):
    with pytest.raises(ModelNotFound, match="'nope' is not served"):
        llm_service.generate(GenerationRequest(model="nope", messages=CHAT, max_tokens=4), serving_config(settings))
