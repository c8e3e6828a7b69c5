"""The worker path: API -> Celery ``llm`` queue -> a real worker process -> Redis stream -> SSE.

One real ``matlas worker -Q llm`` serves the tiny model for the module; the API runs under uvicorn.
"""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest
import redis

from matlas.api import create_app
from matlas.settings import Settings
from tests._support.http_server import serving
from tests.workers.helpers import WorkerProcess
from workers import llm_service

CHAT = [{"role": "user", "content": "How is LiFePO4 made?"}]


@pytest.fixture(scope="module")
def llm_worker(broker_url, tiny_lm_dir, tmp_path_factory):
    """One ``matlas worker -Q llm`` serving the tiny model."""
    home = tmp_path_factory.mktemp("llm-worker")
    env = os.environ | {
        "MATLAS_BROKER_URL": broker_url, "MATLAS_REDIS_URL": broker_url, "MATLAS_LLM_MODEL": str(tiny_lm_dir),
        "MATLAS_HOME": str(home), "MATLAS_DEVICE": "cpu", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
    }
    worker = WorkerProcess(env, ["llm"], home / "worker.log")
    worker.start()
    deadline = time.monotonic() + 120
    while f"llm worker loaded {tiny_lm_dir}" not in worker.log.read_text(errors="replace"):  # pool process warm-up
        assert worker.running and time.monotonic() < deadline, worker.log.read_text(errors="replace")
        time.sleep(0.2)
    yield worker
    worker.stop()


@pytest.fixture(scope="module")
def base_url(broker_url, llm_worker, tiny_lm_dir, tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = Settings(llm_model=str(tiny_lm_dir), home=home, index_root=home / "indexes", broker_url=broker_url,
                        redis_url=broker_url, device="cpu", llm_max_tokens=64)
    with serving(create_app(settings)) as url:
        yield url


def _post(base_url: str, **body) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/chat/completions", json={"messages": CHAT, **body}, timeout=120)


def _sse(base_url: str, **body) -> list[dict]:
    with httpx.stream("POST", f"{base_url}/v1/chat/completions", json={"messages": CHAT, "stream": True, **body},
                      timeout=120) as r:
        assert r.status_code == 200, r.read()
        data = [line.removeprefix("data: ") for line in r.iter_lines() if line]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def test_worker_streams_what_the_model_generates(base_url, llm_worker, tiny_lm_dir, broker_url):
    model = str(tiny_lm_dir)
    whole = _post(base_url, model=model, max_tokens=12, temperature=0).json()
    chunks = _sse(base_url, model=model, max_tokens=12, temperature=0, stream_options={"include_usage": True})
    expected = llm_service.get_model(model).complete(CHAT, max_tokens=12)
    assert whole["choices"][0]["message"]["content"] == expected.text
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == expected.text
    assert whole["choices"][0]["finish_reason"] == chunks[-2]["choices"][0]["finish_reason"] == expected.finish_reason
    usage = {"prompt_tokens": expected.prompt_tokens, "completion_tokens": expected.completion_tokens,
             "total_tokens": expected.prompt_tokens + expected.completion_tokens}
    assert whole["usage"] == chunks[-1]["usage"] == usage
    deadline = time.monotonic() + 30  # the worker logs "succeeded" after its task returns: maybe after the reply
    while (log := llm_worker.log.read_text()).count("Task workers.llm_tasks.generate[") < 4:  # received + succeeded, twice
        assert time.monotonic() < deadline, log
        time.sleep(0.2)
    assert log.count("llm worker loaded") == 1  # once, by the pool process at start
    assert not redis.Redis.from_url(broker_url).keys("matlas:llm:*")  # readers delete their streams


def test_stop_and_max_tokens_through_the_worker(base_url, tiny_lm_dir):
    model, sampled = str(tiny_lm_dir), {"temperature": 1.0, "seed": 11}
    full = _post(base_url, model=model, max_tokens=16, **sampled).json()["choices"][0]["message"]["content"]
    stop = full[len(full) // 2:][:2]
    cut = _post(base_url, model=model, max_tokens=16, stop=stop, **sampled).json()["choices"][0]
    assert (cut["message"]["content"], cut["finish_reason"]) == (full[:full.find(stop)], "stop")
    short = _post(base_url, model=model, max_tokens=3, **sampled).json()
    assert (short["usage"]["completion_tokens"], short["choices"][0]["finish_reason"]) == (3, "length")


def test_worker_errors_keep_their_status(base_url, tiny_lm_dir):
    too_long = [{"role": "user", "content": "band gap " * 3000}]  # beyond the tiny model's 4096-token context
    for stream in (False, True):
        r = httpx.post(f"{base_url}/v1/chat/completions", timeout=120,
                       json={"model": str(tiny_lm_dir), "messages": too_long, "stream": stream})
        assert r.status_code == 422 and "no room" in r.json()["detail"]


def test_unknown_model_and_bad_requests_fail_before_queueing(base_url, tiny_lm_dir):
    assert _post(base_url, model="nope").status_code == 404
    assert _post(base_url, model=str(tiny_lm_dir), n=3).status_code == 422
