"""MCP servers for the tests: ``matlas mcp`` (stdio, started by the client) and a real ``matlas serve``
(streamable HTTP at /mcp), over the same small platform, each with its own scripted LLM provider."""

from __future__ import annotations

import os

import pytest

from tests._support.http_server import serving
from tests._support.platform import SI_REPLIES, build_platform
from tests._support.scripted_openai import scripted_openai
from tests._support.serve import serve_process

REPLIES = SI_REPLIES


@pytest.fixture(scope="session")
def platform_env(tmp_path_factory, encoder, built_index, mp_db) -> dict[str, str]:
    return build_platform(tmp_path_factory.mktemp("mcp-platform"), encoder=encoder, document_index=built_index,
                          mp_db=mp_db)


@pytest.fixture(scope="session")
def stdio_env(platform_env, tmp_path_factory):
    """The environment of a ``matlas mcp`` subprocess (its own home, its own scripted provider)."""
    with serving(scripted_openai(REPLIES)) as llm_url:
        inherited = {k: v for k, v in os.environ.items() if k not in ("MP_API_KEY", "OPENAI_API_KEY")}
        yield inherited | platform_env | {
            "HF_HUB_OFFLINE": "1", "MATLAS_HOME": str(tmp_path_factory.mktemp("stdio-home")),
            "MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted"}


@pytest.fixture(scope="session")
def http_server(platform_env):
    """Base URL of a real ``matlas serve`` (MCP at /mcp) with its own scripted provider."""
    with serving(scripted_openai(REPLIES)) as llm_url:
        env = platform_env | {"MATLAS_LLM_BASE_URL": f"{llm_url}/v1", "MATLAS_LLM_MODEL": "scripted"}
        with serve_process(env) as served:
            yield served.base
