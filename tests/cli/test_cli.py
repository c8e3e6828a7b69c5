"""The real ``matlas`` command in a subprocess: output, --json, and clean errors."""

import json
import os
import subprocess
import sys

import pytest


def matlas(*args, home, env=None):
    full_env = os.environ | {"MATLAS_HOME": str(home), "HF_HUB_OFFLINE": "1"} | (env or {})
    return subprocess.run([sys.executable, "-m", "matlas", *map(str, args)], capture_output=True, text=True,
                          env=full_env, timeout=600, check=False)


def test_config_redacts_secrets(tmp_path):
    r = matlas("config", "--json", home=tmp_path, env={"MP_API_KEY": "sk-very-secret", "MATLAS_PORT": "9001"})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["port"] == 9001 and data["mp_api_key"] == "**********"
    assert "sk-very-secret" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["search", "--index", "nothing", "hello"], "unknown index 'nothing'"),
        (["index", "build", "--corpus", "missing.jsonl", "--out", "x"], "file not found"),
        (["index", "build", "--corpus", "CORPUS", "--out", "x", "--dproj", "999"], "exceeds the token dimension"),
        (["eval", "--index", "nothing"], "needs --index, --queries and --qrels"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path, corpus_path, args, needle):
    args = [str(corpus_path) if a == "CORPUS" else a for a in args]
    r = matlas(*args, home=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr


def test_invalid_setting_is_reported(tmp_path):
    r = matlas("config", home=tmp_path, env={"MATLAS_PORT": "notaport"})
    assert r.returncode == 2 and "invalid setting port" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_build_search_batch_eval(tmp_path, corpus_path):
    fixtures = corpus_path.parent
    r = matlas("index", "build", "--corpus", corpus_path, "--out", "mini", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["documents"] == 16

    r = matlas("search", "--index", "mini", "high temperature superconductor", "-k", "2", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hits"][0]["id"] == "ybco"

    run = tmp_path / "run.tsv"
    r = matlas("search", "--index", tmp_path / "indexes" / "mini", "--queries", fixtures / "queries.jsonl",
               "--run-out", run, "-k", "3", home=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [line.split("\t") for line in run.read_text().splitlines()]
    assert len(lines) == 12 and lines[0][:4] == ["q1", "Q0", lines[0][2], "1"]

    r = matlas("eval", "--index", "mini", "--queries", fixtures / "queries.jsonl", "--qrels", fixtures / "qrels.tsv",
               "--mode", "muvera", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    metrics = json.loads(r.stdout)
    assert metrics["queries"] == 4 and metrics["recall@100"] == 1.0 and metrics["ndcg@10"] > 0.8

    r = matlas("index", "rollback", "--index", "mini", home=tmp_path)
    assert r.returncode == 2 and "oldest version" in r.stderr
