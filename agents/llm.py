"""Chat model backends for the agents: OpenAI-compatible endpoints and local HF models.

``chat_model(settings)`` picks one. Every backend is a LangChain ``BaseChatModel`` with native
tool calling (``bind_tools``), so the graph never knows which one it runs on:

- ``openai``: any OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp server, Ollama, matlas'
  own ``/v1/chat/completions``) through ``langchain_openai.ChatOpenAI`` and ``base_url``.
- ``hf``: a Hugging Face causal LM hosted in this process (``workers.llm_service.get_model``:
  path, hub id or ``.gguf``; optionally quantized), with tool calls in the Hermes / Qwen text
  protocol of ``workers.tool_calls``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    convert_to_openai_messages,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from matlas.errors import Unavailable
from matlas.settings import Settings
from workers.tool_calls import parse_tool_calls, render_with_tools

__all__ = ["HFChatModel", "chat_model"]


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
    from workers.hosting import smollm2_gguf_path
    from workers.llm_service import get_model

    host = get_model(
        settings.llm_model or str(smollm2_gguf_path()), quantization=settings.llm_quantization,
        cache_dir=settings.home / "models", device=settings.device,
    )
    return HFChatModel(host=host, max_tokens=settings.llm_max_tokens)
