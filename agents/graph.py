"""The LLaMP-style agent graph: a supervisor that hands tasks to Materials Project expert agents.

The supervisor sees one handoff tool per expert (``ask_thermo_expert(task)``...). Each expert is
a ReAct loop (model <-> ``ToolNode``) over its own typed tools; its final reply, followed by the
raw tool results it used, returns to the supervisor as the handoff's tool message. Errors the model
can act on become observations (``ToolNode(handle_tool_errors=...)``): invalid input, not found,
MP down (``MatlasError``), bad arguments, and malformed tool calls the model wrote. Any other
exception is a bug and ends the turn at its error boundary. Only successful tool results count as
grounding. Progress is written to the graph's ``custom`` stream as ``route`` / ``tool_call`` /
``tool_result`` events.
"""

from __future__ import annotations

import json
import operator
from functools import cache
from importlib import resources
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langgraph.config import get_stream_writer
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError
from pydantic import BaseModel, Field

from matlas.errors import MatlasError

__all__ = ["SUPERVISOR_TAG", "AgentState", "build_graph", "expert_descriptions"]

SUPERVISOR_TAG = "matlas:supervisor"
EXPERT_STEPS = 6  # model turns an expert may take before it must answer
SUPERVISOR_STEPS = 8
HANDOFF_CHARS = 6000  # cap on what one expert hands back


class AgentState(TypedDict):
    """Conversation messages plus every tool result of the turn (for citations and grounding)."""

    messages: Annotated[list[BaseMessage], add_messages]
    tool_outputs: Annotated[list[str], operator.add]


class _Handoff(BaseModel):
    task: str = Field(min_length=3, description="Self-contained task: formulas or MP ids and the property wanted.")


@cache
def _prompt(name: str) -> str:
    return resources.files("agents.prompts").joinpath(name).read_text(encoding="utf-8")


def expert_descriptions() -> dict[str, str]:
    """Expert name -> what it answers (from ``agents/prompts/experts.json``)."""
    return json.loads(_prompt("experts.json"))


ACTIONABLE = (MatlasError, ToolException, ToolInvocationError)  # tool errors that become observations


def _tool_error(exc: Exception) -> str:
    """A failure the model can act on, as an observation."""
    return f"Error: {exc}. Correct the arguments and call the tool again, or report the problem."


def _malformed(reply: AIMessage) -> list[ToolMessage]:
    """Observations for the tool calls the model wrote that could not be parsed."""
    return [ToolMessage(
        content=f"Error: malformed tool call {call.get('name') or ''}: {call.get('error') or 'not valid JSON'} "
        f"({str(call.get('args') or '')[:200]!r}). Write the call again as valid JSON.",
        tool_call_id=call.get("id") or "malformed", name=call.get("name") or "malformed", status="error",
    ) for call in reply.invalid_tool_calls]


def _handoff_tool(name: str, description: str) -> BaseTool:
    def unavailable(task: str) -> str:  # the supervisor graph runs handoffs itself
        raise RuntimeError("handoff tools are executed by the supervisor graph")

    return StructuredTool.from_function(
        unavailable, name=f"ask_{name}_expert", description=f"Ask the {name} expert. {description}", args_schema=_Handoff
    )


def _expert_graph(name: str, description: str, model: BaseChatModel, tools: list[BaseTool]):
    """One expert: a ReAct loop of the model and its tools, reporting each step to the stream."""
    system = SystemMessage(_prompt("expert.md").format(name=name, description=description))
    bound = model.bind_tools(tools)
    tool_node = ToolNode(tools, handle_tool_errors=ACTIONABLE)

    def agent(state: AgentState) -> dict[str, Any]:
        reply = bound.invoke([system, *state["messages"]])
        writer = get_stream_writer()
        for call in getattr(reply, "tool_calls", []):
            writer({"event": "tool_call", "data": {"expert": name, "tool": call["name"], "args": call["args"]}})
        return {"messages": [reply]}

    def tools_step(state: AgentState) -> dict[str, Any]:
        result = tool_node.invoke(state) if state["messages"][-1].tool_calls else {"messages": []}
        writer = get_stream_writer()
        outputs = []
        last = state["messages"][-1]
        messages = [*_malformed(last), *result["messages"]] if isinstance(last, AIMessage) else result["messages"]
        for msg in messages:
            writer({"event": "tool_result", "data": {"expert": name, "tool": msg.name, "content": str(msg.content)}})
            if msg.status != "error":
                outputs.append(str(msg.content))
        return {"messages": messages, "tool_outputs": outputs}

    return _tool_loop(f"{name}_expert", ("agent", agent), ("tools", tools_step))


def build_graph(model: BaseChatModel, tools_by_expert: dict[str, list[BaseTool]]):
    """Compile the supervisor graph over the experts that have tools."""
    descriptions = expert_descriptions()
    unknown = sorted(set(tools_by_expert) - set(descriptions))
    if unknown:
        raise ValueError(f"no prompt for experts {unknown}; known: {sorted(descriptions)}")
    experts = {
        name: _expert_graph(name, descriptions[name], model, tools)
        for name, tools in tools_by_expert.items() if tools
    }
    handoffs = [_handoff_tool(name, descriptions[name]) for name in experts]
    roster = "\n".join(f"- ask_{name}_expert: {descriptions[name]}" for name in experts)
    system = SystemMessage(_prompt("supervisor.md").format(experts=roster))
    supervisor_model = model.bind_tools(handoffs).with_config(tags=[SUPERVISOR_TAG])

    def supervisor(state: AgentState) -> dict[str, Any]:
        return {"messages": [supervisor_model.invoke([system, *state["messages"]])]}

    def run_experts(state: AgentState) -> dict[str, Any]:
        writer = get_stream_writer()
        replies: list[ToolMessage] = _malformed(state["messages"][-1])
        outputs: list[str] = []
        for call in state["messages"][-1].tool_calls:
            name = call["name"].removeprefix("ask_").removesuffix("_expert")
            task = call["args"].get("task") if isinstance(call["args"], dict) else None
            if name not in experts or not isinstance(task, str) or not task.strip():
                content = _tool_error(ValueError(
                    f"unknown expert call {call['name']!r} with {call['args']!r}; call one of "
                    f"{[t.name for t in handoffs]} with a non-empty 'task'"))
            else:
                writer({"event": "route", "data": {"expert": name, "task": task}})
                content, used = _ask_expert(experts[name], task)
                outputs.extend(used)
            replies.append(ToolMessage(content=content, tool_call_id=call["id"], name=call["name"]))
        return {"messages": replies, "tool_outputs": outputs}

    return _tool_loop("matlas_supervisor", ("supervisor", supervisor), ("experts", run_experts))


def _tool_loop(name: str, model: tuple[str, Any], act: tuple[str, Any]):
    """A graph that alternates the model node and the node acting on its tool calls until it answers."""

    def route(state: AgentState) -> str:
        last = state["messages"][-1]
        return act[0] if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls) else END

    graph = StateGraph(AgentState)
    graph.add_node(*model)
    graph.add_node(*act)
    graph.add_edge(START, model[0])
    graph.add_conditional_edges(model[0], route, [act[0], END])
    graph.add_edge(act[0], model[0])
    return graph.compile(name=name)


def _ask_expert(expert, task: str) -> tuple[str, list[str]]:
    """Run one expert on ``task``: its reply plus the tool results it used, capped."""
    try:
        state = expert.invoke(
            {"messages": [HumanMessage(task)], "tool_outputs": []}, {"recursion_limit": 2 * EXPERT_STEPS + 1}
        )
    except GraphRecursionError:
        return f"The expert stopped after {EXPERT_STEPS} steps without an answer.", []
    reply = str(state["messages"][-1].content).strip() or "(no reply)"
    data = "\n".join(state["tool_outputs"])
    content = f"{reply}\n\nTool results:\n{data}" if data else reply
    if len(content) > HANDOFF_CHARS:
        content = content[:HANDOFF_CHARS] + "\n[truncated]"
    return content, state["tool_outputs"]
