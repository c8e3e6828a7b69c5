"""Chat turns over the agent graph: streamed events, and an answer with citations and a grounding check."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from agents.graph import SUPERVISOR_STEPS, SUPERVISOR_TAG, build_graph
from agents.turns import ChatAnswer, ChatEvent, Turn, answer_of
from matlas.errors import InvalidInput
from matlas.settings import Settings, scrub
from retrieval.service import SearchService

__all__ = ["ChatAgent", "ChatAnswer", "ChatEvent", "ChatTurn", "build_chat_agent"]

_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NO_ANSWER = "I could not find an answer in the Materials Project data."


ChatTurn = Turn  # a message of the history: the stored turn model (agents.turns)


class ChatAgent:
    """A compiled supervisor graph; ``stream`` runs one turn and yields its events."""

    def __init__(self, graph, settings: Settings | None = None) -> None:
        self.graph = graph
        self.settings = settings or Settings()

    def stream(self, history: Sequence[Turn], message: str) -> Iterator[ChatEvent]:
        """Run one turn; the last event is ``answer`` (``ChatAnswer`` data) or ``error``."""
        from agents.grounding import check_grounding

        messages: list[BaseMessage] = [
            HumanMessage(t.content) if t.role == "user" else AIMessage(t.content) for t in history
        ]
        messages.append(HumanMessage(message))
        steps: list[dict[str, Any]] = []
        final: dict[str, Any] = {}
        try:
            for mode, payload in self._stream(messages):
                if mode == "custom":
                    steps.append(payload)
                    yield ChatEvent(**payload)
                elif mode == "messages":
                    chunk, meta = payload
                    if (isinstance(chunk, AIMessageChunk) and chunk.content and not chunk.tool_call_chunks
                            and SUPERVISOR_TAG in meta.get("tags", ())):
                        yield ChatEvent(event="token", data={"text": str(chunk.content)})
                else:
                    final = payload
        except Exception as exc:  # noqa: BLE001 - the model endpoint or a bug: the turn ends with a clear error
            detail = scrub(f"the agent failed: {type(exc).__name__}: {exc}", self.settings)
            yield ChatEvent(event="error", data={"detail": detail})
            return
        content = str(final["messages"][-1].content).strip() if final.get("messages") else ""
        report = check_grounding(content or NO_ANSWER, final.get("tool_outputs", []))
        answer = ChatAnswer(content=content or NO_ANSWER, citations=report.citations,
                            ungrounded=report.ungrounded, steps=steps)
        yield ChatEvent(event="answer", data=answer.model_dump())

    def _stream(self, messages: list[BaseMessage]):
        for namespace, mode, payload in self.graph.stream(
            {"messages": messages, "tool_outputs": []},
            {"recursion_limit": 2 * SUPERVISOR_STEPS + 1},
            stream_mode=["custom", "messages", "values"],
            subgraphs=True,
        ):
            if mode == "values" and namespace:
                continue  # an expert's own state; the supervisor's is the turn's
            yield mode, payload

    def ask(self, history: Sequence[Turn], message: str) -> ChatAnswer:
        """Run one turn to its answer; an agent failure raises ``UpstreamError``."""
        return answer_of(self.stream(history, message))


def build_chat_agent(
    settings: Settings, *, llm: BaseChatModel | None = None, session_id: str | None = None,
    search: SearchService | None = None,
) -> ChatAgent:
    """The supervisor and its MP experts on the settings' LLM backend (or ``llm``), searching with ``search``."""
    from agents.artifacts import ArtifactStore
    from agents.llm import chat_model
    from agents.tools import expert_tools

    if session_id is not None and not _SESSION_ID.fullmatch(session_id):
        raise InvalidInput(f"invalid session id {session_id!r}: use 1-64 letters, digits, '-' or '_'")
    model = llm or chat_model(settings)
    artifacts = ArtifactStore(settings.home / "artifacts" / (session_id or "default"))
    return ChatAgent(build_graph(model, expert_tools(settings, artifacts, search=search)), settings)
