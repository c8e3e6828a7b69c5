"""A scripted chat model: the remote LLM is the one part tests fake; everything after it is real."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

__all__ = ["ScriptedChatModel"]


class ScriptedChatModel(BaseChatModel):
    """Answers with the next step of a script: an ``AIMessage``, a string, or a callable of the messages.

    Callables see the conversation so far, so a script can quote what a tool returned. Content
    streams word by word; tool calls come as one chunk.
    """

    steps: list[Any]
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "matlas-scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        """Tools are accepted and ignored: the script decides which calls to make."""
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        if len(self.calls) >= len(self.steps):
            raise RuntimeError(f"the script has {len(self.steps)} steps and all were played")
        step = self.steps[len(self.calls)]
        self.calls.append(list(messages))
        message = step(messages) if callable(step) else step
        return AIMessage(content=message) if isinstance(message, str) else message

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next(messages)
        msg_id = message.id or f"run-{uuid.uuid4().hex[:12]}"
        if message.tool_calls:
            chunks = [AIMessageChunk(content=message.content, id=msg_id, tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(message.tool_calls)
            ])]
        else:
            chunks = [AIMessageChunk(content=piece, id=msg_id) for piece in re.split(r"(?<=\s)", str(message.content)) if piece]
        for chunk in chunks:
            if run_manager and chunk.content:
                run_manager.on_llm_new_token(str(chunk.content), chunk=ChatGenerationChunk(message=chunk))
            yield ChatGenerationChunk(message=chunk)
