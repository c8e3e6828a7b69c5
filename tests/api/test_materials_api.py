"""Structure export: ``GET /v1/materials/{mp_id}/structure`` and ``GET /v1/sessions/{id}/artifacts/{handle}``.

Oracles: the structures of the bundled MP sample file, and pymatgen's own substitution of the same cell.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pymatgen.core import Structure
from pymatgen.io.vasp import Poscar

from agents.artifacts import ArtifactStore
from agents.tools.structure import structure_tools
from matlas.api import create_app
from matlas.settings import Settings
from matlas.wiring import mp_client


@pytest.fixture(scope="module")
def client(tmp_path_factory, mp_db, mp_endpoint):
    settings = Settings(home=tmp_path_factory.mktemp("home"), index_root=tmp_path_factory.mktemp("indexes"),
                        mp_db=mp_db, mp_endpoint=mp_endpoint, mp_api_key=None)
    with TestClient(create_app(settings)) as c:
        c.settings = settings
        yield c


def same(a: Structure, b: Structure) -> bool:
    """Same lattice, species and sites (to 1e-5 Å), whatever the properties attached."""
    return (a.lattice.abc == pytest.approx(b.lattice.abc, abs=1e-5) and [s.species for s in a] == [s.species for s in b]
            and max(x.distance(y) for x, y in zip(a, b)) < 1e-4)


def parse(text: str, fmt: str) -> Structure:
    if fmt == "json":
        return Structure.from_dict(json.loads(text))
    if fmt == "poscar":
        return Poscar.from_str(text).structure
    return Structure.from_str(text, fmt="cif")


@pytest.mark.parametrize("fmt,media", [("cif", "chemical/x-cif"), ("poscar", "text/plain"), ("json", "application/json")])
@pytest.mark.parametrize("mp_id", ["mp-149", "mp-19017"])
def test_material_structure_round_trips(client, sample, mp_id, fmt, media):
    r = client.get(f"/v1/materials/{mp_id}/structure", params={"format": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert f'filename="{mp_id}.' in r.headers["content-disposition"]
    assert same(parse(r.text, fmt), Structure.from_dict(sample[mp_id]["structure"]))
    assert mp_id in r.text and "local MP snapshot" in r.text  # provenance travels with the file


@pytest.mark.parametrize("path,status,reason", [
    ("/v1/materials/mp-999999999/structure", 404, "no material 'mp-999999999'"),
    ("/v1/materials/silicon/structure", 422, "'silicon' is not a Materials Project id"),
    ("/v1/materials/mp-149/structure?format=xyz", 422, "'cif', 'poscar' or 'json'"),
    (f"/v1/sessions/{'f' * 32}/artifacts/0123456789ab", 404, "unknown session"),
    ("/v1/sessions/not-a-session/artifacts/0123456789ab", 404, "unknown session"),
])
def test_export_errors_have_reasons(client, path, status, reason):
    r = client.get(path)
    assert r.status_code == status and reason in json.dumps(r.json()["detail"])


def test_session_artifact_says_what_was_done_and_not_relaxed(client, sample):
    session = client.app.state.chat.store.create("artifacts")
    tools = {t.name: t for t in structure_tools(mp_client(client.settings), ArtifactStore(
        client.settings.home / "artifacts" / session.id))}
    fetched = json.loads(tools["get_structure"].invoke({"material_id": "mp-149"}))["handle"]
    derived = json.loads(tools["substitute_species"].invoke(
        {"structure": fetched, "old": "Si", "new": "Ge", "sites": [0], "volume_model": "fixed_lattice"}))["handle"]
    expected = Structure.from_dict(sample["mp-149"]["structure"])
    expected.replace(0, "Ge")
    for handle in (derived, derived.rsplit("/", 1)[1]):
        r = client.get(f"/v1/sessions/{session.id}/artifacts/{handle}", params={"format": "json"})
        assert r.status_code == 200, r.text
        data = r.json()
        assert same(Structure.from_dict(data), expected)
        notes = data["properties"]["matlas"]
        assert notes["relaxed"] is False and "not relaxed" in notes["note"]
        assert notes["history"] == ["fetched mp-149 from MP", "substituted Si->Ge at sites [0]"]
    poscar = client.get(f"/v1/sessions/{session.id}/artifacts/{derived}", params={"format": "poscar"}).text
    assert "not relaxed" in poscar.splitlines()[0] and same(Poscar.from_str(poscar).structure, expected)
    plain = client.get(f"/v1/sessions/{session.id}/artifacts/{fetched}").text  # CIF by default
    assert "as fetched from the Materials Project" in plain and "relaxed" not in plain
    assert same(Structure.from_str(plain, fmt="cif"), Structure.from_dict(sample["mp-149"]["structure"]))
    missing = client.get(f"/v1/sessions/{session.id}/artifacts/abcdefabcdef")
    assert missing.status_code == 404 and derived in missing.json()["detail"]
    bad = client.get(f"/v1/sessions/{session.id}/artifacts/nothex")
    assert bad.status_code == 422 and "invalid structure handle" in bad.json()["detail"]
