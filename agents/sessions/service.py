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
from agents.sessions.models import LOCAL_OWNER, Session, SessionInfo, SessionStore
from agents.turns import ChatAnswer, ChatEvent, Turn, answer_of
from matlas.errors import MatlasError, SessionNotFound
from workers.slots import Held, Slots

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
    """Chat turns over stored sessions; a turn is stored only once its answer is complete.

    Sessions are private: each belongs to the ``owner`` that created it (an API key's name, or
    ``local``), and to anyone else it is unknown (``SessionNotFound``, not a refusal that would
    confirm it exists). At most ``max_turns`` turns run at once; one more raises ``Busy``.
    """

    def __init__(
        self,
        store: Callable[[], SessionStore],
        llm: Callable[[], BaseChatModel],
        agent: Callable[[BaseChatModel, str], ChatAgent],
        *, max_turns: int = 8,
    ) -> None:
        """``store()`` and ``llm()`` are called once, on first use; ``agent(llm, session_id)`` per turn."""
        self._store, self._llm, self._agent = _Once(store), _Once(llm), agent
        self.slots = Slots(max_turns, "chat turn")

    @property
    def store(self) -> SessionStore:
        """The session store (opened once)."""
        return self._store.get()

    @property
    def llm(self) -> BaseChatModel:
        """The chat model (built once)."""
        return self._llm.get()

    def session(self, session_id: str, owner: str = LOCAL_OWNER) -> Session:
        """``owner``'s session ``session_id`` with its turns (``SessionNotFound`` for anyone else's)."""
        session = self.store.get(session_id)
        if session.owner != owner:
            raise SessionNotFound(f"unknown session {session_id[:64]!r}")
        return session

    def sessions(self, owner: str = LOCAL_OWNER, limit: int = 20) -> list[SessionInfo]:
        """``owner``'s ``limit`` most recently updated sessions, newest first."""
        return self.store.recent(limit, owner=owner)

    def delete(self, session_id: str, owner: str = LOCAL_OWNER) -> None:
        """Delete ``owner``'s session ``session_id`` (``SessionNotFound`` for anyone else's)."""
        self.session(session_id, owner)
        self.store.delete(session_id)

    def start(
        self, session_id: str | None, message: str, owner: str = LOCAL_OWNER
    ) -> tuple[Session, Iterator[ChatEvent]]:
        """The session of a turn (``owner``'s ``session_id``, or a new one titled after ``message``) and its events.

        Raises before any event for an unknown session, a missing LLM backend or when every turn slot
        is taken (``Busy``); the slot is held until the events are consumed or dropped. The turn is
        stored just before the ``answer`` event, and never when the turn ends in ``error``.
        """
        session = self.session(session_id, owner) if session_id is not None else None
        llm = self.llm
        self.slots.acquire()
        try:
            if session is None:
                title = message.strip().splitlines()[0][:TITLE_CHARS] if message.strip() else None
                session = Session(**self.store.create(title, owner=owner).model_dump())
            agent = self._agent(llm, session.id)
        except BaseException:
            self.slots.release()
            raise
        return session, Held(self._turn(agent, session, message), self.slots)

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

    def ask(self, session_id: str | None, message: str, owner: str = LOCAL_OWNER) -> tuple[Session, ChatAnswer]:
        """Run a turn to its stored answer; an agent error raises ``UpstreamError``."""
        session, events = self.start(session_id, message, owner)
        try:
            return session, answer_of(events)
        finally:
            events.close()
