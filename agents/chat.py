"""Chat turns: facts before words, the supervisor graph for the rest, and grounding enforced on the answer.

A turn first links the question (``agents.linker``) and fetches what it asks through the typed tools
(``agents.facts``), reported as ``tool_call`` / ``tool_result`` steps of the ``linker``. When the facts
settle the question the model only writes the answer from them; otherwise the supervisor and its
experts plan and call tools as before. The draft is then checked: a number no tool returned (nor the
user, nor an earlier grounded turn), an unknown MP id, or an asked value or MP id left out gets one
``repair`` round naming them; if the repaired draft still fails, the answer is composed from the
facts (``agents.compose``) and marked ``composed`` (at once, without a generation, when
``ChatConfig.draft`` is off). A draft from linked facts whose only fault is a
missing MP id needs no repair: the ids go right after the values it states (``agents.compose.cite``),
and the answer is marked ``ids_added``. Without facts to compose from, what remains unsupported is
flagged in ``ungrounded``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from agents.compose import cite, compose, facts_context, omissions
from agents.facts import Facts, gather
from agents.graph import SUPERVISOR_STEPS, SUPERVISOR_TAG, build_graph
from agents.grounding import GroundingReport, check_grounding
from agents.linker import link
from agents.turns import ChatAnswer, ChatEvent, Turn, answer_of
from matlas.errors import UpstreamError

__all__ = ["ChatAgent", "ChatAnswer", "ChatConfig", "ChatEvent", "ChatTurn", "build_chat_agent"]

logger = logging.getLogger(__name__)
NO_ANSWER = "I could not find an answer in the Materials Project data."
DRAFT_PROMPT = (
    "You are matlas. Answer the question in one or two sentences using only the facts below. Copy each value "
    "with its unit and put its MP id in square brackets after it. Add no other numbers.\n"
    "Example: facts '- band gap of Si [mp-149]: 0.61 eV' give the answer 'The band gap of Si is 0.61 eV [mp-149].'"
    "\n\nFacts from the Materials Project:\n{facts}"
)
REPAIR_PROMPT = (
    "Your answer is not supported by the tool results: {problems}. Rewrite it using only values the tools "
    "returned, each with its unit and MP id in square brackets."
)


ChatTurn = Turn  # a message of the history: the stored turn model (agents.turns)


class ChatConfig(BaseModel):
    """How a turn is run."""

    draft_tokens: int = Field(48, ge=8, description="Most tokens of an answer drafted from linked facts.")
    link: bool = Field(True, description="Link the question and fetch its facts before the model writes.")
    draft: bool = Field(True, description="The model writes the answer to facts that settle the question; "
                        "False: the answer is composed from them without a generation.")


class ChatAgent:
    """A compiled supervisor graph and, for grounded turns, the model and the tools by name."""

    def __init__(
        self, graph, *, llm: BaseChatModel | None = None, tools: dict[str, BaseTool] | None = None,
        scrub: Callable[[str], str] = lambda text: text, config: ChatConfig | None = None,
    ) -> None:
        self.graph = graph
        self.llm = llm
        self.tools = tools or {}
        self.scrub = scrub
        self.config = config or ChatConfig()

    def stream(self, history: Sequence[Turn], message: str) -> Iterator[ChatEvent]:
        """Run one turn; the last event is ``answer`` (``ChatAnswer`` data) or ``error``."""
        steps: list[dict[str, Any]] = []
        try:
            yield from self._turn(history, message, steps)
        except Exception as exc:
            detail = self.scrub(f"the agent failed: {type(exc).__name__}: {exc}")
            logger.error("%s", detail, exc_info=not isinstance(exc, UpstreamError))
            yield ChatEvent(event="error", data={"detail": detail})

    def _turn(self, history: list[ChatTurn], message: str, steps: list[dict[str, Any]]) -> Iterator[ChatEvent]:
        citable = [message, *_earlier(history)]
        pending: list[dict[str, Any]] = []
        facts = Facts(linked=link(message))
        if self.config.link and self.tools:
            facts = gather(facts.linked, self.tools, pending.append)
        for step in pending:
            steps.append(step)
            yield ChatEvent(**step)
        outputs = [*facts.outputs, *facts.notes]  # the linker's calls echo the question, not a model
        repaired = composed = ids_added = False
        model: Any = None  # what writes the repair: the bound draft model, or the graph's
        messages: list[BaseMessage] = []
        if facts.answered and self.llm is not None and not self.config.draft:
            draft, composed = compose(facts), True
        elif facts.answered and self.llm is not None:
            messages = [
                SystemMessage(DRAFT_PROMPT.format(facts=facts_context(facts))), *_messages(history),
                HumanMessage(message)]
            model = self.llm.bind(max_tokens=self.config.draft_tokens)
            draft = _text(model.invoke(messages))
        else:
            final: dict[str, Any] = {}
            for kind, payload in self._graph(history, message):
                if kind == "step":
                    steps.append(payload)
                    yield ChatEvent(**payload)
                elif kind == "token":
                    yield ChatEvent(event="token", data={"text": payload})
                else:
                    final = payload
            outputs += final.get("tool_outputs", [])
            messages = list(final.get("messages", []))
            model = self.llm
            draft = _text(messages[-1]) if messages else ""
        draft = draft or NO_ANSWER
        report, problems = _check(draft, facts, outputs, citable)
        if problems and facts.answered and (completed := cite(draft, facts)) is not None:
            completed_report, left = _check(completed, facts, outputs, citable)
            if not left:  # its only fault was a missing MP id: added from the facts, no second generation
                draft, report, problems, ids_added = completed, completed_report, left, True
        if problems and model is not None:
            yield ChatEvent(event="repair", data={"problems": problems, "draft": draft})
            repaired = True
            draft = _text(model.invoke([*messages, AIMessage(draft), HumanMessage(
                REPAIR_PROMPT.format(problems="; ".join(problems)))])) or NO_ANSWER
            report, problems = _check(draft, facts, outputs, citable)
        if problems and facts.answered:
            draft, composed = compose(facts), True
            report, _ = _check(draft, facts, outputs, citable)
        if facts.answered and self.llm is not None:  # drafts are checked before anyone reads them
            yield ChatEvent(event="token", data={"text": draft})
        answer = ChatAnswer(content=draft, citations=report.citations, ungrounded=report.ungrounded, steps=steps,
                            composed=composed, repaired=repaired, ids_added=ids_added, facts=[f.model_dump() for f in facts.facts])
        yield ChatEvent(event="answer", data=answer.model_dump())

    def _graph(self, history: list[ChatTurn], message: str) -> Iterator[tuple[str, Any]]:
        """The supervisor's run: ``("step", event)``, ``("token", text)`` and, last, ``("final", state)``."""
        final: dict[str, Any] = {}
        for namespace, mode, payload in self.graph.stream(
            {"messages": [*_messages(history), HumanMessage(message)], "tool_outputs": []},
            {"recursion_limit": 2 * SUPERVISOR_STEPS + 1},
            stream_mode=["custom", "messages", "values"],
            subgraphs=True,
        ):
            if mode == "custom":
                yield "step", payload
            elif mode == "messages":
                chunk, meta = payload
                if (isinstance(chunk, AIMessageChunk) and chunk.content and not chunk.tool_call_chunks
                        and SUPERVISOR_TAG in meta.get("tags", ())):
                    yield "token", str(chunk.content)
            elif not namespace:  # an expert's own state is not the turn's
                final = payload
        yield "final", final

    def ask(self, history: Sequence[Turn], message: str) -> ChatAnswer:
        """Run one turn to its answer; an agent failure raises ``UpstreamError``."""
        return answer_of(self.stream(history, message))


def _messages(history: list[ChatTurn]) -> list[BaseMessage]:
    return [HumanMessage(t.content) if t.role == "user" else AIMessage(t.content) for t in history]


def _earlier(history: list[ChatTurn]) -> list[str]:
    """What earlier turns make citable: their tool results, the user's words, answers that were grounded."""
    out = []
    for turn in history:
        out += [str(s["data"]["content"]) for s in turn.steps
                if s.get("event") == "tool_result" and not str(s["data"].get("content", "")).startswith("Error")]
        if turn.role == "user" or not turn.ungrounded:
            out.append(turn.content)
    return out


def _text(message: BaseMessage) -> str:
    return re.sub(r"<tool_call>.*?(</tool_call>|$)", "", str(message.content), flags=re.DOTALL).strip()


def _check(draft: str, facts: Facts, outputs: list[str], citable: list[str]) -> tuple[GroundingReport, list[str]]:
    """The grounding report of ``draft`` and its problems, each named for the repair round."""
    report = check_grounding(draft, [*outputs, *citable])
    problems = []
    if report.ungrounded:
        problems.append(f"numbers no tool returned: {', '.join(report.ungrounded)}")
    if report.unknown_ids:
        problems.append(f"ids no tool returned: {', '.join(report.unknown_ids)}")
    if missing := omissions(draft, facts):
        problems.append(f"it leaves out {', '.join(missing)}")
    return report, problems


def build_chat_agent(
    llm: BaseChatModel, tools_by_expert: dict[str, list[BaseTool]], *,
    scrub: Callable[[str], str] = lambda text: text, config: ChatConfig | None = None,
) -> ChatAgent:
    """The supervisor and its experts over ``tools_by_expert`` on ``llm``, linking questions to the same tools."""
    tools = {t.name: t for group in tools_by_expert.values() for t in group}
    return ChatAgent(build_graph(llm, tools_by_expert), llm=llm, tools=tools, scrub=scrub, config=config)
