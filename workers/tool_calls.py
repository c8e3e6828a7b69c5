"""Tool calling for hosted models whose chat templates know no tools: the Hermes / Qwen text protocol.

The tools' JSON schemas go into the system prompt; the model calls one by writing
``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``. Earlier calls and their results are
rendered back the same way, so any chat template (system / user / assistant) can carry them. The
agents' local backend and the OpenAI-compatible endpoint both speak through this module.

``call_constraint(tools, tool_choice)`` is the JSON schema a call must follow (one of the offered
tools, or the named one, with arguments valid for its parameters): ``workers.hosting`` decodes under
its grammar. A block that still fails to parse is returned as an invalid call, never dropped.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field

from matlas.errors import InvalidInput

__all__ = ["CALL_CLOSE", "CALL_OPEN", "ToolCallConstraint", "call_constraint", "parse_tool_calls", "render_with_tools"]

CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.DOTALL)
_ANY_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
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


class ToolCallConstraint(BaseModel):
    """The grammar a reply's tool call must follow: a JSON schema, and when it applies."""

    json_schema: dict[str, Any] = Field(description="Schema of {'name': ..., 'arguments': {...}}.")
    trigger: bool = Field(description="True: free text until the model writes <tool_call> (tool_choice auto); "
                          "False: the whole reply is one call.")


def call_constraint(tools: list[dict[str, Any]], tool_choice: str | dict[str, Any] = "auto") -> ToolCallConstraint:
    """The constraint of ``tool_choice`` (``auto``, ``required`` / ``any``, a tool name, or OpenAI's
    ``{"type": "function", "function": {"name": ...}}``) over OpenAI-format ``tools``."""
    specs = [t.get("function", t) for t in tools]
    if isinstance(tool_choice, dict):
        tool_choice = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name") or ""
    if tool_choice not in ("auto", "required", "any"):
        specs = [f for f in specs if f["name"] == tool_choice]
        if not specs:
            raise InvalidInput(f"tool_choice names {tool_choice!r}, which is not among the tools offered: "
                               f"{[t.get('function', t)['name'] for t in tools]}")
    schemas = [{"type": "object", "properties": {
        "name": {"const": f["name"]},
        "arguments": _bounded(f.get("parameters") or {"type": "object", "properties": {}}),
    }, "required": ["name", "arguments"], "additionalProperties": False} for f in specs]
    schema = schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    return ToolCallConstraint(json_schema=schema, trigger=tool_choice == "auto")


MAX_ITEMS, MAX_CHARS = 8, 64  # a call a small model writes stays short: lists and free strings are capped


def _bounded(schema: Any) -> Any:
    """``schema`` with every array capped at ``MAX_ITEMS`` items and every free string at ``MAX_CHARS``."""
    if isinstance(schema, list):
        return [_bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    literal = ("enum", "required", "default", "examples", "const")  # values, not schemas
    out = {k: v if k in literal else _bounded(v) for k, v in schema.items()}
    if schema.get("type") == "array":
        out["maxItems"] = min(schema.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    if schema.get("type") == "string" and not {"enum", "const", "format"} & schema.keys():
        out["maxLength"] = min(schema.get("maxLength", MAX_CHARS), MAX_CHARS)
    if isinstance(schema.get("pattern"), str):
        out["pattern"] = _bounded_pattern(schema["pattern"])
    return out


def _bounded_pattern(pattern: str, most: int = MAX_ITEMS) -> str:
    r"""``pattern`` with each unbounded repetition (``+``, ``*`` outside classes) capped at ``most``: a grammar
    keeps a regex's own bounds, not ``maxLength``.

    >>> _bounded_pattern(r"^(mp|mvc)-\d+$"), _bounded_pattern(r"^[A-Z+]*$")
    ('^(mp|mvc)-\\d{1,8}$', '^[A-Z+]{0,8}$')
    """
    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char in "+*" and not in_class:
            out.append(f"{{1,{most}}}" if char == "+" else f"{{0,{most}}}")
            continue
        out.append(char)
    return "".join(out)


def parse_tool_calls(text: str, *, with_invalid: bool = False):
    """Split generated text into its plain content and ``<tool_call>`` blocks ``{id, name, arguments}``.

    With ``with_invalid`` a third list holds the blocks that are not a JSON object with a ``name``
    (``{id, name, text, error}``: a truncated or malformed call the model must hear about).

    >>> parse_tool_calls('<tool_call>{"name": "get_thermo", "arguments": {"formula": ["GaN"]}}</tool_call>')[1][0]["arguments"]
    {'formula': ['GaN']}
    >>> parse_tool_calls('<tool_call>{"name": "get_thermo", "argu', with_invalid=True)[2][0]["error"]
    'not valid JSON: Unterminated string starting at: line 1 column 24 (char 23)'
    """
    calls, invalid = [], []
    for block in _ANY_BLOCK.findall(text):
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        try:
            payload = json.loads(block.strip())
        except json.JSONDecodeError as err:
            name = re.search(r'"name"\s*:\s*"([^"]+)"', block)
            invalid.append({"id": call_id, "name": name.group(1) if name else None, "text": block.strip(),
                            "error": f"not valid JSON: {err}"})
            continue
        if isinstance(payload, dict) and isinstance(payload.get("name"), str):
            args = payload.get("arguments", payload.get("parameters", {}))
            calls.append({"id": call_id, "name": payload["name"], "arguments": args if isinstance(args, dict) else {}})
        else:
            invalid.append({"id": call_id, "name": None, "text": block.strip(),
                            "error": "a call is a JSON object with a 'name' and 'arguments'"})
    content = _ANY_BLOCK.sub("", text).strip()
    return (content, calls, invalid) if with_invalid else (content, calls)


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
