"""Chat generation on hosted models: a process-wide model registry and one ``generate`` door.

``generate(request, config, tasks=...)`` yields ``TokenEvent``s (deltas, then ``end`` with usage).
Without a task queue it runs the model in this process; with one it submits the Celery task
``workers.llm_tasks.generate`` to the ``llm`` queue and relays the worker's Redis token stream.
Nothing here imports Celery: the ``hf`` chat backend and the API's OpenAI routes import this module.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Literal

import redis
from pydantic import BaseModel, ConfigDict, Field

from matlas.errors import MatlasError, UpstreamError
from workers import streams
from workers.hosting import Completion, HostedModel, Quantization, Usage, smollm2_gguf_path
from workers.queues import GENERATE_TASK, LLM, TaskQueue
from workers.streams import TokenEvent
from workers.tool_calls import ToolCallConstraint

__all__ = [
    "GENERATE_TASK", "ChatMessage", "GenerationRequest", "ModelNotFound", "ServingConfig", "complete", "generate", "get_model", "local_events",
    "serve", "served_models", "warm_up",
]

DEFAULT_MODEL = "SmolLM2-135M-Instruct"  # id of the bundled GGUF when no model is configured
STREAM_TIMEOUT_S = 120.0  # longest wait for the next event of a worker (the first includes queueing)
STREAM_TTL_S = 600  # a token stream nobody reads is deleted after this long

_MODELS: dict[tuple[str, str], HostedModel] = {}
_LOAD_LOCK = threading.Lock()


class ServingConfig(BaseModel):
    """The hosted model of a deployment (``matlas.wiring.serving_config`` makes it from the settings)."""

    model_config = ConfigDict(frozen=True)

    model: str | None = Field(None, description="Path, hub id or .gguf; None: the bundled SmolLM2.")
    quantization: Quantization = Field("none", description="Weights of the hosted model.")
    cache_dir: Path | None = Field(None, description="Where downloaded and quantized weights are cached.")
    device: str = Field("auto", description="Torch device of the model.")
    streams_url: str | None = Field(None, description="Redis of the token streams between workers and readers.")


class ModelNotFound(MatlasError, LookupError):
    """A model name this server does not host."""

    status_code = 404


class ChatMessage(BaseModel):
    """One message of a chat."""

    role: Literal["system", "user", "assistant"]
    content: str


class GenerationRequest(BaseModel):
    """A chat to continue on a hosted model, with the decoding parameters."""

    model: str = Field(description="A name from served_models().")
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(ge=1, description="Most tokens to generate.")
    stop: list[str] = Field(default_factory=list, description="Strings that end generation (not returned).")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 decodes greedily.")
    seed: int | None = Field(None, description="Seed of sampling.")
    constraint: ToolCallConstraint | None = Field(None, description="Grammar of a tool call to decode under.")


def served_models(config: ServingConfig) -> list[str]:
    """Ids of the models this deployment hosts: ``config.model``, else the bundled SmolLM2."""
    return [config.model or DEFAULT_MODEL]


def get_model(name: str, *, quantization: Quantization = "none", cache_dir: Path | None = None,
              device: str = "auto") -> HostedModel:
    """The hosted model ``name`` (path, hub id or .gguf), loaded once per process and quantization."""
    key = (name, quantization)
    if (model := _MODELS.get(key)) is None:
        with _LOAD_LOCK:
            if (model := _MODELS.get(key)) is None:
                model = _MODELS[key] = HostedModel.load(name, quantization=quantization, cache_dir=cache_dir,
                                                        device=device)
    return model


def _check_served(config: ServingConfig, name: str) -> None:
    served = served_models(config)
    if name not in served:
        raise ModelNotFound(f"model {name!r} is not served here; served: {served} (GET /v1/models)")


def _hosted(config: ServingConfig, name: str) -> HostedModel:
    _check_served(config, name)
    source = str(smollm2_gguf_path()) if name == DEFAULT_MODEL and config.model is None else name
    return get_model(source, quantization=config.quantization, cache_dir=config.cache_dir, device=config.device)


def warm_up(config: ServingConfig) -> list[str]:
    """Load every served model now rather than on the first request; returns their ids."""
    names = served_models(config)
    for name in names:
        _hosted(config, name)
    return names


def local_events(request: GenerationRequest, config: ServingConfig) -> Generator[TokenEvent, None, None]:
    """Generate in this process: a ``delta`` event per text piece, then ``end`` with usage."""
    model = _hosted(config, request.model)
    usage = Usage()
    for text in model.stream([m.model_dump() for m in request.messages], max_tokens=request.max_tokens,
                             stop=request.stop, temperature=request.temperature, seed=request.seed, usage=usage,
                             constraint=request.constraint):
        yield TokenEvent(kind="delta", text=text)
    yield TokenEvent(kind="end", finish_reason=usage.finish_reason, prompt_tokens=usage.prompt_tokens,
                     completion_tokens=usage.completion_tokens)


def generate(request: GenerationRequest, config: ServingConfig, *, tasks: TaskQueue | None = None,
             request_id: str | None = None, timeout_s: float = STREAM_TIMEOUT_S) -> Generator[TokenEvent, None, None]:
    """Events of the completion: in this process, or on an ``llm`` worker of ``tasks`` when given.

    Raises ``ModelNotFound`` at once for a model not served; later failures raise ``MatlasError``s
    while iterating (``UpstreamError`` when no worker answers within ``timeout_s``).
    """
    _check_served(config, request.model)
    if tasks is None:
        return local_events(request, config)
    request_id = request_id or uuid.uuid4().hex
    client = _redis(_streams_url(config))
    tasks.send(GENERATE_TASK, queue=LLM, request_id=request_id, request=request.model_dump(mode="json"))
    return streams.read(client, request_id, timeout_s=timeout_s)


def complete(events: Iterator[TokenEvent]) -> Completion:
    """Fold the events of ``generate`` into one completion."""
    pieces: list[str] = []
    for event in events:
        if event.kind == "end":
            return Completion(text="".join(pieces), prompt_tokens=event.prompt_tokens,
                              completion_tokens=event.completion_tokens, finish_reason=event.finish_reason)
        pieces.append(event.text)
    raise MatlasError("the generation ended without its end event")


def serve(request_id: str, request: GenerationRequest, config: ServingConfig) -> bool:
    """Generate in this process into the request's Redis stream (the ``llm`` worker's job).

    Returns False when the reader went away and generation stopped early.
    """
    return streams.publish(_redis(_streams_url(config)), request_id, local_events(request, config),
                           maxlen=request.max_tokens + 16, ttl_s=STREAM_TTL_S)


def _streams_url(config: ServingConfig) -> str:
    url = config.streams_url
    if url is None or not url.startswith(("redis://", "rediss://", "unix://")):
        raise UpstreamError("token streams need Redis: set MATLAS_REDIS_URL (redis://host:6379/0)")
    return url


@functools.cache
def _redis(url: str) -> redis.Redis:
    """One connection pool per Redis URL and process."""
    return redis.Redis.from_url(url)
