"""``ChatService``: agent turns over stored sessions, for the API and the CLI.

The service is given its parts (``matlas.wiring.chat_service`` builds them from the settings): a
session store, the chat model and an agent factory; the store and the model are built on first use
(loading a local model is slow) and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from langchain_core.language_models import BaseChatModel

from agents.chat import ChatAgent
from agents.sessions.models import Session, SessionStore
from agents.turns import ChatAnswer, ChatEvent, Turn, answer_of
from matlas.errors import MatlasError

__all__ = ["ChatService"]

TITLE_CHARS = 80
T = TypeVar("T")


class _Once(Generic[T]):
    """The value of ``make()``, made on first use by one thread and kept."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make, self._value, self._lock = make, None, threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value


class ChatService:
    """Chat turns over stored sessions; a turn is stored only once its answer is complete."""

    def __init__(
        self,
        store: Callable[[], SessionStore],
        llm: Callable[[], BaseChatModel],
        agent: Callable[[BaseChatModel, str], ChatAgent],
    ) -> None:
        """``store()`` and ``llm()`` are called once, on first use; ``agent(llm, session_id)`` per turn."""
        self._store, self._llm, self._agent = _Once(store), _Once(llm), agent

    @property
    def store(self) -> SessionStore:
        """The session store (opened once)."""
        return self._store.get()

    @property
    def llm(self) -> BaseChatModel:
        """The chat model (built once)."""
        return self._llm.get()

    def start(self, session_id: str | None, message: str) -> tuple[Session, Iterator[ChatEvent]]:
        """The session of a turn (``session_id``'s, or a new one titled after ``message``) and its events.

        Raises before any event for an unknown session or a missing LLM backend; the turn is stored
        just before the ``answer`` event, and never when the turn ends in ``error``.
        """
        session = self.store.get(session_id) if session_id is not None else None
        llm = self.llm
        if session is None:
            title = message.strip().splitlines()[0][:TITLE_CHARS] if message.strip() else None
            session = Session(**self.store.create(title).model_dump())
        return session, self._turn(self._agent(llm, session.id), session, message)

    def _turn(self, agent: ChatAgent, session: Session, message: str) -> Iterator[ChatEvent]:
        try:
            for event in agent.stream(session.turns, message):
                if event.event == "answer":
                    answer = ChatAnswer.model_validate(event.data)
                    self.store.append(session.id, [Turn(role="user", content=message),
                                                   Turn(role="assistant", **answer.model_dump())])
                yield event
        except MatlasError as err:
            yield ChatEvent(event="error", data={"detail": str(err)})

    def ask(self, session_id: str | None, message: str) -> tuple[Session, ChatAnswer]:
        """Run a turn to its stored answer; an agent error raises ``UpstreamError``."""
        session, events = self.start(session_id, message)
        return session, answer_of(events)
