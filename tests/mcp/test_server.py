"""The MCP server through the SDK's client, over stdio (``matlas mcp`` subprocess) and streamable HTTP (a real
``matlas serve`` at /mcp): every tool called, results checked against the bundled MP sample and the fixture
corpus, errors returned as MCP tool errors with their reasons."""

from __future__ import annotations

import json
import sys
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.exceptions import McpError
from pymatgen.core import Structure

from tests._support.platform import SI_ANSWER

pytestmark = pytest.mark.slow

MP_MCP_TOOLS = {"search", "fetch", "fetch_many", "get_phase_diagram_from_elements"}  # mp_api.mcp's, less fetch_all
TYPED_TOOLS = {"get_properties", "search_materials", "get_thermo", "get_elasticity", "get_band_structure_summary", "get_dielectric",
               "get_magnetism", "search_synthesis", "get_structure", "lattice_parameters", "get_symmetry",
               "volumetric_strain", "substitute_species", "insert_interstitial", "make_supercell",
               "get_phase_diagram"}
OWN_TOOLS = {"retrieval_search", "list_indexes", "crossmodal_search", "export_structure", "ask"}


@asynccontextmanager
async def connect(transport: str, stdio_env: dict, http_server: str | None):
    if transport == "stdio":
        params = StdioServerParameters(command=sys.executable, args=["-m", "matlas", "mcp"], env=stdio_env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session
    else:
        async with streamablehttp_client(f"{http_server}/mcp") as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session


def by_formula(sample: dict, formula: str) -> list[dict]:
    return [r for r in sample.values() if r["formula_pretty"] == formula]


async def call(session: ClientSession, name: str, args: dict):
    result = await session.call_tool(name, args)
    assert not result.isError, f"{name}({args}): {result.content[0].text}"
    return json.loads(result.content[0].text) if len(result.content) == 1 else [
        json.loads(c.text) for c in result.content]


async def exercise(session: ClientSession, sample: dict, sample_recipes: list[dict]) -> set[str]:
    """Call every tool once with good arguments; returns the names called."""
    called = set()

    async def ok(name, args):
        called.add(name)
        return await call(session, name, args)

    si, gan = sample["mp-149"], by_formula(sample, "GaN")[0]
    # MP-MCP-compatible tools
    found = await ok("search", {"query": "O-Ti"})
    assert {r["id"] for r in found["results"]} == {r["material_id"] for r in sample.values() if r["chemsys"] == "O-Ti"}
    fetched = await ok("fetch", {"idx": "mp-149"})
    props = {p["field"]: p["value"] for p in fetched["metadata"]["properties"]}
    assert props["band_gap"] == si["band_gap"] and props["bulk_modulus.vrh"] == si["bulk_modulus"]["vrh"]
    assert fetched["metadata"]["provenance"]["source"] == "local MP snapshot"
    rutile = min(by_formula(sample, "TiO2"), key=lambda r: r["energy_above_hull"])
    assert (await ok("fetch", {"idx": "TiO2"}))["id"] == rutile["material_id"]
    many = await ok("fetch_many", {"str_idxs": "mp-149, GaN"})
    assert sorted(m["id"] for m in (many if isinstance(many, list) else [many])) == sorted(["mp-149", gan["material_id"]])
    pd = await ok("get_phase_diagram_from_elements", {"elements": "Ti, O"})
    polymorphs = sorted(r["formation_energy_per_atom"] for r in by_formula(sample, "TiO2"))
    upper = next(e for e in pd["entries"] if e["formula"] == "TiO2" and not e["stable"])
    assert upper["e_above_hull"] == pytest.approx(polymorphs[1] - polymorphs[0], abs=1e-5)
    assert "TiO2" in pd["stable"]
    # retrieval and cross-modal search
    hits = await ok("retrieval_search", {"query": "blue LED semiconductor", "mode": "exact", "k": 3})
    assert hits["hits"][0]["id"] == "gan" and hits["index"] == "mini"
    assert [i["name"] for i in (await ok("list_indexes", {}))["indexes"]] == ["mini"]
    nacl = by_formula(sample, "NaCl")[0]["material_id"]
    texts = await ok("crossmodal_search", {"structure": nacl, "k": 5})
    assert len(texts["hits"]) == 5 and all(h["id"].startswith("robocrys-") for h in texts["hits"])
    structures = await ok("crossmodal_search", {"text": "cubic semiconductor", "k": 5})
    assert {h["material_id"] for h in structures["hits"]} <= set(sample)
    # typed MP tools, checked against the sample's values
    record = (await ok("search_materials", {"formula": ["GaN"], "fields": ["band_gap"]}))["results"][0]
    assert record["band_gap"] == gan["band_gap"]
    summary = (await ok("get_properties", {"formula": ["GaN"]}))["results"][0]
    assert (summary["material_id"], summary["density"]) == (gan["material_id"], gan["density"])
    thermo = (await ok("get_thermo", {"formula": ["GaN"]}))["results"][0]
    assert thermo["formation_energy_per_atom"] == gan["formation_energy_per_atom"]
    elastic = json.dumps(await ok("get_elasticity", {"material_ids": ["mp-149"]}))
    assert str(si["bulk_modulus"]["vrh"]) in elastic
    band = (await ok("get_band_structure_summary", {"material_ids": ["mp-149"]}))["results"][0]
    assert band["band_gap"] == si["band_gap"]
    assert (await ok("get_dielectric", {"material_ids": ["mp-149"]}))["results"][0]["e_total"] == si["e_total"]
    fe = by_formula(sample, "Fe")[0]
    assert (await ok("get_magnetism", {"material_ids": [fe["material_id"]]}))["results"][0]["ordering"] == fe["ordering"]
    recipes = (await ok("search_synthesis", {"target_formula": "LiFePO4"}))["results"]
    assert {r["recipe_id"] for r in recipes} <= {r["recipe_id"] for r in sample_recipes if r["target_formula"] == "LiFePO4"}
    assert recipes
    # structure tools and export of a derived structure
    handle = (await ok("get_structure", {"material_id": "mp-149"}))["handle"]
    lattice = await ok("lattice_parameters", {"structure": handle})
    assert lattice["volume"] == pytest.approx(Structure.from_dict(si["structure"]).volume, rel=1e-5)
    assert (await ok("get_symmetry", {"structure": handle}))["spacegroup_number"] == si["symmetry"]["number"]
    germanium = await ok("substitute_species", {"structure": handle, "old": "Si", "new": "Ge",
                                                "volume_model": "fixed_lattice"})
    assert (await ok("volumetric_strain", {"structure": germanium["handle"]}))["volumetric_strain"] == 0
    doped = await ok("insert_interstitial", {"structure": handle, "species": "Li"})
    assert doped["relaxed"] is False and doped["nsites"] == 3
    assert (await ok("make_supercell", {"structure": handle, "scaling": [2, 1, 1]}))["nsites"] == 4
    exported = await ok("export_structure", {"structure": germanium["handle"], "format": "json"})
    data = json.loads(exported["content"])
    derived = Structure.from_dict(data)
    assert {s.symbol for s in derived.species} == {"Ge"}
    assert derived.lattice.abc == pytest.approx(Structure.from_dict(si["structure"]).lattice.abc)
    assert data["properties"]["matlas"]["relaxed"] is False and "substituted" in str(data["properties"]["matlas"])
    cif = await ok("export_structure", {"structure": "mp-149", "format": "cif"})
    assert Structure.from_str(cif["content"], fmt="cif").matches(Structure.from_dict(si["structure"]))
    called.add("get_phase_diagram")  # the sample holds no computed entries: see check_errors
    # one grounded agent turn (scripted LLM, real tools)
    answer = await ok("ask", {"question": "What is the band gap of Si?"})
    assert answer["answer"] == SI_ANSWER and answer["citations"] == ["mp-149"] and answer["ungrounded"] == []
    return called


async def check_errors(session: ClientSession) -> None:
    for name, args, reason in [
        ("fetch", {"idx": "mp-999999999"}, "no material 'mp-999999999'"),
        ("get_thermo", {"formula": ["Xx9"]}, "'Xx9' is not a chemical formula"),
        ("get_thermo", {"formula": ["Au"]}, "no material matches formula=[Au]"),
        ("get_phase_diagram", {"chemsys": "Li-O"}, "no computed entries for Li-O"),
        ("retrieval_search", {"query": "x", "mode": "bogus"}, "Input should be 'muvera', 'dense', 'exact' or 'hybrid'"),
        ("retrieval_search", {"query": "x", "index": "nope"}, "unknown index 'nope'"),
        ("crossmodal_search", {}, "give exactly one of 'text'"),
        ("export_structure", {"structure": "mp-149", "format": "xyz"}, "Input should be 'cif', 'poscar' or 'json'"),
        ("get_phase_diagram_from_elements", {"elements": "Ti, Qq"}, "['Qq'] are not element symbols"),
        ("no_such_tool", {}, "Unknown tool: no_such_tool"),
    ]:
        result = await session.call_tool(name, args)
        assert result.isError and reason in result.content[0].text, (name, result.content[0].text)
    with pytest.raises(McpError, match="mp-999999999"):
        await session.read_resource("matlas://materials/mp-999999999")


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_every_tool_through_the_sdk_client(transport, request, sample, sample_recipes):
    stdio_env = request.getfixturevalue("stdio_env") if transport == "stdio" else {}
    http_server = request.getfixturevalue("http_server") if transport == "http" else None

    async def main():
        async with connect(transport, stdio_env, http_server) as session:
            listed = {t.name: t for t in (await session.list_tools()).tools}
            assert set(listed) == MP_MCP_TOOLS | TYPED_TOOLS | OWN_TOOLS
            schema = listed["search_materials"].inputSchema["properties"]
            assert {"formula", "chemsys", "band_gap_min", "k_vrh_max", "sort_by"} <= set(schema)
            assert listed["retrieval_search"].inputSchema["properties"]["mode"]["enum"] == [
                "muvera", "dense", "exact", "hybrid"]
            assert await exercise(session, sample, sample_recipes) == set(listed)
            await check_errors(session)
            templates = {t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates}
            assert "matlas://materials/{material_id}" in templates
            record = json.loads((await session.read_resource("matlas://materials/mp-149")).contents[0].text)
            assert record["record"]["band_gap"] == sample["mp-149"]["band_gap"]
            indexes = json.loads((await session.read_resource("matlas://indexes")).contents[0].text)
            assert [i["name"] for i in indexes["indexes"]] == ["mini"]

    anyio.run(main)
