"""OpenAI-compatible serving of hosted models: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Works with the official ``openai`` client and ``langchain_openai.ChatOpenAI(base_url=.../v1)``.
Errors before the first token are HTTP errors (``{"detail": ...}``); a failure mid-stream is sent
as an OpenAI ``{"error": {...}}`` event, which the ``openai`` client raises as ``APIError``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator, Iterator
from itertools import chain

from fastapi import APIRouter
from fastapi.sse import EventSourceResponse, format_sse_event

from matlas.api.deps import SettingsDep
from matlas.api.openai_models import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    ModelCard,
    ModelList,
    Usage,
)
from matlas.errors import MatlasError
from workers import llm_service
from workers.streams import TokenEvent

router = APIRouter(tags=["openai"])
_STARTED = int(time.time())


@router.get("/models", response_model=ModelList)
def list_models(settings: SettingsDep) -> ModelList:
    """The models this server hosts."""
    return ModelList(data=[ModelCard(id=name, created=_STARTED) for name in llm_service.served_models(settings)])


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Chunks when stream is true."}})
def chat_completions(body: ChatCompletionRequest, settings: SettingsDep) -> ChatCompletion | EventSourceResponse:
    """Continue a chat on a hosted model, whole or as server-sent chunks (``stream: true``)."""
    request = body.to_generation(settings.llm_max_tokens)
    completion_id = uuid.uuid4().hex
    events = llm_service.generate(request, settings, request_id=completion_id)
    head = {"id": f"chatcmpl-{completion_id}", "created": int(time.time()), "model": body.model}
    if not body.stream:
        done = llm_service.complete(events)
        return ChatCompletion(
            **head, choices=[Choice(message=AssistantMessage(content=done.text), finish_reason=done.finish_reason)],
            usage=Usage.of(done.prompt_tokens, done.completion_tokens),
        )
    first = next(events)  # fail with an HTTP status, not a broken stream, when nothing can be generated
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    return EventSourceResponse(_sse(head, first, events, include_usage=include_usage),
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _sse(head: dict, first: TokenEvent, events: Generator[TokenEvent], *, include_usage: bool) -> Iterator[bytes]:
    """The chunks of a stream as SSE: role, content deltas, finish reason, optional usage, ``[DONE]``."""

    def chunk(delta: Delta, finish_reason: str | None = None) -> bytes:
        return format_sse_event(data_str=ChatCompletionChunk(
            **head, choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)]).model_dump_json())

    try:
        yield chunk(Delta(role="assistant", content=""))
        for event in chain([first], events):
            if event.kind == "delta":
                yield chunk(Delta(content=event.text))
                continue
            yield chunk(Delta(), event.finish_reason)
            if include_usage:
                usage = Usage.of(event.prompt_tokens, event.completion_tokens)
                yield format_sse_event(data_str=ChatCompletionChunk(**head, choices=[], usage=usage).model_dump_json())
    except MatlasError as err:
        yield format_sse_event(data_str=json.dumps(
            {"error": {"message": str(err), "type": "server_error", "code": err.status_code}}))
    finally:
        events.close()  # a client that hangs up stops the generation
    yield format_sse_event(data_str="[DONE]")
