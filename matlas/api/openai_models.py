"""Wire models of the OpenAI-compatible API: chat completions (whole and streamed chunks) and models."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matlas.errors import InvalidInput
from workers.llm_service import ChatMessage, GenerationRequest
from workers.tool_calls import call_constraint, parse_tool_calls, render_with_tools

__all__ = [
    "ChatCompletion", "ChatCompletionChunk", "ChatCompletionRequest", "ModelCard", "ModelList", "Usage",
]

FinishReason = Literal["stop", "length", "tool_calls"]


class TextPart(BaseModel):
    """A text part of a message's content (the only part type served)."""

    type: Literal["text"]
    text: str


class FunctionCall(BaseModel):
    """The function a tool call names, with its arguments as a JSON string."""

    name: str
    arguments: str


class ToolCall(BaseModel):
    """One tool call of an assistant message."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class FunctionSpec(BaseModel):
    """A function the model may call: name, description and JSON-schema parameters."""

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict = Field(default_factory=dict)


class ToolSpec(BaseModel):
    """A tool offered to the model (only functions exist)."""

    type: Literal["function"]
    function: FunctionSpec


class RequestMessage(BaseModel):
    """A chat message as clients send it; ``developer`` is read as ``system``."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class NamedFunction(BaseModel):
    """The function a named ``tool_choice`` forces."""

    name: str


class NamedToolChoice(BaseModel):
    """``{"type": "function", "function": {"name": ...}}``: the reply must call this tool."""

    type: Literal["function"] = "function"
    function: NamedFunction


class StreamOptions(BaseModel):
    """Options of a streamed response."""

    include_usage: bool = Field(False, description="Send a last chunk with token usage and no choices.")


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``: the OpenAI fields matlas honours; other fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(description="A model id from GET /v1/models.")
    messages: list[RequestMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, description="Most tokens to generate (legacy name).")
    max_completion_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    temperature: float = Field(1.0, ge=0.0, le=2.0, description="0 decodes greedily.")
    stop: str | list[str] | None = Field(None, description="Up to 4 strings that end generation (not returned).")
    seed: int | None = Field(None, description="Seed of sampling, for repeatable samples.")
    n: int = Field(1, description="Number of choices; only 1 is served.")
    stream: bool = Field(False, description="Send server-sent events of chunks, ending with 'data: [DONE]'.")
    stream_options: StreamOptions | None = None
    tools: list[ToolSpec] | None = Field(
        None, max_length=64, description="Functions the model may call (Hermes-style tool calls in the text)."
    )
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice = Field(
        "auto", description="auto: the model may call a tool (a call it opens is grammar-constrained); none: tools "
        "hidden; required: the reply is one call of an offered tool; a named function: the reply calls it.")

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError(f"n must be 1 (got {n}): matlas returns one choice per request")
        return n

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > 4:
            raise ValueError(f"stop takes at most 4 strings (got {len(stop)})")
        return stop

    @property
    def offered_tools(self) -> list[dict]:
        """The tools the model sees (none when ``tool_choice`` is ``none``)."""
        return [t.model_dump() for t in self.tools or []] if self.tool_choice != "none" else []

    def to_generation(self, max_tokens_limit: int) -> GenerationRequest:
        """The core request; ``max_tokens`` defaults to, and may not exceed, the server's limit."""
        max_tokens = self.max_completion_tokens or self.max_tokens or max_tokens_limit
        if max_tokens > max_tokens_limit:
            raise InvalidInput(f"max_tokens {max_tokens} exceeds this server's limit of {max_tokens_limit}")
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return GenerationRequest(
            model=self.model, max_tokens=max_tokens,
            messages=[ChatMessage(**m) for m in render_with_tools(
                [m.model_dump(exclude_none=True) for m in self.messages], self.offered_tools)],
            stop=[s for s in stop if s], temperature=self.temperature, seed=self.seed, constraint=self._constraint(),
        )

    def _constraint(self):
        """The tool-call grammar of ``tool_choice`` over the offered tools (None without tools)."""
        if not self.offered_tools:
            if self.tool_choice not in ("auto", "none"):
                raise InvalidInput("tool_choice 'required' or a named function needs tools")
            return None
        choice = self.tool_choice if isinstance(self.tool_choice, str) else self.tool_choice.function.name
        return call_constraint(self.offered_tools, choice)


class Usage(BaseModel):
    """Token counts of one completion."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> Usage:
        """Usage with its total."""
        return cls(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                   total_tokens=prompt_tokens + completion_tokens)


class AssistantMessage(BaseModel):
    """The generated message: text, or tool calls (content then null)."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCall] | None = None

    @classmethod
    def parse(cls, text: str, tools_offered: bool) -> AssistantMessage:
        """The reply ``text``; with tools offered, its ``<tool_call>`` blocks become tool calls."""
        if not tools_offered:
            return cls(content=text)
        content, calls, invalid = parse_tool_calls(text, with_invalid=True)
        if invalid:  # a malformed call is kept as text for the client to see, never dropped
            content = "\n".join([content, *(f"<tool_call>{c['text']}</tool_call>" for c in invalid)]).strip()
        if not calls:
            return cls(content=content)
        return cls(content=content or None, tool_calls=[
            ToolCall(id=c["id"], function=FunctionCall(name=c["name"], arguments=json.dumps(c["arguments"])))
            for c in calls
        ])


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: FinishReason


class ChatCompletion(BaseModel):
    """A whole chat completion."""

    id: str = Field(description="'chatcmpl-' and a unique hex id.")
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(description="Unix time in seconds.")
    model: str
    choices: list[Choice]
    usage: Usage


class ToolCallDelta(ToolCall):
    """A whole tool call sent in one chunk, at ``index`` of the message's calls."""

    index: int


class Delta(BaseModel):
    """What a chunk adds to the message: the role (first chunk), content or tool calls."""

    role: Literal["assistant"] | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(BaseModel):
    """The one choice of a chunk; ``finish_reason`` is set on the last content chunk only."""

    index: int = 0
    delta: Delta
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed completion; every chunk of a stream shares ``id``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = Field(None, description="Set on the extra last chunk of stream_options.include_usage.")


class ModelCard(BaseModel):
    """A served model."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time in seconds when this server started serving it.")
    owned_by: str = "matlas"


class ModelList(BaseModel):
    """``GET /v1/models``."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
