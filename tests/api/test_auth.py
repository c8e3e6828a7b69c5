"""API keys and scopes through real HTTP: a keyed ``matlas serve`` on 0.0.0.0, and how ``matlas serve``
binds without keys."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from tests._support.keys import bearer
from tests._support.redis_server import free_port
from tests._support.serve import serve_env, serve_process

pytestmark = pytest.mark.slow

MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def protected_operations(base: str) -> list[tuple[str, str]]:
    """(method, path with every parameter filled) of each operation the server's OpenAPI marks as needing a key."""
    schema = httpx.get(f"{base}/openapi.json", timeout=30).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": schema["components"]["securitySchemes"]["HTTPBearer"][
            "description"]}
    out = []
    for template, item in schema["paths"].items():
        for method, operation in item.items():
            if operation.get("security"):
                out.append((method.upper(), re.sub(r"\{[^}]+\}", "x", template)))
    return out


def test_health_and_docs_stay_open(keyed_server):
    assert httpx.get(f"{keyed_server.base}/healthz", timeout=10).status_code == 200
    assert httpx.get(f"{keyed_server.base}/openapi.json", timeout=10).status_code == 200


def test_every_protected_route_refuses_a_missing_or_wrong_key(keyed_server):
    operations = protected_operations(keyed_server.base)
    assert len(operations) >= 14 and ("POST", "/v1/chat/completions") in operations and ("GET", "/v1/models") in operations
    # every /v1 operation of the schema is protected, not only those listed here
    schema = httpx.get(f"{keyed_server.base}/openapi.json", timeout=30).json()
    assert {(m.upper(), re.sub(r"\{[^}]+\}", "x", p)) for p, item in schema["paths"].items() for m in item
            if p.startswith("/v1/")} == set(operations)
    for method, path in operations:
        for headers, error in (({}, None), (bearer("not-a-key"), "invalid_token"),
                               ({"Authorization": "Basic b3BzOm9wcw=="}, None)):
            r = httpx.request(method, keyed_server.base + path, headers=headers, timeout=30,
                              json={} if method == "POST" else None)
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
            assert r.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
            assert ('error="invalid_token"' in r.headers["WWW-Authenticate"]) == (error is not None)
            assert "detail" in r.json()


def test_a_large_body_without_a_key_is_refused_before_it_is_read(keyed_server):
    r = httpx.post(f"{keyed_server.base}/v1/search", content=b"x" * 5_000_000,
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 401


def test_read_key_searches_but_may_not_administer(keyed_server, tokens):
    ana, ops = bearer(tokens["ana"]), bearer(tokens["ops"])
    base = keyed_server.base
    r = httpx.post(f"{base}/v1/search", json={"query": "blue LED semiconductor", "k": 3}, headers=ana, timeout=60)
    assert r.status_code == 200 and r.json()["hits"][0]["id"] == "gan"
    assert [i["name"] for i in httpx.get(f"{base}/v1/indexes", headers=ana, timeout=30).json()] == ["mini"]
    assert httpx.get(f"{base}/v1/models", headers=ana, timeout=30).status_code == 200
    for method, path in (("POST", "/v1/indexes/mini/rebuild"), ("GET", "/v1/tasks/abc")):
        r = httpx.request(method, base + path, headers=ana, timeout=30)
        assert r.status_code == 403 and "admin" in r.json()["detail"], (path, r.text)
    # the admin key passes the scope check (no broker here, so no task is stored: 404)
    r = httpx.get(f"{base}/v1/tasks/abc", headers=ops, timeout=30)
    assert r.status_code == 404 and "MATLAS_BROKER_URL" in r.json()["detail"]


def test_exact_search_over_a_large_index_is_admin_only(keyed_server, tokens):
    body = {"query": "blue LED semiconductor", "k": 3, "mode": "exact"}
    r = httpx.post(f"{keyed_server.base}/v1/search", json=body, headers=bearer(tokens["ana"]), timeout=60)
    assert r.status_code == 403 and "admin" in r.json()["detail"] and "'mini'" in r.json()["detail"]
    r = httpx.post(f"{keyed_server.base}/v1/search", json=body, headers=bearer(tokens["ops"]), timeout=60)
    assert r.status_code == 200 and r.json()["hits"][0]["id"] == "gan"
    cap = keyed_server.exact_max_documents
    many = {"query": "blue LED semiconductor", "k": 3, "candidates": cap + 1}
    r = httpx.post(f"{keyed_server.base}/v1/search", json=many, headers=bearer(tokens["ana"]), timeout=60)
    assert r.status_code == 403 and "candidates" in r.json()["detail"]
    r = httpx.post(f"{keyed_server.base}/v1/search", json=many | {"candidates": cap},
                   headers=bearer(tokens["ana"]), timeout=60)
    assert r.status_code == 200


def test_mcp_over_http_needs_a_key(keyed_server, tokens):
    url = f"{keyed_server.base}/mcp"
    r = httpx.post(url, json=MCP_INIT, headers=MCP_HEADERS, timeout=30)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = httpx.post(url, json=MCP_INIT, headers=MCP_HEADERS | bearer(tokens["ana"]), timeout=30)
    assert r.status_code == 200 and "serverInfo" in r.text


def test_web_pages_send_the_browser_to_login_and_the_cookie_signs_in(keyed_server, tokens):
    base = keyed_server.base
    r = httpx.get(f"{base}/search?query=GaN", timeout=30)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsearch%3Fquery%3DGaN"
    assert httpx.get(f"{base}/login", timeout=30).status_code == 200
    wrong = httpx.post(f"{base}/login", data={"key": "nope", "next": "/"}, timeout=30)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    r = httpx.post(f"{base}/login", data={"key": tokens["ana"], "next": "//evil.example/"}, timeout=30)
    assert r.status_code == 303 and r.headers["location"] == "/"  # never an open redirect
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    jar = {"matlas_key": r.cookies["matlas_key"]}
    page = httpx.get(f"{base}/", cookies=jar, timeout=30)
    assert page.status_code == 200 and "Sign out" in page.text and "ana" in page.text
    assert httpx.get(f"{base}/v1/sessions", cookies=jar, timeout=30).status_code == 200  # downloads use the cookie
    out = httpx.post(f"{base}/logout", cookies=jar, timeout=30)
    assert out.status_code == 303 and 'matlas_key=""' in out.headers["set-cookie"]


def test_keys_are_never_printed(keyed_server, tokens):
    httpx.get(f"{keyed_server.base}/v1/indexes", headers=bearer(tokens["ops"] + "x"), timeout=30)
    output = keyed_server.output()
    assert "API keys required on 0.0.0.0" in output
    assert not any(token in output for token in tokens.values())


def test_keyless_serve_refuses_a_public_address():
    port = str(free_port())
    r = subprocess.run([sys.executable, "-m", "matlas", "serve", "--host", "0.0.0.0", "--port", port,
                        "--no-build-default", "--no-warm"], env=serve_env({}), capture_output=True, text=True, check=False,
                       timeout=600)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "refusing to serve 0.0.0.0 without API keys" in r.stderr and "MATLAS_API_KEYS" in r.stderr


def test_keyless_serve_on_a_public_address_needs_allow_insecure(tmp_path):
    with serve_process({"MATLAS_HOME": str(tmp_path)}, "--host", "0.0.0.0", "--no-warm", "--allow-insecure",
                       timeout_s=600) as served:
        assert httpx.get(f"{served.base}/v1/indexes", timeout=30).status_code == 200  # everyone is the local user
        assert httpx.get(f"{served.base}/login", timeout=30).status_code == 303  # nothing to sign in to
    assert "WARNING: serving 0.0.0.0 WITHOUT API keys (--allow-insecure)" in served.output()
