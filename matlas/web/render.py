"""Jinja2 environment of the web app: templates and the filters that turn answers and hits into HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from agents.tools._mp import MP_ID_PATTERN

__all__ = ["cite", "templates"]

_MP_ID_IN_TEXT = re.compile(r"(?<![\w-])(?:" + MP_ID_PATTERN.strip("^$") + r")(?![\w-])")
SNIPPET_CHARS = 300


def is_mp_id(value: Any) -> bool:
    """Whether ``value`` is a Materials Project id (so it has a material page)."""
    return isinstance(value, str) and re.fullmatch(MP_ID_PATTERN.strip("^$"), value) is not None


def cite_link(identifier: str) -> Markup:
    """A cited id as a link to its material page (MP ids) or as code (document ids)."""
    if is_mp_id(identifier):
        return Markup('<a class="cite" href="/materials/{0}">{0}</a>').format(identifier)
    return Markup('<code class="cite">{0}</code>').format(identifier)


def cite(text: str) -> Markup:
    """``text`` escaped, with every MP id in it linked to its material page."""
    escaped = str(escape(text))
    return Markup(_MP_ID_IN_TEXT.sub(lambda m: str(cite_link(m.group(0))), escaped))


def compact(value: Any, limit: int = 160) -> str:
    """A tool argument or result as one short line of JSON (text kept as is), cut at ``limit`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(text: str) -> str:
    """The start of a hit's text, cut at a word boundary."""
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"


def value(v: Any) -> str:
    """A property value for a table: floats to 4 significant digits, booleans as yes/no."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(cite=cite, cite_link=cite_link, compact=compact, snippet=snippet, value=value,
                             is_mp_id=is_mp_id)
templates.env.tests["mp_id"] = is_mp_id
