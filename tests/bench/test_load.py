"""``python -m bench.load`` in a tiny configuration: a real ``matlas serve`` (one worker), a few
seconds per level, a short soak with Redis restarted and a rebuild published midway."""

import json

import pytest

from bench.load.__main__ import main
from index.versions import IndexRoot


@pytest.mark.slow
def test_tiny_load_run_has_its_shape_and_no_errors(index_copy, tmp_path, redis_server, capsys):
    home = index_copy.parent.parent
    result = main(["--home", str(home), "--default-index", "mini", "--workers", "1", "--big-docs", "0",
                   "--levels", "1", "2", "--seconds", "1", "--max-requests", "20", "--warmup", "2",
                   "--chat-clients", "1", "--chat-seconds", "2", "--soak-seconds", "12", "--redis-down-s", "1",
                   "--json"])
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(result))  # --json prints the result
    assert set(result) == {"config", "builds", "runs", "soak", "targets"}
    (run,) = result["runs"]
    assert run["workers"] == 1 and run["peak_rss_mb"] > 0
    assert [(r["index"], r["clients"]) for r in run["search"]] == [("default", 1), ("default", 2)]
    for row in run["search"]:
        assert row["requests"] > 0 and row["errors"] == 0 and row["5xx"] == 0
        assert 0 < row["p50_ms"] <= row["p99_ms"] and row["qps"] > 0
    chat = run["chat"]
    assert chat["turns"] > 0 and chat["errors"] == chat["5xx"] == chat["lost_turns"] == 0
    assert chat["turns_stored"] == chat["turns_sent"] == chat["turns"]
    soak = result["soak"]
    assert soak["searches"] > 0 and soak["failed_searches"] == soak["search_5xx"] == 0
    assert soak["chat_turns"] > 0 and soak["lost_turns"] == soak["chat_errors"] == 0
    assert [f["fault"] for f in soak["faults"]] == ["redis stopped and restarted", "rebuild of bench-rebuild published"]
    assert len(IndexRoot(home / "indexes" / "bench-rebuild").versions()) == 2  # built before, rebuilt midway
    assert soak["rss_samples"] > 0 and soak["rss_start_mb"] > 0
    assert all(set(t) == {"target", "value", "met"} for t in result["targets"])
    met = {t["target"]: t["met"] for t in result["targets"]}
    assert met["0 errors at every level"] and met["0 5xx at every level"]
    assert met["no failed search in the soak (faults included)"] and met["no lost chat turn in the soak (faults included)"]
