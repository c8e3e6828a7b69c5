"""Agent fixtures: the bundled MP sample as a snapshot, served over the MP REST protocol."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mp_db(tmp_path_factory) -> Path:
    """A snapshot of the bundled sample (25 materials, 15 recipes); read it, do not write to it."""
    from agents.mp.snapshot import Snapshot

    return Snapshot.ensure(tmp_path_factory.mktemp("mp") / "mp.sqlite").path


@pytest.fixture(scope="session")
def mp_endpoint(mp_db) -> Iterator[str]:
    """URL (``http://127.0.0.1:PORT/``) of an MP-protocol server over ``mp_db``."""
    from agents.mp.server import serve_snapshot

    with serve_snapshot(mp_db) as url:
        yield url


@pytest.fixture(scope="session")
def mp_settings(tmp_path_factory, mp_db, mp_endpoint):
    """Settings whose MP queries go to ``mp_endpoint`` (no key, no network); copy to change."""
    from matlas.settings import Settings

    return Settings(
        home=tmp_path_factory.mktemp("home"), mp_db=mp_db, mp_endpoint=mp_endpoint, mp_api_key=None
    )


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
    """The real mp-api client on ``mp_endpoint``."""
    from mp_api.client import MPRester

    from agents.mp.client import OFFLINE_API_KEY

    with MPRester(api_key=OFFLINE_API_KEY, endpoint=mp_endpoint, mute_progress_bars=True) as rester:
        yield rester
