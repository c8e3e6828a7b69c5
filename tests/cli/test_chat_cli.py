"""``matlas chat`` and ``matlas eval agent`` as real processes: the OpenAI backend talks to a scripted
OpenAI-compatible server (the one remote part faked), tools query the bundled MP sample through mp-api."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests._support.http_server import serving
from tests._support.scripted_openai import scripted_openai

SI_ANSWER = "Silicon (mp-149) has a band gap of 0.61 eV."
SI_TURN = [{"text": SI_ANSWER}]  # the linker fetched Si's band gap from MP; the model only writes the answer


@pytest.fixture(scope="module")
def mp_db(tmp_path_factory):
    from tests._support.mp import sample_snapshot

    return sample_snapshot(tmp_path_factory.mktemp("mp") / "mp.sqlite").path


def matlas(*args, home, mp_db, llm_url=None, stdin=None, env=None):
    base = {k: v for k, v in os.environ.items() if k not in ("MP_API_KEY", "OPENAI_API_KEY")}
    full_env = base | {"MATLAS_HOME": str(home), "MATLAS_MP_DB": str(mp_db), "HF_HUB_OFFLINE": "1",
                       "MATLAS_LLM_BACKEND": "openai", "MATLAS_LLM_MODEL": "scripted"} | (env or {})
    if llm_url:
        full_env["MATLAS_LLM_BASE_URL"] = f"{llm_url}/v1"
    return subprocess.run([sys.executable, "-m", "matlas", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=full_env, timeout=600, check=False)


def test_one_shot_then_json_in_the_same_session(tmp_path, mp_db):
    app = scripted_openai([*SI_TURN, {"text": "As above: 0.61 eV (mp-149)."}])
    with serving(app) as url:
        r = matlas("chat", "What is the band gap of Si?", home=tmp_path, mp_db=mp_db, llm_url=url)
        assert r.returncode == 0, r.stderr
        assert SI_ANSWER in r.stdout and "cited: mp-149" in r.stdout and "ungrounded" not in r.stdout
        session_id = r.stdout.split("session ")[-1].split()[0]
        assert len(session_id) == 32

        r = matlas("chat", "Say it again.", "--session", session_id, "--json", home=tmp_path, mp_db=mp_db, llm_url=url)
        assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["session_id"] == session_id and out["answer"]["content"] == "As above: 0.61 eV (mp-149)."
    # no tool ran in this turn; the earlier turn's tool result keeps 0.61 citable
    assert out["answer"]["ungrounded"] == [] and out["answer"]["steps"] == []
    history = [(m["role"], m["content"]) for m in app.state.requests[-1]["messages"][1:]]
    assert history == [("user", "What is the band gap of Si?"), ("assistant", SI_ANSWER), ("user", "Say it again.")]


def test_interactive_streams_steps_and_tokens(tmp_path, mp_db):
    with serving(scripted_openai(SI_TURN)) as url:
        r = matlas("chat", home=tmp_path, mp_db=mp_db, llm_url=url, stdin="What is the band gap of Si?\n/exit\n")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    steps = ["· get_band_structure_summary(", "← get_band_structure_summary:", SI_ANSWER,
             "cited: mp-149", "continue with: matlas chat --session"]
    positions = [out.find(s) for s in steps]
    assert -1 not in positions and positions == sorted(positions), out


@pytest.mark.parametrize(
    "args,env,needle",
    [
        (["chat", "hi", "--session", "0" * 32], {}, "unknown session"),
        (["chat", "hi"], {}, "openai backend needs MATLAS_LLM_BASE_URL"),
        (["eval", "agent", "--tasks", "missing.json"], {}, "tasks file not found"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path, mp_db, args, env, needle):
    r = matlas(*args, home=tmp_path, mp_db=mp_db, env=env)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_eval_agent_scores_runs_against_mp(tmp_path, mp_db):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([{"id": "si", "question": "What is the band gap of Si?", "material_id": "mp-149",
                                  "property": "band_gap", "unit": "eV"}]))
    wrong = [{"text": "Silicon has a band gap of 0.7 eV."}, {"text": "Still 0.7 eV."}]  # draft, then repair
    with serving(scripted_openai([*SI_TURN, *wrong])) as url:
        r = matlas("eval", "agent", "--tasks", tasks, "--runs", "2", "--warmup", "0", "--json", home=tmp_path,
                   mp_db=mp_db, llm_url=url)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    task = report["tasks"][0]
    # the wrong draft failed its repair round too: the user got the answer composed from MP's value instead
    assert task["expected"] == 0.61 and [run["value"] for run in task["runs"]] == [0.61, 0.61]
    assert [run["cited"] for run in task["runs"]] == [True, True]
    assert [run["composed"] for run in task["runs"]] == [False, True]
    assert [run["tools"] for run in task["runs"]] == [["get_band_structure_summary"]] * 2
    assert report["mae_by_property"]["band_gap"] == 0.0 and report["ungrounded_unflagged"] == 0
    assert (report["citation_rate"], report["answer_rate"], report["scr"]) == (1.0, 1.0, 1.0)
    assert report["by_property"]["band_gap"]["both"] == 1.0
