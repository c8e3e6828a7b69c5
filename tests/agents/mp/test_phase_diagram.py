"""``phase_diagram`` and ``matlas mp phase-diagram``: the hull of a system from the snapshot's entries,
through the real client; checked against the hand-computed Li-Mg hull of ``tests/_support/mp.py``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agents.mp.client import MPClient, MPConfig
from agents.mp.phase_diagram import phase_diagram
from agents.mp.server import serve_snapshot
from matlas.cli import app
from matlas.errors import InvalidInput
from tests._support.mp import LI_MG, li_mg_snapshot


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("mp-li-mg")
    snapshot = li_mg_snapshot(root)
    with serve_snapshot(snapshot.path) as url:
        yield MPClient(MPConfig(endpoint=url, db_path=snapshot.path))


def test_hull_of_li_mg(client):
    result = phase_diagram(client, "Mg-Li")
    assert (result.chemsys, result.thermo_type, result.entries) == ("Li-Mg", "GGA_GGA+U", len(LI_MG))
    assert [p.material_id for p in result.stable] == ["mp-9003", "mp-9001", "mp-9002"]  # LiMg first
    assert result.stable[0].formation_energy_per_atom == pytest.approx(LI_MG["mp-9003"][3])
    [above] = result.unstable
    assert (above.material_id, above.formula) == ("mp-9004", "LiMg3")
    assert above.energy_above_hull == pytest.approx(0.03)  # LiMg3 vs the LiMg-Mg tie line
    assert above.decomposes_to == ["LiMg", "Mg"]
    assert result.source["sample"] is True  # the sample fixture's snapshot says so


@pytest.mark.parametrize(
    "chemsys,message",
    [("Li-Qq", "is not a chemical system"), ("Li-Li", "is not a chemical system"),
     ("Si-O", "no computed entries for O-Si")],
)
def test_refusals(client, chemsys, message):
    with pytest.raises(InvalidInput, match=message):
        phase_diagram(client, chemsys)


def test_cli_json(client):
    env = {"MATLAS_MP_ENDPOINT": client.endpoint, "MP_API_KEY": None, "MATLAS_MP_API_KEY": None}
    r = CliRunner().invoke(app, ["mp", "phase-diagram", "Li-Mg", "--json"], env=env)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [p["formula"] for p in data["stable"]] == ["LiMg", "Li", "Mg"]
    assert data["unstable"][0]["energy_above_hull"] == pytest.approx(0.03)
    r = CliRunner().invoke(app, ["mp", "phase-diagram", "Li-Mg"], env=env)
    assert "3 stable phases, 1 above the hull [SAMPLE DATA]" in r.output
