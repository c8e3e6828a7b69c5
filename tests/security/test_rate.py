"""``matlas.security.rate`` on a real redis-server: counters shared by processes, failing open when Redis is down."""

from __future__ import annotations

import logging

import pytest

from matlas.errors import RateLimited
from matlas.security.rate import RateLimits
from tests._support.redis_server import free_port


def test_redis_counters_are_shared_by_every_api_process(redis_url):
    first, second = RateLimits({"search": "3/minute"}, redis_url), RateLimits({"search": "3/minute"}, redis_url)
    first.hit("search", "ana")
    second.hit("search", "ana")
    first.hit("search", "ana")
    with pytest.raises(RateLimited) as err:
        second.hit("search", "ana")
    assert err.value.status_code == 429 and 1 <= err.value.retry_after_s <= 60
    second.hit("search", "bob")


def test_limits_fail_open_when_their_store_is_down(caplog):
    limits = RateLimits({"search": "1/minute"}, f"redis://127.0.0.1:{free_port()}/0")
    with caplog.at_level(logging.WARNING, logger="matlas.security.rate"):
        for _ in range(3):
            limits.hit("search", "ana")  # no Redis: requests pass, with a warning
    assert "rate limits not enforced" in caplog.text


def test_memory_counters_are_per_group_and_key():
    limits = RateLimits({"search": "1/minute", "chat": None})
    limits.hit("search", "ana")
    with pytest.raises(RateLimited, match="'ana' is over its search limit of 1 per 1 minute"):
        limits.hit("search", "ana")
    for _ in range(5):
        limits.hit("chat", "ana")  # no rule: unlimited
