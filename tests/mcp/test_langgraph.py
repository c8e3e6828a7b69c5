"""A LangGraph ReAct agent using matlas' MCP tools through ``langchain-mcp-adapters``, against a real
``matlas serve`` at /mcp; only the chat model is scripted (it quotes what the MCP tool returned)."""

from __future__ import annotations

import json

import anyio
import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_mcp_adapters.client import MultiServerMCPClient
from langgraph.prebuilt import create_react_agent

from tests._support.scripted_chat import ScriptedChatModel

pytestmark = pytest.mark.slow


def _tool_text(message: ToolMessage) -> str:
    content = message.content
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def test_langgraph_agent_uses_matlas_tools_over_mcp(http_server, sample):
    def answer(messages):
        record = json.loads(_tool_text(next(m for m in reversed(messages) if isinstance(m, ToolMessage))))
        props = {p["field"]: p for p in record["metadata"]["properties"]}
        return f"{record['id']} has a band gap of {props['band_gap']['value']} {props['band_gap']['unit']}."

    model = ScriptedChatModel(steps=[
        AIMessage("", tool_calls=[{"name": "fetch", "args": {"idx": "GaN"}, "id": "c1"}]),
        answer,
    ])

    async def main():
        client = MultiServerMCPClient({"matlas": {"transport": "streamable_http", "url": f"{http_server}/mcp"}})
        tools = await client.get_tools()
        assert {"fetch", "retrieval_search", "ask", "get_thermo"} <= {t.name for t in tools}
        agent = create_react_agent(model, tools)
        return await agent.ainvoke({"messages": [("user", "What is the band gap of GaN?")]})

    state = anyio.run(main)
    gan = next(r for r in sample.values() if r["formula_pretty"] == "GaN")
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["fetch"] and tool_messages[0].status != "error"
    assert state["messages"][-1].content == f"{gan['material_id']} has a band gap of {gan['band_gap']} eV."
