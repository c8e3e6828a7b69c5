"""Chat model backends for the agents: OpenAI-compatible endpoints, local HF models, a scripted model.

``chat_model(config)`` picks one from an ``LLMConfig`` (the shell builds it from the settings). Every backend is a LangChain ``BaseChatModel`` with native
tool calling (``bind_tools``), so the graph never knows which one it runs on:

- ``openai``: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, matlas'
  own ``/v1/chat/completions``) through ``langchain_openai.ChatOpenAI`` and ``base_url``.
- ``hf``: a Hugging Face causal LM hosted in this process (``workers.llm_service.get_model``:
  path, hub id or ``.gguf``; optionally quantized), with tool calls in the Hermes / Qwen text
  protocol of ``workers.tool_calls``, decoded under the grammar of the offered tools' JSON schemas
  (``tool_choice``: ``auto`` constrains a call once the model opens one, ``required`` / ``any`` or a
  tool's name constrain the whole reply to a call).
- ``ScriptedChatModel``: plays a fixed script; tests drive the whole graph with it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

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
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from matlas.errors import Unavailable
from workers.tool_calls import call_constraint, parse_tool_calls, render_with_tools

__all__ = ["HFChatModel", "LLMConfig", "ScriptedChatModel", "chat_model"]


class LLMConfig(BaseModel):
    """What the agents need to build their chat model."""

    backend: Literal["auto", "openai", "hf", "scripted"] = "auto"
    model: str | None = Field(None, description="Endpoint model, or HF path / hub id / .gguf (default SmolLM2).")
    base_url: str | None = None
    api_key: SecretStr | None = None
    quantization: Literal["none", "int8", "rtn4", "awq4"] = "none"
    max_tokens: int = Field(1024, ge=1)
    cache_dir: Path | None = Field(None, description="Where converted and quantized local models are cached.")
    device: str = "auto"

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

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | dict | None = None, **kwargs: Any):
        """Describe ``tools`` in the system prompt of every call; ``tool_choice`` as in OpenAI's API
        (``auto``, ``none``, ``required`` / ``any``, a tool name or ``{"function": {"name": ...}}``)."""
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice or "auto", **kwargs)

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:
        tools, choice = kwargs.get("tools"), kwargs.get("tool_choice") or "auto"
        if choice == "none":
            tools = None
        prompt = render_with_tools(convert_to_openai_messages(messages), tools)
        constraint = call_constraint(tools, choice) if tools else None
        pieces = []
        for delta in self.host.stream(prompt, max_tokens=kwargs.get("max_tokens") or self.max_tokens, stop=stop,
                                      temperature=self.temperature, constraint=constraint):
            pieces.append(delta)
            if run_manager:
                run_manager.on_llm_new_token(delta)
        content, calls, invalid = parse_tool_calls("".join(pieces), with_invalid=True)
        tool_calls = [{"name": c["name"], "args": c["arguments"], "id": c["id"], "type": "tool_call"} for c in calls]
        invalid_calls = [{"name": c.get("name"), "args": c["text"], "id": c["id"], "error": c["error"],
                          "type": "invalid_tool_call"} for c in invalid]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(
            content=content, tool_calls=tool_calls, invalid_tool_calls=invalid_calls))])


def chat_model(config: LLMConfig) -> BaseChatModel:
    """The chat model ``config`` names: ``openai`` (endpoint/key), ``hf`` (local), or ``auto``."""
    backend = config.backend
    if backend == "auto":
        backend = "openai" if config.base_url or config.api_key else "hf"
    if backend == "openai":
        from langchain_openai import ChatOpenAI

        if config.api_key is None and config.base_url is None:
            raise Unavailable("the openai backend needs MATLAS_LLM_BASE_URL or OPENAI_API_KEY")
        return ChatOpenAI(
            model=config.model or "gpt-4o-mini", base_url=config.base_url,
            api_key=config.api_key or "not-needed", temperature=0.0, max_tokens=config.max_tokens,
            streaming=True, max_retries=2, timeout=120,
        )
    if backend == "hf":
        from workers.hosting import smollm2_gguf_path
        from workers.llm_service import get_model

        host = get_model(config.model or str(smollm2_gguf_path()), quantization=config.quantization,
                         cache_dir=config.cache_dir, device=config.device)
        return HFChatModel(host=host, max_tokens=config.max_tokens)
    raise Unavailable("the scripted backend is for tests: pass a ScriptedChatModel to the agent")
