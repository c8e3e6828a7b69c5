"""``matlas mp import/info/sync/serve``: in-process for output, the real command for the rest."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from matlas.cli import app
from matlas.errors import InvalidInput
from tests._support.mp import MP_SAMPLE

SAMPLE_MATERIALS, SAMPLE_SYNTHESIS = MP_SAMPLE / "materials.jsonl", MP_SAMPLE / "synthesis.jsonl"

NO_KEY = {"MP_API_KEY": None, "MATLAS_MP_API_KEY": None, "MATLAS_MP_ENDPOINT": None}


def matlas(*args, home, **popen):
    env = {k: v for k, v in os.environ.items() if k not in NO_KEY} | {
        "MATLAS_HOME": str(home),
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "matlas", *map(str, args)]
    if popen:
        return subprocess.Popen(command, env=env, text=True, **popen)
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_import_then_info_json(tmp_path, sample, sample_recipes):
    runner, env = CliRunner(), NO_KEY | {"MATLAS_HOME": str(tmp_path)}
    r = runner.invoke(
        app,
        [
            "mp",
            "import",
            "--materials",
            str(SAMPLE_MATERIALS),
            "--synthesis",
            str(SAMPLE_SYNTHESIS),
            "--json",
        ],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["imported"] == {
        "materials": len(sample),
        "synthesis_recipes": len(sample_recipes),
    }

    r = runner.invoke(app, ["mp", "info", "--json"], env=env)
    info = json.loads(r.output)
    assert info["snapshot"]["path"] == str(tmp_path / "mp.sqlite")
    assert (info["snapshot"]["materials"], info["snapshot"]["synthesis_recipes"]) == (
        len(sample),
        len(sample_recipes),
    )
    assert info["queries_go_to"] == "the local snapshot"


def test_sync_into_another_db(tmp_path, mp_endpoint, sample):
    env = NO_KEY | {"MATLAS_HOME": str(tmp_path), "MATLAS_MP_ENDPOINT": mp_endpoint}
    target = tmp_path / "synced.sqlite"
    r = CliRunner().invoke(
        app, ["mp", "sync", "--ids", "mp-149,mp-804", "--db", str(target), "--json"], env=env
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["synced"] == 2 and json.loads(r.output)["snapshot"]["path"] == str(
        target
    )


def test_bad_input_is_one_error_line_with_exit_2(tmp_path, sample):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(sample["mp-149"])
        + "\n"
        + json.dumps(sample["mp-13"] | {"material_id": "13"})
        + "\n"
    )
    r = matlas("mp", "import", "--materials", bad, "--json", home=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "bad.jsonl:2: material_id: String should match pattern" in " ".join(
        r.stderr.split()
    )  # rich wraps lines
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["mp", "import", "--materials", "missing.jsonl"], "no such file: missing.jsonl"),
        (["mp", "import"], "give at least one of --materials, --synthesis, --entries"),
        (["mp", "phase-diagram", "Li-Xx-O"], "'Li-Xx-O' is not a chemical system"),
        (["mp", "sync", "--elements", "Li"], "sync needs a live endpoint"),
        (["mp", "sync"], "give either --elements"),
    ],
)
def test_refusals_are_invalid_input(tmp_path, args, needle):
    r = CliRunner().invoke(app, args, env=NO_KEY | {"MATLAS_HOME": str(tmp_path)})
    assert isinstance(r.exception, InvalidInput) and needle in str(r.exception)


def test_serve_answers_mp_clients(tmp_path, mp_db, sample):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = matlas(
        "mp",
        "serve",
        "--snapshot",
        mp_db,
        "--port",
        port,
        home=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + 120
        while True:
            try:
                httpx.get(url + "heartbeat").raise_for_status()
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (
                    proc.stderr.read() if proc.poll() else "timeout"
                )
                time.sleep(0.2)
        body = httpx.get(
            url + "materials/summary/", params={"formula": "GaN", "_fields": "material_id,band_gap"}
        ).json()
        assert body["data"] == [{"material_id": "mp-804", "band_gap": sample["mp-804"]["band_gap"]}]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
