"""``workers.locks``: one holder at a time; a Redis lease is renewed while held and released after."""

import time

import redis

from workers.locks import file_lease, redis_lease


def test_redis_lease_is_exclusive_renewed_and_released(redis_url):
    client = redis.Redis.from_url(redis_url)
    with redis_lease(client, "job", ttl_s=0.6) as held:
        assert held
        with redis_lease(client, "job", ttl_s=0.6) as second:
            assert not second
        time.sleep(1.5)  # longer than the TTL: the renewer keeps it
        assert client.exists("job") and client.pttl("job") > 0
    assert not client.exists("job")
    with redis_lease(client, "job", ttl_s=0.6) as again:
        assert again


def test_file_lease_is_exclusive_and_released(tmp_path):
    path = tmp_path / "locks" / "job.lock"
    with file_lease(path) as held:
        assert held
        with file_lease(path) as second:
            assert not second
    with file_lease(path) as again:
        assert again
