"""``get_phase_diagram``: the typed tool on an injected MP client, against the Li-Mg entries."""

from __future__ import annotations

import json

import pytest

from agents.mp.client import MPClient, MPConfig
from agents.mp.server import serve_snapshot
from agents.tools.phase_diagram import phase_diagram_tools
from tests._support.mp import li_mg_snapshot


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    snapshot = li_mg_snapshot(tmp_path_factory.mktemp("mp-li-mg"))
    with serve_snapshot(snapshot.path) as url:
        [tool] = phase_diagram_tools(MPClient(MPConfig(endpoint=url, db_path=snapshot.path)))
        yield tool


def test_schema_is_typed(tool):
    schema = tool.args_schema.model_json_schema()
    assert schema["required"] == ["chemsys"] and schema["properties"]["max_unstable"]["maximum"] == 50


def test_stable_and_unstable_phases_with_ids(tool):
    out = json.loads(tool.invoke({"chemsys": "Li-Mg"}))
    assert [(p["material_id"], p["formula"]) for p in out["stable"]] == [
        ("mp-9003", "LiMg"), ("mp-9001", "Li"), ("mp-9002", "Mg")]
    assert out["unstable"][0]["material_id"] == "mp-9004"
    assert out["unstable"][0]["energy_above_hull"] == pytest.approx(0.03)
    assert out["note"] == "illustrative sample data, not Materials Project values"


def test_errors_are_observations(tool):
    assert "no computed entries for O-Si" in tool.invoke({"chemsys": "Si-O"})
    assert "invalid arguments: max_unstable" in tool.invoke({"chemsys": "Li-Mg", "max_unstable": 99})
