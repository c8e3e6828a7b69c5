"""OpenAI-compatible serving of hosted models: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Works with the official ``openai`` client and ``langchain_openai.ChatOpenAI(base_url=.../v1)``.
Errors before the first token are HTTP errors (``{"detail": ...}``); a failure mid-stream is sent
as an OpenAI ``{"error": {...}}`` event, which the ``openai`` client raises as ``APIError``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from itertools import chain

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, format_sse_event

from matlas import wiring
from matlas.api.deps import ChatLimitDep, SettingsDep
from matlas.api.errors import responses
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
    ToolCallDelta,
    Usage,
)
from matlas.errors import MatlasError
from workers import llm_service
from workers.slots import Held
from workers.streams import TokenEvent

router = APIRouter(tags=["openai"])
_STARTED = int(time.time())


@router.get("/models", response_model=ModelList)
def list_models(settings: SettingsDep) -> ModelList:
    """The models this server hosts."""
    return ModelList(data=[ModelCard(id=name, created=_STARTED) for name in llm_service.served_models(wiring.serving_config(settings))])


@router.post("/chat/completions", response_model=ChatCompletion,
             responses={200: {"content": {"text/event-stream": {}}, "description": "Chunks when stream is true."},
                        **responses(429)})
def chat_completions(
    body: ChatCompletionRequest, settings: SettingsDep, http: Request, _: ChatLimitDep,
) -> ChatCompletion | EventSourceResponse:
    """Continue a chat on a hosted model, whole or as server-sent chunks (``stream: true``).

    Past ``MATLAS_MAX_CONCURRENT_GENERATIONS`` generations at once: 503 with ``Retry-After``.
    """
    request = body.to_generation(settings.llm_max_tokens)
    completion_id = uuid.uuid4().hex
    slots = http.app.state.generation_slots
    slots.acquire()
    try:
        events = llm_service.generate(request, wiring.serving_config(settings), tasks=wiring.task_queue(settings),
                                      request_id=completion_id)
    except BaseException:
        slots.release()
        raise
    events = Held(events, slots)  # the slot is free again once the generation ends, fails or is dropped
    head = {"id": f"chatcmpl-{completion_id}", "created": int(time.time()), "model": body.model}
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    if body.offered_tools:  # tool calls are parsed from the whole reply, then sent at once
        done = _complete(events)
        message = AssistantMessage.parse(done.text, tools_offered=True)
        finish = "tool_calls" if message.tool_calls else done.finish_reason
        if body.stream:
            return _stream(_sse_whole(head, message, finish, done, include_usage=include_usage))
        return ChatCompletion(**head, choices=[Choice(message=message, finish_reason=finish)],
                              usage=Usage.of(done.prompt_tokens, done.completion_tokens))
    if not body.stream:
        done = _complete(events)
        return ChatCompletion(
            **head, choices=[Choice(message=AssistantMessage(content=done.text), finish_reason=done.finish_reason)],
            usage=Usage.of(done.prompt_tokens, done.completion_tokens),
        )
    first = next(events)  # fail with an HTTP status, not a broken stream, when nothing can be generated
    return _stream(_sse(head, first, events, include_usage=include_usage))


def _complete(events: Held[TokenEvent]) -> llm_service.Completion:
    """The whole completion, then the generation's slot back."""
    try:
        return llm_service.complete(events)
    finally:
        events.close()


def _stream(chunks: Iterator[bytes]) -> EventSourceResponse:
    return EventSourceResponse(chunks, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _chunk(head: dict, delta: Delta, finish_reason: str | None = None) -> bytes:
    return format_sse_event(data_str=ChatCompletionChunk(
        **head, choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)]).model_dump_json())


def _usage_chunk(head: dict, prompt_tokens: int, completion_tokens: int) -> bytes:
    usage = Usage.of(prompt_tokens, completion_tokens)
    return format_sse_event(data_str=ChatCompletionChunk(**head, choices=[], usage=usage).model_dump_json())


def _sse_whole(head: dict, message: AssistantMessage, finish: str, done, *, include_usage: bool) -> Iterator[bytes]:
    """A finished reply as a stream: role, content, each tool call, finish reason, usage, ``[DONE]``."""
    yield _chunk(head, Delta(role="assistant", content=message.content or ""))
    if message.tool_calls:
        yield _chunk(head, Delta(tool_calls=[
            ToolCallDelta(index=i, **call.model_dump()) for i, call in enumerate(message.tool_calls)]))
    yield _chunk(head, Delta(), finish)
    if include_usage:
        yield _usage_chunk(head, done.prompt_tokens, done.completion_tokens)
    yield format_sse_event(data_str="[DONE]")


def _sse(head: dict, first: TokenEvent, events: Held[TokenEvent], *, include_usage: bool) -> Iterator[bytes]:
    """The chunks of a stream as SSE: role, content deltas, finish reason, optional usage, ``[DONE]``."""

    try:
        yield _chunk(head, Delta(role="assistant", content=""))
        for event in chain([first], events):
            if event.kind == "delta":
                yield _chunk(head, Delta(content=event.text))
                continue
            yield _chunk(head, Delta(), event.finish_reason)
            if include_usage:
                yield _usage_chunk(head, event.prompt_tokens, event.completion_tokens)
    except MatlasError as err:
        yield format_sse_event(data_str=json.dumps(
            {"error": {"message": str(err), "type": "server_error", "code": err.status_code}}))
    finally:
        events.close()  # a client that hangs up stops the generation
    yield format_sse_event(data_str="[DONE]")
