"""``matlas beat``: a real beat process queues a rebuild of each configured index every period."""

import base64
import json
import os
import subprocess
import sys
import time

import pytest
import redis

from workers.schedule import REBUILD_TASK


@pytest.mark.slow
def test_beat_queues_rebuilds_of_the_configured_indexes(redis_server, tmp_path):
    url = redis_server.url.rsplit("/", 1)[0] + "/6"
    client = redis.Redis.from_url(url)
    client.flushdb()
    env = os.environ | {"MATLAS_HOME": str(tmp_path), "MATLAS_BROKER_URL": url, "MATLAS_REBUILD_EVERY_S": "1",
                        "MATLAS_REBUILD_INDEXES": '["alpha", "beta"]'}
    beat = subprocess.Popen([sys.executable, "-m", "matlas", "beat"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while client.llen("index") < 4:
            assert beat.poll() is None and time.monotonic() < deadline, "beat queued nothing"
            time.sleep(0.2)
    finally:
        beat.terminate()
        beat.wait(timeout=30)
    messages = [json.loads(m) for m in client.lrange("index", 0, -1)]
    assert {m["headers"]["task"] for m in messages} == {REBUILD_TASK}
    names = {json.loads(base64.b64decode(m["body"]))[1]["name"] for m in messages}
    assert names == {"alpha", "beta"}
    assert all(m["headers"]["expires"] for m in messages)
