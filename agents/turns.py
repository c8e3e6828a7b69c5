"""The data of a chat turn, shared by the agent (``agents.chat``) and the sessions that store it.

One model for a message: ``Turn`` (a user's question, or an assistant's answer with what grounds
it); ``ChatAnswer`` is an answer before it is stored (no role, no timestamp). ``ChatEvent`` is
one streamed step of a turn; ``answer_of`` runs the events to the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from matlas.errors import UpstreamError

__all__ = ["ChatAnswer", "ChatEvent", "Turn", "answer_of"]


def _now() -> datetime:
    return datetime.now(UTC)


class ChatAnswer(BaseModel):
    """The final answer of a turn with what grounds it."""

    content: str
    citations: list[str] = Field(default_factory=list, description="MP ids and document ids in the answer that tools returned.")
    ungrounded: list[str] = Field(default_factory=list, description="Numbers in the answer that no tool of the turn returned.")
    steps: list[dict[str, Any]] = Field(default_factory=list, description="route / tool_call / tool_result events.")
    composed: bool = Field(False, description="Written from the tool results, not by the model (its drafts failed).")
    repaired: bool = Field(False, description="The model's first draft failed the grounding check.")
    ids_added: bool = Field(False, description="The model's draft stated the values; their MP ids were added from the facts.")
    facts: list[dict[str, Any]] = Field(
        default_factory=list, description="The linked facts: value, unit, MP id, polymorph, source endpoint.")


class Turn(ChatAnswer):
    """One message of a conversation: the user's, or an assistant's answer with what grounded it."""

    role: Literal["user", "assistant"]
    created_at: datetime = Field(default_factory=_now, description="When the turn was stored (UTC).")


class ChatEvent(BaseModel):
    """One streamed step: ``route``, ``tool_call``, ``tool_result``, ``token``, ``repair``, ``answer`` or ``error``."""

    event: Literal["route", "tool_call", "tool_result", "token", "repair", "answer", "error"]
    data: dict[str, Any]


def answer_of(events: Iterable[ChatEvent]) -> ChatAnswer:
    """The ``answer`` of a turn's events; an ``error`` event (or none at all) raises ``UpstreamError``."""
    for event in events:
        if event.event == "answer":
            return ChatAnswer.model_validate(event.data)
        if event.event == "error":
            raise UpstreamError(event.data["detail"])
    raise UpstreamError("the agent ended without an answer")
