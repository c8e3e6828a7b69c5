"""Chat model backends for the agents: OpenAI-compatible endpoints, local HF models, a scripted model.

``chat_model(settings)`` picks one. Every backend is a LangChain ``BaseChatModel`` with native
tool calling (``bind_tools``), so the graph never knows which one it runs on:

- ``openai``: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, matlas'
  own ``/v1/chat/completions``) through ``langchain_openai.ChatOpenAI`` and ``base_url``.
- ``hf``: a Hugging Face causal LM hosted in this process (``workers.llm_service.get_model``:
  path, hub id or ``.gguf``; optionally quantized), with tool calls in the Hermes / Qwen text
  protocol of ``workers.tool_calls``.
- ``ScriptedChatModel``: plays a fixed script; tests drive the whole graph with it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from matlas.errors import Unavailable
from matlas.settings import Settings
from workers.tool_calls import parse_tool_calls, render_with_tools

__all__ = ["HFChatModel", "ScriptedChatModel", "chat_model"]

Step = AIMessage | str | Callable[[list[BaseMessage]], AIMessage | str]


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


class HFChatModel(BaseChatModel):
    """A local causal LM (``workers.hosting.HostedModel``) as a tool-calling chat model."""

    host: Any
    max_tokens: int = 512
    temperature: float = 0.0
    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "matlas-hf"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any):
        """Describe ``tools`` in the system prompt of every call."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        prompt = render_with_tools(convert_to_openai_messages(messages), kwargs.get("tools"))
        pieces = []
        for delta in self.host.stream(prompt, max_tokens=self.max_tokens, stop=stop, temperature=self.temperature):
            pieces.append(delta)
            if run_manager:
                run_manager.on_llm_new_token(delta)
        content, calls = parse_tool_calls("".join(pieces))
        tool_calls = [{"name": c["name"], "args": c["arguments"], "id": c["id"], "type": "tool_call"} for c in calls]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=content, tool_calls=tool_calls))])


def chat_model(settings: Settings) -> BaseChatModel:
    """The chat model the settings name: ``openai`` (endpoint/key), ``hf`` (local), or ``auto``."""
    backend = settings.llm_backend
    if backend == "auto":
        backend = "openai" if settings.llm_base_url or settings.llm_api_key else "hf"
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        if settings.llm_api_key is None and settings.llm_base_url is None:
            raise Unavailable("the openai backend needs MATLAS_LLM_BASE_URL or OPENAI_API_KEY")
        return ChatOpenAI(
            model=settings.llm_model or "gpt-4o-mini", base_url=settings.llm_base_url,
            api_key=settings.llm_api_key or "not-needed", temperature=0.0, max_tokens=settings.llm_max_tokens,
            streaming=True, max_retries=2, timeout=120,
        )
    if backend == "hf":
        from workers.hosting import smollm2_gguf_path
        from workers.llm_service import get_model

        host = get_model(
            settings.llm_model or str(smollm2_gguf_path()), quantization=settings.llm_quantization,
            cache_dir=settings.home / "models", device=settings.device,
        )
        return HFChatModel(host=host, max_tokens=settings.llm_max_tokens)
    raise Unavailable("the scripted backend is for tests: pass a ScriptedChatModel to the agent")
