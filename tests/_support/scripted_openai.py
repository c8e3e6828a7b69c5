"""A stand-in for a remote OpenAI-compatible provider (the one part tests fake): scripted streamed replies."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.responses import StreamingResponse


def scripted_openai(replies: list[dict]) -> FastAPI:
    """An OpenAI-compatible ``/v1/chat/completions`` that streams ``replies`` in order (a text or one tool call)."""
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
        return StreamingResponse(chunks(replies[len(app.state.requests) - 1]), media_type="text/event-stream")

    return app
