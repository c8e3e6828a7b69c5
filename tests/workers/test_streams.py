"""Token transport over a real Redis: order, end marker, errors as events, timeout, cancel, TTL, MAXLEN."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from matlas.errors import InvalidInput, UpstreamError
from workers import streams
from workers.streams import GenerationFailed, TokenEvent


@pytest.fixture
def client(redis_url) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def _deltas(*texts: str):
    yield from (TokenEvent(kind="delta", text=t) for t in texts)


def test_round_trip_in_order_then_the_stream_is_gone(client):
    end = TokenEvent(kind="end", finish_reason="length", prompt_tokens=5, completion_tokens=3)
    assert streams.publish(client, "r1", [*_deltas("a", "b", "c"), end], maxlen=50, ttl_s=60)
    assert 0 < client.ttl(streams.stream_key("r1")) <= 60
    assert list(streams.read(client, "r1", timeout_s=1)) == [*_deltas("a", "b", "c"), end]
    assert not client.exists(streams.stream_key("r1"))


def test_maxlen_bounds_the_stream(client):
    streams.publish(client, "r2", _deltas(*"x" * 400), maxlen=10, ttl_s=60)
    assert client.xlen(streams.stream_key("r2")) < 400 - 100  # approximate trimming drops whole 100-entry nodes


def test_matlas_errors_travel_with_their_status(client):
    def failing():
        yield TokenEvent(kind="delta", text="a")
        raise InvalidInput("prompt too long")

    assert streams.publish(client, "r3", failing(), maxlen=50, ttl_s=60)
    events = streams.read(client, "r3", timeout_s=1)
    assert next(events).text == "a"
    with pytest.raises(GenerationFailed, match="prompt too long") as err:
        next(events)
    assert err.value.status_code == 422


def test_other_errors_are_reraised_and_sent_without_their_message(client):
    def failing():
        raise RuntimeError("secret path /srv/x")
        yield

    with pytest.raises(RuntimeError):
        streams.publish(client, "r4", failing(), maxlen=50, ttl_s=60)
    with pytest.raises(GenerationFailed, match=r"failed on the llm worker \(RuntimeError\)") as err:
        list(streams.read(client, "r4", timeout_s=1))
    assert err.value.status_code == 502 and "secret" not in str(err.value)


def test_silence_times_out_and_cancels_the_late_writer(client):
    start = time.monotonic()
    with pytest.raises(UpstreamError, match=r"no tokens from the llm worker within 0\.2 s"):
        list(streams.read(client, "r5", timeout_s=0.2))
    assert time.monotonic() - start < 2
    assert not streams.publish(client, "r5", _deltas("late", "more"), maxlen=50, ttl_s=60)


def test_a_reader_that_leaves_stops_the_writer(client):
    produced = []

    def slow():
        for i in range(200):
            produced.append(i)
            yield TokenEvent(kind="delta", text=str(i))
            time.sleep(0.01)

    result = {}
    writer = threading.Thread(target=lambda: result.update(done=streams.publish(client, "r6", slow(), maxlen=500,
                                                                                ttl_s=60)))
    writer.start()
    events = streams.read(client, "r6", timeout_s=5)
    assert next(events).text == "0"
    events.close()
    writer.join(timeout=10)
    assert result == {"done": False} and len(produced) < 200


def test_waits_longer_than_the_client_socket_timeout(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=1.5)
    late = threading.Timer(2.0, lambda: streams.publish(client, "r7", [TokenEvent(kind="end", finish_reason="stop")],
                                                        maxlen=10, ttl_s=60))
    late.start()
    assert [e.kind for e in streams.read(client, "r7", timeout_s=3)] == ["end"]
    late.join()
