import re


def test_recipes_for_a_target(call, sample_recipes):
    out = call("search_synthesis", target_formula="LiFePO4", limit=50)
    expected = {r["recipe_id"]: r for r in sample_recipes if r["target_formula"] == "LiFePO4"}
    assert {r["recipe_id"] for r in out["results"]} == set(expected) and out["truncated"] is False
    for recipe in out["results"]:
        source = expected[recipe["recipe_id"]]
        assert recipe["doi"] == source["doi"] and recipe["target_mp_id"] == "mp-19017"
        assert recipe["precursors"] == source["precursors_formula"]
        assert recipe["reaction"] == source["reaction_string"]
        assert [(op["type"], op["token"]) for op in recipe["operations"]] == [
            (op["type"], op["token"]) for op in source["operations"]]
        for op, source_op in zip(recipe["operations"], source["operations"]):
            temperatures = re.findall(r"T=([\d.]+) C", source_op["conditions"])
            assert [t.split()[0] for t in op.get("temperature", [])] == temperatures


def test_limit_caps_and_flags(call, sample_recipes):
    assert sum(r["target_formula"] == "LiFePO4" for r in sample_recipes) > 1
    out = call("search_synthesis", target_formula="LiFePO4", limit=1)
    assert out["returned"] == 1 and out["truncated"] is True


def test_precursor_and_keyword_search(call, sample_recipes):
    out = call("search_synthesis", precursor_formula="Li2CO3", limit=50)
    expected = {r["recipe_id"] for r in sample_recipes if "Li2CO3" in r["precursors_formula"]}
    assert {r["recipe_id"] for r in out["results"]} == expected and expected
    out = call("search_synthesis", keywords=["argon"], limit=50)
    assert out["results"] and all("argon" in str(r) for r in out["results"])


def test_no_recipe_and_no_subject(call):
    assert call("search_synthesis", target_formula="GaN") == (
        "search_synthesis: no synthesis recipe matches target_formula=GaN")
    assert "give target_formula, precursor_formula or keywords" in call("search_synthesis", limit=3)
