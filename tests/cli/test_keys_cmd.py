"""``matlas keys create`` in a subprocess: a fresh token shown once, and an entry that holds only its SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys


def matlas(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matlas", *args], capture_output=True, text=True, timeout=600,
                          env=os.environ | {"HF_HUB_OFFLINE": "1"} | (env or {}), check=False)


def test_create_prints_a_token_and_its_hashed_entry():
    first = json.loads(matlas("keys", "create", "--name", "ci-bot", "--scope", "admin", "--json").stdout)
    second = json.loads(matlas("keys", "create", "--name", "ci-bot", "--scope", "admin", "--json").stdout)
    assert first["key"] != second["key"] and len(first["key"]) >= 40
    assert first["entry"] == f"ci-bot:admin:{hashlib.sha256(first['key'].encode()).hexdigest()}"
    text = matlas("keys", "create", "--name", "ana", "--scope", "read")
    token = text.stdout.split("shown only now:")[1].split()[0]
    assert f"ana:read:{hashlib.sha256(token.encode()).hexdigest()}" in text.stdout


def test_bad_names_and_scopes_are_one_line_errors():
    for args, needle in ((["--name", "a b", "--scope", "read"], "invalid key name"),
                         (["--name", "local", "--scope", "read"], "'local'"),
                         (["--name", "ana", "--scope", "root"], "invalid scope 'root'")):
        r = matlas("keys", "create", *args)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_config_never_shows_the_keys_setting(tmp_path):
    token = "tok-" + "x" * 40
    entry = f"ana:read:{hashlib.sha256(token.encode()).hexdigest()}"
    r = matlas("config", "--json", env={"MATLAS_HOME": str(tmp_path), "MATLAS_API_KEYS": entry})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["api_keys"] == "**********" and entry.split(":")[2] not in r.stdout
    bad = matlas("config", env={"MATLAS_HOME": str(tmp_path), "MATLAS_API_KEYS": f"{entry},{token}"})
    assert bad.returncode == 2 and "entry 2 is not name:scope:sha256hex" in bad.stderr and token not in bad.stderr
