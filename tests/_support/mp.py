"""The illustrative MP sample (``tests/fixtures/mp``) as a snapshot, for tests that need its values."""

from __future__ import annotations

from pathlib import Path

from agents.mp.snapshot import Snapshot

MP_SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "mp"
"""25 materials and 15 recipes with illustrative MP-like values (``make_sample.py``), marked sample."""


def sample_snapshot(path: Path | str) -> Snapshot:
    """The snapshot at ``path``, built from the sample fixture if the file does not exist."""
    return Snapshot.ensure(
        path,
        materials=MP_SAMPLE / "materials.jsonl",
        synthesis=MP_SAMPLE / "synthesis.jsonl",
        provenance=MP_SAMPLE / "provenance.json",
    )
