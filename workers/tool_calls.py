"""Tool calling for hosted models whose chat templates know no tools: the Hermes / Qwen text protocol.

The tools' JSON schemas go into the system prompt; the model calls one by writing
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``. Earlier calls and their results are
rendered back the same way, so any chat template (system / user / assistant) can carry them. The
agents' local backend and the OpenAI-compatible endpoint both speak through this module.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

__all__ = ["parse_tool_calls", "render_with_tools"]

_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)
_TOOL_PROMPT = """# Tools
You may call one or more of these tools. To call one, reply with only
<tool_call>{{"name": "<tool name>", "arguments": {{...}}}}</tool_call>
(one block per call) and wait for the results. Tools:
{tools}"""


def render_with_tools(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """OpenAI-format messages (tool calls, ``tool`` results) as plain system/user/assistant messages.

    >>> render_with_tools([{"role": "tool", "tool_call_id": "c1", "content": "[]"}], None)
    [{'role': 'user', 'content': '[result of tool]\\n[]'}]
    """
    names: dict[str, str] = {}
    rendered: list[dict[str, str]] = []
    for m in messages:
        role, content = m["role"], _text(m.get("content"))
        if role == "tool":
            name = m.get("name") or names.get(m.get("tool_call_id", ""), "tool")
            rendered.append({"role": "user", "content": f"[result of {name}]\n{content}"})
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            for call in calls:
                names[call["id"]] = call["function"]["name"]
            blocks = "".join(
                f'<tool_call>{json.dumps({"name": c["function"]["name"], "arguments": _arguments(c)})}</tool_call>'
                for c in calls
            )
            rendered.append({"role": "assistant", "content": content + blocks})
        else:
            rendered.append({"role": "system" if role == "developer" else role, "content": content})
    if tools:
        spec = _TOOL_PROMPT.format(tools="\n".join(json.dumps(t.get("function", t)) for t in tools))
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {"role": "system", "content": f"{rendered[0]['content']}\n\n{spec}"}
        else:
            rendered.insert(0, {"role": "system", "content": spec})
    return rendered


def parse_tool_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Split generated text into its plain content and ``<tool_call>`` blocks ``{id, name, arguments}``.

    Blocks that are not valid JSON with a ``name`` are dropped from the calls (and the text).

    >>> parse_tool_calls('<tool_call>{"name": "get_thermo", "arguments": {"formula": ["GaN"]}}</tool_call>')[1][0]["arguments"]
    {'formula': ['GaN']}
    """
    calls = []
    for block in _TOOL_CALL.findall(text):
        try:
            payload = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(payload, dict) and isinstance(payload.get("name"), str):
            args = payload.get("arguments", payload.get("parameters", {}))
            calls.append({"id": f"call_{uuid.uuid4().hex[:12]}", "name": payload["name"],
                          "arguments": args if isinstance(args, dict) else {}})
    return _TOOL_CALL.sub("", text).strip(), calls


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _arguments(call: dict[str, Any]) -> Any:
    args = call["function"].get("arguments", "{}")
    try:
        return json.loads(args) if isinstance(args, str) else args
    except json.JSONDecodeError:
        return args
