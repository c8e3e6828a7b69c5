"""``POST /v1/chat`` (server-sent events, or one JSON answer) and ``/v1/sessions``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from agents.chat import ChatAnswer, ChatEvent
from agents.sessions import ChatService, Session, SessionInfo
from matlas.api.auth import ReaderDep
from matlas.api.deps import ChatLimitDep
from matlas.api.errors import responses

__all__ = ["ChatRequest", "ChatResponse", "router"]

MAX_MESSAGE_CHARS = 8_000

router = APIRouter(tags=["chat"])


def _chat(request: Request) -> ChatService:
    return request.app.state.chat


ChatDep = Annotated[ChatService, Depends(_chat)]


class ChatRequest(BaseModel):
    """One user message, in a stored session or a new one."""

    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS, description="The user's message.")
    session_id: str | None = Field(None, max_length=64, description="Session to continue; null starts a new one.")
    stream: StrictBool = Field(True, description="Server-sent events (text/event-stream) instead of one JSON answer.")

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must not be blank")
        return value


class ChatResponse(BaseModel):
    """The answer of a turn that was not streamed."""

    session_id: str
    answer: ChatAnswer


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return format_sse_event(event=event, data_str=json.dumps(data, default=str))


def _event_stream(session_id: str, events: Iterator[ChatEvent]) -> Iterator[bytes]:
    """``session``, the agent's events (``route`` ... ``answer`` or ``error``), then ``done``."""
    yield _sse("session", {"session_id": session_id})
    for event in events:
        yield _sse(event.event, event.data)
    yield _sse("done", {"session_id": session_id})


_SSE_DOC = {
    "description": "With `stream`: events `session`, `route`, `tool_call`, `tool_result`, `token`..., "
                   "`answer` (a ChatAnswer) or `error`, then `done`; each `data` is JSON.",
    "content": {"text/event-stream": {}},
}


@router.post("/chat", response_model=ChatResponse,
             responses={200: _SSE_DOC, **responses(404, 413, 422, 429, 502, 503)})
def chat(body: ChatRequest, service: ChatDep, caller: ChatLimitDep) -> Response | ChatResponse:
    """Answer a message from Materials Project data; the turn is stored once its answer completes.

    The session is the caller's (a new one, or ``session_id`` of one it created: another key's
    session is a 404). Past ``MATLAS_MAX_CONCURRENT_CHATS`` turns at once: 503 with ``Retry-After``.
    """
    if not body.stream:
        session, answer = service.ask(body.session_id, body.message, caller.name)
        return ChatResponse(session_id=session.id, answer=answer)
    session, events = service.start(body.session_id, body.message, caller.name)
    return EventSourceResponse(_event_stream(session.id, events), headers={"Cache-Control": "no-cache"})


@router.get("/sessions", response_model=list[SessionInfo], responses=responses(422))
def list_sessions(service: ChatDep, caller: ReaderDep, limit: int = Query(20, ge=1, le=1000)) -> list[SessionInfo]:
    """The caller's most recently updated sessions, newest first."""
    return service.sessions(caller.name, limit)


@router.get("/sessions/{session_id}", response_model=Session, responses=responses(404, 422))
def get_session(session_id: str, service: ChatDep, caller: ReaderDep) -> Session:
    """One of the caller's sessions with its turns (citations, ungrounded numbers and tool steps of each answer)."""
    return service.session(session_id, caller.name)


@router.delete("/sessions/{session_id}", status_code=204, responses=responses(404, 422))
def delete_session(session_id: str, service: ChatDep, caller: ReaderDep) -> Response:
    """Delete one of the caller's sessions and its turns."""
    service.delete(session_id, caller.name)
    return Response(status_code=204)
