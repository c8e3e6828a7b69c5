import json
from pathlib import Path

from agents.artifacts import ArtifactStore
from agents.graph import expert_descriptions
from agents.mp.client import MPClient, MPConfig
from agents.tools import EXPERTS, expert_tools

MP = MPClient(MPConfig(endpoint="http://127.0.0.1:9/", db_path=Path("unused")))  # never called: these tests read schemas


def test_every_expert_has_a_prompt_and_unique_snake_case_tools(tmp_path):
    tools = expert_tools(MP, ArtifactStore())
    assert tuple(tools) == EXPERTS and set(EXPERTS) == set(expert_descriptions())
    names = [t.name for group in tools.values() for t in group]
    assert len(names) == len(set(names)) and all(n.isidentifier() and n.islower() for n in names)
    assert all(len(t.description) > 60 and t.args_schema is not None for group in tools.values() for t in group)


def test_list_arguments_are_typed_lists_not_strings(tmp_path):
    tools = {t.name: t for group in expert_tools(MP, ArtifactStore()).values() for t in group}
    schema = tools["search_materials"].args
    for name in ("material_ids", "formula", "chemsys", "elements"):
        assert schema[name]["anyOf"][0]["type"] == "array", name
    assert schema["limit"]["maximum"] == 50 and "band_gap" in schema["sort_by"]["anyOf"][0]["enum"]
    assert json.dumps(tools["get_thermo"].args["material_ids"]).count("(mp|mvc)") == 1
