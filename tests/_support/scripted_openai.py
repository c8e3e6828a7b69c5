"""A stand-in for a remote OpenAI-compatible provider (the one part tests fake): scripted streamed replies."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

Reply = dict | Callable[[list[dict]], dict]


def scripted_openai(replies: list[Reply]) -> FastAPI:
    """An OpenAI-compatible ``/v1/chat/completions`` that streams ``replies`` in order (a text or one tool call).

    A reply may be a function of the request's messages, so that a script can quote what the real
    tools returned instead of hard-coding a value (see ``last_tool_result``).
    """
    app = FastAPI()
    app.state.requests = []

    def chunks(reply: dict):
        head = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": "scripted"}
        if "tool" in reply:
            call = {"index": 0, "id": f"call_{len(app.state.requests)}", "type": "function",
                    "function": {"name": reply["tool"], "arguments": json.dumps(reply["args"])}}
            delta, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        else:
            delta, finish = {"role": "assistant", "content": reply["text"]}, "stop"
        for choice in ({"index": 0, "delta": delta, "finish_reason": None},
                       {"index": 0, "delta": {}, "finish_reason": finish}):
            yield f"data: {json.dumps(head | {'choices': [choice]})}\n\n"
        yield "data: [DONE]\n\n"

    @app.post("/v1/chat/completions")
    def complete(body: dict) -> StreamingResponse:
        app.state.requests.append(body)
        reply = replies[len(app.state.requests) - 1]
        reply = reply(body["messages"]) if callable(reply) else reply
        return StreamingResponse(chunks(reply), media_type="text/event-stream")

    return app


def last_tool_result(messages: list[dict]) -> dict:
    """The JSON of the last ``tool`` message of an OpenAI request (for an expert's handoff, the last tool
    result the expert quoted)."""
    content = next(m for m in reversed(messages) if m["role"] == "tool")["content"]
    if "Tool results:\n" in content:
        content = content.split("Tool results:\n", 1)[1].splitlines()[-1]
    return json.loads(content)
