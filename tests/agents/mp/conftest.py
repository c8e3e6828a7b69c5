"""The sample's own records, the expectations MP queries are checked against."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def sample() -> dict[str, dict]:
    """Bundled sample materials by id, as written in ``agents/mp/data/materials.jsonl``."""
    from agents.mp.snapshot import SAMPLE_MATERIALS

    return {r["material_id"]: r for r in map(json.loads, SAMPLE_MATERIALS.read_text().splitlines())}


@pytest.fixture(scope="session")
def sample_recipes() -> list[dict]:
    """Bundled sample recipes, as written in ``agents/mp/data/synthesis.jsonl``."""
    from agents.mp.snapshot import SAMPLE_SYNTHESIS

    return [json.loads(line) for line in SAMPLE_SYNTHESIS.read_text().splitlines()]


@pytest.fixture(scope="module")
def mpr(mp_endpoint):
    """The real mp-api client on the session snapshot server."""
    from mp_api.client import MPRester

    from agents.mp.client import OFFLINE_API_KEY

    with MPRester(api_key=OFFLINE_API_KEY, endpoint=mp_endpoint, mute_progress_bars=True) as rester:
        yield rester
