"""A scripted OpenAI-compatible chat provider on loopback: the one part of a chat turn the bench fakes.

Every ``POST /v1/chat/completions`` is answered with the same short text (no numbers, so the
grounding check passes it), streamed or not, in a few milliseconds; ``matlas serve`` reaches it the
sanctioned way, as an OpenAI-compatible endpoint (``MATLAS_LLM_BASE_URL``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse

from tests._support.http_server import serving  # the same uvicorn-in-a-thread runner the tests use

__all__ = ["REPLY", "scripted_provider", "serving"]

REPLY = "Materials Project data answers questions about crystal structures and their properties."


def scripted_provider(reply: str = REPLY) -> FastAPI:
    """An OpenAI-compatible app answering every chat completion with ``reply``; counts requests."""
    app = FastAPI()
    app.state.requests = 0
    head = {"id": "chatcmpl-bench", "created": 0, "model": "scripted"}

    def chunks() -> Iterator[str]:
        for choice in ({"index": 0, "delta": {"role": "assistant", "content": reply}, "finish_reason": None},
                       {"index": 0, "delta": {}, "finish_reason": "stop"}):
            yield f"data: {json.dumps(head | {'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n"
        yield "data: [DONE]\n\n"

    @app.post("/v1/chat/completions")
    def complete(body: dict):
        app.state.requests += 1
        if body.get("stream"):
            return StreamingResponse(chunks(), media_type="text/event-stream")
        message = {"role": "assistant", "content": reply}
        return JSONResponse(head | {"object": "chat.completion", "usage": {
            "prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    return app
