import pytest
from langchain_core.messages import AIMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from agents.tools._common import rounded
from agents.tools.summary import summary_tools
from matlas.wiring import mp_client


def test_search_by_formula_returns_snapshot_values_with_ids(call, sample):
    out = call("search_materials", formula=["GaN", "Si"])
    by_id = {r["material_id"]: r for r in out["results"]}
    assert set(by_id) == {"mp-804", "mp-149"} and out["truncated"] is False and out["returned"] == 2
    for material_id, record in by_id.items():
        expected = sample[material_id]
        for field in ("formula_pretty", "band_gap", "formation_energy_per_atom", "energy_above_hull", "is_stable",
                      "density"):
            assert record[field] == rounded(expected[field]), field
        assert record["symmetry"] == {k: expected["symmetry"][k] for k in ("symbol", "number", "crystal_system")}


def test_fields_are_projected(call, sample):
    out = call("search_materials", material_ids=["mp-13"], fields=["bulk_modulus", "ordering"])
    assert out["results"] == [{"material_id": "mp-13", **rounded(
        {k: sample["mp-13"][k] for k in ("bulk_modulus", "ordering")})}]


def test_server_side_sort_and_limit(call, sample):
    out = call("search_materials", elements=["O"], sort_by="band_gap", descending=True, limit=3,
               fields=["band_gap"])
    oxides = sorted((r for r in sample.values() if "O" in r["elements"]), key=lambda r: -r["band_gap"])
    assert [r["material_id"] for r in out["results"]] == [r["material_id"] for r in oxides[:3]]
    assert out["truncated"] is True and out["returned"] == 3  # more oxides matched


def test_property_ranges(call, sample):
    out = call("search_materials", band_gap_min=1.0, band_gap_max=3.0, energy_above_hull_max=0.0, limit=50,
               fields=["band_gap", "energy_above_hull"])
    expected = {m for m, r in sample.items() if 1.0 <= r["band_gap"] <= 3.0 and r["energy_above_hull"] <= 0.0}
    assert {r["material_id"] for r in out["results"]} == expected and expected
    assert all(1.0 <= r["band_gap"] <= 3.0 for r in out["results"])


def test_limit_one_of_two_polymorphs_is_truncated(call):
    out = call("search_materials", formula=["TiO2"], limit=1)
    assert out["returned"] == 1 and out["truncated"] is True


def test_unknown_formula_is_a_clear_observation(call):
    assert call("search_materials", formula=["Fe7Si3"]) == "search_materials: no material matches formula=[Fe7Si3]"


@pytest.mark.parametrize("args,needle", [
    ({"formula": ["XYZ"]}, "'XYZ' is not a chemical formula"),
    ({"material_ids": ["149"]}, "'149' is not a Materials Project id"),
    ({"elements": ["Qq"]}, "'Qq' is not an element symbol"),
    ({"formula": "GaN, Si"}, "formula: Input should be a valid list"),  # no comma-separated strings
    ({"limit": 500}, "limit: Input should be less than or equal to 50"),
    ({"band_gap_min": 3, "band_gap_max": 1}, "band_gap_min=3.0 is above band_gap_max=1.0"),
    ({"sort_by": "price"}, "sort_by: Input should be"),
])
def test_malformed_arguments_come_back_as_messages(call, args, needle):
    out = call("search_materials", **args)
    assert out.startswith("search_materials: invalid arguments:") and needle in out


def test_tool_node_turns_bad_calls_into_error_messages(mp_settings):
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(summary_tools(mp_client(mp_settings)), handle_tool_errors=True))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    calls = [{"name": "search_materials", "args": {"formula": ["XYZ"]}, "id": "1", "type": "tool_call"},
             {"name": "search_materials", "args": {"formula": ["Fe7Si3"]}, "id": "2", "type": "tool_call"},
             {"name": "search_materials", "args": {"formula": ["Si"]}, "id": "3", "type": "tool_call"}]
    messages = graph.compile().invoke({"messages": [AIMessage("", tool_calls=calls)]})["messages"][1:]
    assert [m.status for m in messages] == ["error", "error", "success"]
    assert "not a chemical formula" in messages[0].content and "no material matches" in messages[1].content
    assert '"material_id":"mp-149"' in messages[2].content
