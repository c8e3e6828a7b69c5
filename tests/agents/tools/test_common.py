import json

import pytest
from pydantic import BaseModel, Field

from agents.tools._common import make_tool, observation, rounded
from matlas.errors import UpstreamError


def test_rounded_keeps_six_significant_digits_and_structure():
    assert rounded({"a": [1.23456789, 83.0112836733], "b": {"c": 0.000123456789}, "n": 8, "s": "mp-1", "t": True}) == {
        "a": [1.23457, 83.0113], "b": {"c": 0.000123457}, "n": 8, "s": "mp-1", "t": True}
    assert rounded(float("nan")) is None


def test_observation_drops_trailing_results_to_fit():
    records = [{"material_id": f"mp-{i}", "text": "x" * 90} for i in range(50)]
    text = observation({"results": records, "returned": 50, "truncated": False}, max_chars=1000)
    out = json.loads(text)
    assert len(text) <= 1000 and out["truncated"] is True
    assert out["returned"] == len(out["results"]) and out["results"] == records[: out["returned"]]


def test_observation_leaves_small_payloads_alone():
    payload = {"results": [{"material_id": "mp-149"}], "returned": 1, "truncated": False}
    assert json.loads(observation(payload)) == payload


class _Args(BaseModel):
    x: int = Field(ge=0)
    y: int = 2


def test_make_tool_passes_validated_args_with_defaults():
    tool = make_tool(lambda a: {"sum": a.x + a.y}, name="add", description="Add.", args_schema=_Args)
    assert json.loads(tool.invoke({"x": 1})) == {"sum": 3}
    assert tool.args["x"]["minimum"] == 0


def test_make_tool_turns_errors_into_observations():
    def fail(args):
        raise UpstreamError("Materials Project request failed: 503")

    tool = make_tool(fail, name="fail", description="Fails.", args_schema=_Args)
    assert tool.invoke({"x": 1}) == "fail: Materials Project request failed: 503"
    assert tool.invoke({"x": -1}) == (
        "fail: invalid arguments: x: Input should be greater than or equal to 0. Fix them and call fail again.")


def test_make_tool_lets_bugs_raise():
    def bug(args):
        raise KeyError("oops")

    with pytest.raises(KeyError):
        make_tool(bug, name="bug", description="Bug.", args_schema=_Args).invoke({"x": 1})
