"""Token transport over Redis Streams: a worker appends a generation's events, the API reads them back.

One stream per request, ``matlas:llm:{request_id}``, holds JSON ``TokenEvent`` entries: text deltas,
then one ``end`` (finish reason and usage) or one ``error``. The writer bounds the stream (``MAXLEN``)
and gives it a TTL, so streams nobody reads vanish; the reader blocks (``XREAD BLOCK``) until the
last event, then deletes the stream. A reader that stops early raises a cancel flag that the writer
checks after every event, so an abandoned generation stops instead of running to ``max_tokens``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterable
from typing import Literal

import redis
from pydantic import BaseModel, Field

from matlas.errors import MatlasError, UpstreamError

__all__ = ["GenerationFailed", "TokenEvent", "publish", "read", "stream_key"]

log = logging.getLogger(__name__)
_FIELD = "event"
_CANCEL_TTL_S = 3600  # outlives any generation the flag must stop
_POLL_S = 1.0  # one XREAD BLOCK, well under the client socket timeout (redis-py: 5 s)


class TokenEvent(BaseModel):
    """One event of a generation: a text delta, the end with usage, or an error."""

    kind: Literal["delta", "end", "error"]
    text: str = Field("", description="The new text of a delta.")
    finish_reason: Literal["stop", "length"] | None = Field(None, description="Why generation ended (end only).")
    prompt_tokens: int = Field(0, ge=0, description="Tokens of the rendered prompt (end only).")
    completion_tokens: int = Field(0, ge=0, description="Tokens generated (end only).")
    status: int = Field(502, description="HTTP status of the failure (error only).")
    detail: str = Field("", description="Message for people (error only).")


class GenerationFailed(MatlasError):
    """A generation that failed where it ran; carries that side's HTTP status."""

    def __init__(self, message: str, status_code: int = 502) -> None:
        super().__init__(message)
        self.status_code = status_code


def stream_key(request_id: str) -> str:
    """The Redis key of a request's token stream."""
    return f"matlas:llm:{request_id}"


def _cancel_key(request_id: str) -> str:
    return f"matlas:llm:{request_id}:cancel"


def _error_event(err: Exception) -> TokenEvent:
    if isinstance(err, MatlasError):
        return TokenEvent(kind="error", status=err.status_code, detail=str(err))
    return TokenEvent(kind="error", status=502, detail=f"generation failed on the llm worker ({type(err).__name__})")


def publish(client: redis.Redis, request_id: str, events: Iterable[TokenEvent], *, maxlen: int,
            ttl_s: int) -> bool:
    """Append ``events`` to the request's stream; a failure becomes an ``error`` event.

    Returns False when the reader cancelled (the rest of ``events`` is then dropped). Errors
    that are not ``MatlasError`` are re-raised after their event is written, so workers log them.
    """
    key, iterator = stream_key(request_id), iter(events)

    def append(event: TokenEvent) -> bool:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(key, {_FIELD: event.model_dump_json(exclude_defaults=True)}, maxlen=maxlen, approximate=True)
        pipe.expire(key, ttl_s)
        pipe.exists(_cancel_key(request_id))
        return not pipe.execute()[-1]

    try:
        for event in iterator:
            if not append(event):
                log.info("generation %s cancelled by its reader", request_id)
                return False
    except Exception as err:
        append(_error_event(err))
        if not isinstance(err, MatlasError):
            raise
    finally:
        if hasattr(iterator, "close"):
            iterator.close()
    return True


def read(client: redis.Redis, request_id: str, *, timeout_s: float) -> Generator[TokenEvent, None, None]:
    """Yield the request's deltas and its ``end`` event, blocking up to ``timeout_s`` for each.

    Raises ``GenerationFailed`` for an ``error`` event and ``UpstreamError`` when nothing arrives
    in time or Redis fails. Closing the iterator early cancels the generation.
    """
    key, last, finished = stream_key(request_id), "0-0", False
    deadline = time.monotonic() + timeout_s
    try:
        while not finished:
            wait_s = min(deadline - time.monotonic(), _POLL_S)
            if wait_s <= 0:
                raise UpstreamError(f"no tokens from the llm worker within {timeout_s:g} s "
                                    "(is a worker consuming the 'llm' queue?)")
            reply = client.xread({key: last}, block=max(1, int(wait_s * 1000)), count=256)
            if not reply:
                continue
            deadline = time.monotonic() + timeout_s
            for entry_id, fields in reply[0][1]:
                last = entry_id
                event = TokenEvent.model_validate_json(fields[_FIELD.encode()])
                if event.kind == "error":
                    finished = True
                    raise GenerationFailed(event.detail, event.status)
                finished = event.kind == "end"
                yield event
                if finished:
                    break
    except redis.RedisError as err:
        raise UpstreamError(f"the token stream in Redis failed ({type(err).__name__})") from None
    finally:
        _close(client, request_id, cancel=not finished)


def _close(client: redis.Redis, request_id: str, *, cancel: bool) -> None:
    """Delete the stream; when the reader stops early, also tell the writer to stop."""
    try:
        pipe = client.pipeline(transaction=False)
        if cancel:
            pipe.set(_cancel_key(request_id), 1, ex=_CANCEL_TTL_S)
        pipe.delete(stream_key(request_id))
        pipe.execute()
    except redis.RedisError:
        log.warning("could not clean up token stream %s", request_id)
