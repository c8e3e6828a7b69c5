"""Issue 19: the defects fuzzing found, each replayed through real HTTP against a real ``matlas serve``.

The server runs over an index root holding a muvera index (``mini``) and a cross-modal index
built as the README's cross-modal section says (``matlas hash fit --snapshot ...``), on a small
MP-like snapshot; it warms every index at start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import pytest
from pymatgen.core import Lattice, Structure

from tests._support.mp_structures import write_snapshot
from tests._support.serve import serve_process

pytestmark = pytest.mark.slow

NACL = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
SEARCH, CROSS = "/v1/search", "/v1/crossmodal/search"


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_index):
    """``matlas hash fit`` (the README's command, as a process) then ``matlas serve`` over both indexes."""
    home = tmp_path_factory.mktemp("home")
    snapshot = tmp_path_factory.mktemp("mp")
    write_snapshot(snapshot)
    indexes = home / "indexes"
    shutil.copytree(built_index, indexes / "mini")
    env = {"MATLAS_HOME": str(home), "MATLAS_INDEX_ROOT": str(indexes), "MATLAS_MP_SNAPSHOT": str(snapshot),
           "MATLAS_DEFAULT_INDEX": "mini", "HF_HUB_OFFLINE": "1"}
    fit = subprocess.run([sys.executable, "-m", "matlas", "hash", "fit", "--bits", "16", "--json"],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=600, check=False)
    assert fit.returncode == 0, fit.stdout + fit.stderr
    assert json.loads(fit.stdout)["name"] == "crossmodal"
    with serve_process(env) as served:
        served.indexes = indexes
        served.snapshot = snapshot
        yield served


def post(server, path: str, body=None, *, content: bytes | None = None, timeout: float = 60) -> httpx.Response:
    if content is not None:
        return httpx.post(server.base + path, content=content, headers={"content-type": "application/json"},
                          timeout=timeout)
    return httpx.post(server.base + path, json=body, timeout=timeout)


def still_serving(server) -> None:
    assert server.alive(), "the server process died"
    assert httpx.get(f"{server.base}/healthz", timeout=10).status_code == 200
    ok = post(server, CROSS, {"structure": NACL.as_dict(), "k": 2})
    assert ok.status_code == 200 and len(ok.json()["hits"]) == 2, ok.text


def _cif(**fields: str) -> str:
    cif = NACL.to(fmt="cif")
    for name, value in fields.items():
        lines = [f"{name} {value}" if line.split()[:1] == [name] else line for line in cif.splitlines()]
        cif = "\n".join(lines) + "\n"
    return cif


# 1. a degenerate structure is a 422 with a reason, and the server lives on

@pytest.mark.parametrize("structure,reason", [
    ({"lattice": {"matrix": [["nan", 0, 0], [0, 3, 0], [0, 0, 3]]},
      "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0, 0, 0]}]}, "finite"),
    ({"lattice": {"matrix": [[3, 0, 0], [0, 3, 0], [0, 0, 3]]},
      "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0, "inf", 0]}]}, "finite"),
    (_cif(_cell_length_a="nan"), "finite"),
    (_cif(_cell_length_a="inf"), "finite"),
    (_cif(_cell_angle_alpha="0"), "finite"),
    ({"lattice": {"matrix": [[3, 0, 0], [3, 0.01, 0], [0, 0, 3]]},
      "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0, 0, 0]}]}, "angles"),
    ({"lattice": {"matrix": [[3, 0, 0], [0, 3, 0], [0, 0, 3]]},
      "sites": [{"species": [{"element": "Na", "occu": 1}], "abc": [0, 0, 0]},
                {"species": [{"element": "Cl", "occu": 1}], "abc": [0.01, 0, 0]}]}, "apart"),
])
def test_item1_degenerate_structure_is_422_and_server_survives(server, structure, reason):
    r = post(server, CROSS, {"structure": structure})
    assert r.status_code == 422 and reason in r.json()["detail"], r.text
    still_serving(server)


@pytest.mark.parametrize("raw", [
    b'{"structure": {"lattice": {"matrix": [[NaN, 0, 0], [0, 3, 0], [0, 0, 3]]}, "sites": []}}',
    b'{"structure": {"lattice": {"matrix": [[Infinity, 0, 0], [0, 3, 0], [0, 0, 3]]}, "sites": []}}',
    b'{"structure": {"lattice": {"matrix": [[1e400, 0, 0], [0, 3, 0], [0, 0, 3]]}, "sites": []}}',
])
def test_item1_raw_nonfinite_json_is_422_and_server_survives(server, raw):
    r = post(server, CROSS, content=raw)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid", r.text
    still_serving(server)


# 2. the server never opens a file the client names

def test_item2_structure_paths_are_not_read(server, tmp_path):
    real = tmp_path / "x.cif"
    real.write_text(NACL.to(fmt="cif"))
    answers = []
    for spec in (str(real), str(tmp_path / "missing.cif"), "../../../../" + str(real).lstrip("/"),
                 str(server.snapshot / "materials.jsonl")):
        r = post(server, CROSS, {"structure": spec})
        assert r.status_code == 422 and "not a readable structure" in r.json()["detail"], r.text
        answers.append(r.json()["detail"].replace(spec, ""))
    assert all(str(tmp_path) not in a for a in answers)
    assert answers[0] == answers[1]  # an existing and a missing path get the same answer: no existence oracle
    ok = post(server, CROSS, {"structure": real.read_text(), "k": 1})  # the same content, sent: searched
    assert ok.status_code == 200, ok.text


# 3. structure size and time are bounded

def test_item3_large_structures_are_refused_fast(server):
    big = NACL.copy()
    big.make_supercell([4, 4, 4])  # 8 atoms x 64 = 512 sites
    bigger = NACL.copy()
    bigger.make_supercell([5, 10, 10])  # 4,000 sites
    for spec in (big.to(fmt="cif"), big.to(fmt="poscar"), bigger.as_dict()):
        start = time.monotonic()
        r = post(server, CROSS, {"structure": spec})
        assert r.status_code == 422, r.text[:300]
        assert "sites" in r.json()["detail"] or "characters" in r.json()["detail"]
        assert time.monotonic() - start < 10
    huge = post(server, CROSS, {"structure": "data_x\n" + "#" * 300_000})
    assert huge.status_code == 422 and len(huge.content) < 2_000
    still_serving(server)


# 4. every index kind is served, warmed and listed with its kind; the wrong kind is a 4xx saying so

def test_item4_every_index_kind_is_served_and_listed(server):
    listed = {i["name"]: i for i in httpx.get(f"{server.base}/v1/indexes", timeout=30).json()}
    assert {n: i["kind"] for n, i in listed.items()} == {"crossmodal": "crossmodal", "mini": "muvera"}
    assert listed["crossmodal"]["manifest"]["parts"] == {"text": 8, "structure": 9}
    one = httpx.get(f"{server.base}/v1/indexes/crossmodal", timeout=30)
    assert one.status_code == 200 and one.json()["kind"] == "crossmodal"
    text = post(server, CROSS, {"text": "body-centered cubic metal", "k": 3})
    assert text.status_code == 200 and len(text.json()["hits"]) == 3
    assert post(server, SEARCH, {"query": "blue LED semiconductor", "k": 1}).json()["hits"][0]["id"] == "gan"
    wrong = post(server, SEARCH, {"query": "salt", "index": "crossmodal"})
    assert wrong.status_code == 422 and "is a crossmodal index" in wrong.json()["detail"], wrong.text
    wrong = post(server, CROSS, {"text": "salt", "index": "mini"})
    assert wrong.status_code == 422 and "is a muvera index" in wrong.json()["detail"], wrong.text


# 5. non-finite numbers, lone surrogates and loose types are 422, not 500 or accepted

@pytest.mark.parametrize("raw", [
    b'{"query": "x", "k": 1e400}', b'{"query": "x", "k": NaN}', b'{"query": "x", "k": Infinity}',
    b'{"query": "x", "k": -Infinity}', b'{"query": "\\ud800"}', b'{"query": "\xed\xa0\x80"}',
    b'{"query": "x", "k": true}', b'{"query": "x", "k": "10"}', b'{"query": "x", "k": 10.0}',
    b'{"query": "x", "k": 10, "candidates": 1.5}', b'{"\\udfff": 1, "query": "x"}',
])
def test_item5_nonfinite_surrogates_and_loose_types_are_422(server, raw):
    r = post(server, SEARCH, content=raw)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list) and r.json()["detail"][0]["loc"][0] == "body"


# 6. errors echo little and name no server path

def test_item6_errors_are_capped_and_name_no_paths(server):
    r = post(server, SEARCH, {"query": "x" * 1_500_000})  # under the 2 MB body cap, over the query cap
    assert r.status_code == 422 and len(r.content) < 2_000, len(r.content)
    for r in (post(server, SEARCH, {"query": "x", "index": "nope"}),
              httpx.get(f"{server.base}/v1/indexes/nope", timeout=10),
              post(server, CROSS, {"text": "x", "index": "nope"}),
              post(server, CROSS, {"structure": "mp-424242"})):
        assert r.status_code in (404, 422), r.text
        assert str(server.indexes) not in r.text and str(server.snapshot) not in r.text and "/tmp" not in r.text
    newline = post(server, SEARCH, {"query": "x", "index": "mini\n"})
    assert newline.status_code == 422 and "invalid index name" in newline.text
    assert httpx.get(f"{server.base}/v1/indexes/mini%0A", timeout=10).status_code == 422
    qq = post(server, CROSS, {"structure": NACL.to(fmt="cif").replace(" Na", " Qq").replace("Na0", "Qq0")})
    assert qq.status_code == 422 and "'Qq" in qq.json()["detail"] and "not a known element" in qq.json()["detail"]


# 7. the OpenAPI schema says what the API does

def test_item7_openapi_states_codes_and_shapes(server):
    schema = httpx.get(f"{server.base}/openapi.json", timeout=10).json()
    paths = schema["paths"]
    for path, method, codes in [("/v1/search", "post", {"200", "404", "422"}),
                                ("/v1/crossmodal/search", "post", {"200", "404", "422"}),
                                ("/v1/indexes/{name}", "get", {"200", "404", "422"}),
                                ("/v1/tasks/{task_id}", "get", {"200", "404", "422", "503"}),
                                ("/v1/sessions/{session_id}", "delete", {"204", "404", "422"})]:
        assert codes <= set(paths[path][method]["responses"]), (path, paths[path][method]["responses"].keys())
    detail = schema["components"]["schemas"]["ValidationErrorResponse"]["properties"]["detail"]
    assert {s.get("type") for s in detail["anyOf"]} == {"string", "array"}
    assert schema["components"]["schemas"]["CrossModalRequest"]["oneOf"] == [
        {"required": ["text"]}, {"required": ["structure"]}]
    task = httpx.get(f"{server.base}/v1/tasks/abc-123", timeout=10)  # no broker configured
    assert task.status_code == 404 and "no task queue" in task.json()["detail"]
    options = httpx.options(f"{server.base}/v1/sessions/0123", timeout=10)
    assert options.status_code == 204 and set(options.headers["allow"].split(", ")) == {"GET", "DELETE", "OPTIONS"}
    put = httpx.put(f"{server.base}/v1/sessions/0123", timeout=10)
    assert put.status_code == 405 and {"GET", "DELETE"} <= set(put.headers["allow"].split(", "))
    assert put.json()["detail"] == "Method Not Allowed"


def test_cli_hash_search_uses_the_manifest_encoder(server):
    """``matlas hash search`` encodes with the encoder the index records, whatever is configured."""
    env = {**os.environ, "MATLAS_INDEX_ROOT": str(server.indexes), "HF_HUB_OFFLINE": "1",
           "MATLAS_ENCODER_MODEL": "no-such/encoder-configured"}
    r = subprocess.run([sys.executable, "-m", "matlas", "hash", "search", "--text", "rock-salt ionic salt", "-k", "2",
                        "--json"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(json.loads(r.stdout)) == 2


# issue 14: a body over the cap (default 2 MB) is a 413 before it is read whole

def test_body_over_the_cap_is_413(server):
    r = post(server, SEARCH, {"query": "x" * 5_000_000})
    assert r.status_code == 413 and "larger than 2000000 bytes" in r.json()["detail"], r.text[:300]

    def chunks():  # no Content-Length: the limit applies while the body streams in
        yield b'{"query": "'
        for _ in range(300):
            yield b"y" * 10_000
        yield b'"}'

    streamed = httpx.post(f"{server.base}{SEARCH}", content=chunks(), headers={"content-type": "application/json"},
                          timeout=60)
    assert streamed.status_code == 413, streamed.text[:300]
    schema = httpx.get(f"{server.base}/openapi.json", timeout=10).json()
    assert "413" in schema["paths"][SEARCH]["post"]["responses"]
    still_serving(server)
