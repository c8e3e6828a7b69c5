"""``matlas serve`` as a real process answering real HTTP on loopback."""

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_search_over_http(built_index, tmp_path):
    port = _free_port()
    env = os.environ | {"MATLAS_INDEX_ROOT": str(built_index.parent), "MATLAS_DEFAULT_INDEX": "mini",
                        "MATLAS_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "matlas", "serve", "--port", str(port), "--no-build-default"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        r = httpx.post(f"{base}/v1/search", json={"query": "blue LED semiconductor", "k": 3}, timeout=60)
        assert r.status_code == 200 and r.json()["hits"][0]["id"] == "gan"
        bad = httpx.post(f"{base}/v1/search", json={"query": "x", "k": -1}, timeout=10)
        assert bad.status_code == 422 and "detail" in bad.json()
        assert httpx.get(f"{base}/v1/indexes", timeout=10).json()[0]["name"] == "mini"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
