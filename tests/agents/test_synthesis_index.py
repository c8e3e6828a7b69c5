"""Synthesis recipes of the MP snapshot as a platform index the retrieval expert searches by meaning."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agents.mp.snapshot import Snapshot
from agents.tools.retrieval import retrieval_tools
from index.build import build_index
from matlas import wiring
from matlas.settings import Settings
from retrieval.corpus import load_corpus


@pytest.mark.slow
def test_recipes_export_to_a_corpus_that_the_retrieval_expert_searches(mp_db, encoder, tmp_path):
    out = tmp_path / "synthesis.jsonl"
    env = os.environ | {"MATLAS_HOME": str(tmp_path), "MATLAS_MP_DB": str(mp_db)}
    r = subprocess.run([sys.executable, "-m", "matlas", "mp", "corpus", "--out", str(out), "--json"],
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    docs = load_corpus(out)
    assert json.loads(r.stdout) == {"corpus": str(out), "documents": len(docs)}
    assert len(docs) == Snapshot(mp_db).info().synthesis_recipes and not list(tmp_path.glob(".*.partial"))
    lfp = [d for d in docs if d.metadata["target_mp_id"] == "mp-19017"]
    assert lfp and all(d.title == "LiFePO4 by " + d.text.split(" synthesis")[0] + " synthesis" for d in lfp)

    settings = Settings(home=tmp_path, default_index="synthesis")
    build_index(docs, settings.indexes_dir / "synthesis", encoder, progress=False)
    service = wiring.search_service(settings)
    service.encoders.add(encoder)  # reuse the session's encoder
    (search_documents,) = retrieval_tools(service, settings.default_index)
    hits = json.loads(search_documents.invoke({"query": "olivine lithium iron phosphate cathode made under argon",
                                               "k": 3}))["results"]
    assert hits[0]["id"] in {d.id for d in lfp}


def test_export_to_a_missing_folder_is_a_clear_error(mp_db, tmp_path):
    env = os.environ | {"MATLAS_HOME": str(tmp_path), "MATLAS_MP_DB": str(mp_db)}
    r = subprocess.run([sys.executable, "-m", "matlas", "mp", "corpus", "--out", str(tmp_path / "no" / "x.jsonl")],
                       env=env, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 2 and "folder" in r.stderr and "Traceback" not in r.stderr
