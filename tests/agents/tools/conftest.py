"""Tool fixtures: every expert tool on the session snapshot server, and the sample values they must return."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agents.artifacts import ArtifactStore
from agents.tools import expert_tools
from matlas.wiring import mp_client


@pytest.fixture
def artifacts(tmp_path) -> ArtifactStore:
    return ArtifactStore(tmp_path / "artifacts" / "session-1")


def _caller(settings, artifacts: ArtifactStore) -> Callable[..., Any]:
    tools = {t.name: t for group in expert_tools(mp_client(settings), artifacts).values() for t in group}

    def call(name: str, **args: Any) -> Any:
        """Invoke tool ``name``; JSON results come back parsed, error observations as text."""
        out = tools[name].invoke(args)
        return json.loads(out) if out.startswith("{") else out

    return call


@pytest.fixture
def call(mp_settings, artifacts) -> Callable[..., Any]:
    """``call("search_materials", formula=["Si"])`` against the sample snapshot server."""
    return _caller(mp_settings, artifacts)


@pytest.fixture(scope="session")
def tensor_settings(tmp_path_factory, sample, mp_settings) -> Iterator[Any]:
    """Settings on a second snapshot whose Si (mp-149) also holds an elastic tensor, site moments and a
    dielectric tensor (the sample stores none of them)."""
    from agents.mp.server import serve_snapshot
    from agents.mp.snapshot import MaterialRecord
    from tests._support.mp import sample_snapshot

    snapshot = sample_snapshot(tmp_path_factory.mktemp("mp-tensors") / "mp.sqlite")
    si = dict(sample["mp-149"])
    c11, c12, c44 = 153.0, 57.0, 75.0  # a cubic tensor (GPa)
    tensor = [[c11 if i == j else c12 for j in range(3)] + [0.0] * 3 for i in range(3)]
    tensor += [[0.0] * 3 + [c44 if i == j else 0.0 for j in range(3)] for i in range(3)]
    si["elastic_tensor"] = {"ieee_format": tensor}
    si["magmoms"] = [0.0] * len(si["structure"]["sites"])
    si["total"] = [[si["e_total"], 0, 0], [0, si["e_total"], 0], [0, 0, si["e_total"]]]
    snapshot.upsert_materials([MaterialRecord(**si)])
    with serve_snapshot(snapshot.path) as url:
        yield mp_settings.model_copy(update={"mp_db": snapshot.path, "mp_endpoint": url})


@pytest.fixture
def call_tensors(tensor_settings, artifacts) -> Callable[..., Any]:
    """Like ``call``, on the snapshot with tensors."""
    return _caller(tensor_settings, artifacts)
