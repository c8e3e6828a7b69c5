"""Chat model backends for the agents: OpenAI-compatible endpoints and local HF models.

``chat_model(config)`` picks one from an ``LLMConfig`` (the shell builds it from the settings). Every backend is a LangChain ``BaseChatModel`` with native
tool calling (``bind_tools``), so the graph never knows which one it runs on:

- ``openai``: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, matlas'
  own ``/v1/chat/completions``) through ``langchain_openai.ChatOpenAI`` and ``base_url``.
- ``hf``: a Hugging Face causal LM hosted in this process (``workers.llm_service.get_model``:
  path, hub id or ``.gguf``; optionally quantized), with tool calls in the Hermes / Qwen text
  protocol of ``workers.tool_calls``, decoded under the grammar of the offered tools' JSON schemas
  (``tool_choice``: ``auto`` constrains a call once the model opens one, ``required`` / ``any`` or a
  tool's name constrain the whole reply to a call).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from matlas.errors import Unavailable
from workers.tool_calls import call_constraint, parse_tool_calls, render_with_tools

__all__ = ["HFChatModel", "LLMConfig", "chat_model"]


class LLMConfig(BaseModel):
    """What the agents need to build their chat model."""

    backend: Literal["auto", "openai", "hf"] = "auto"
    model: str | None = Field(None, description="Endpoint model, or HF path / hub id / .gguf (default SmolLM2).")
    base_url: str | None = None
    api_key: SecretStr | None = None
    quantization: Literal["none", "int8", "rtn4", "awq4"] = "none"
    max_tokens: int = Field(1024, ge=1)
    cache_dir: Path | None = Field(None, description="Where converted and quantized local models are cached.")
    device: str = "auto"



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


def warm_up(config: LLMConfig) -> bool:
    """Load the local model ``config`` names and run one token through it, so that the first question does not
    wait for the load (39 s for SmolLM2 on 2 cores, 2 s for the next); False for a remote endpoint, which is
    not contacted."""
    if config.backend == "openai" or (config.backend == "auto" and (config.base_url or config.api_key)):
        return False
    model = chat_model(config)
    model.host.complete([{"role": "user", "content": "Hello"}], max_tokens=1)
    return True


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
    from workers.hosting import smollm2_gguf_path
    from workers.llm_service import get_model

    host = get_model(config.model or str(smollm2_gguf_path()), quantization=config.quantization,
                     cache_dir=config.cache_dir, device=config.device)
    return HFChatModel(host=host, max_tokens=config.max_tokens)
