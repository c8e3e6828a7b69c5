"""``workers/rebuild.py`` on a Qdrant index: build, validate, move the alias, keep the newest versions."""

from qdrant_client import QdrantClient

from index.build import BuildParams
from index.qdrant import QdrantStore, open_index
from workers.rebuild import RebuildConfig, rebuild_index, validate_version
from workers.submit import submit_rebuild


def test_rebuilds_publish_on_qdrant_and_prune(tmp_path, corpus_path, docs, encoder):
    store = QdrantStore(QdrantClient(":memory:"))
    config = RebuildConfig(indexes_dir=tmp_path, encoder_model=encoder.model_id, build=BuildParams(),
                           backend="qdrant", keep_versions=1)
    stages = []
    first = rebuild_index(config, "mini", corpus=corpus_path, load_encoder=lambda _: encoder, qdrant=store,
                          on_stage=stages.append)
    assert (first.status, first.version, first.previous, first.documents) == ("published", "v000001", None, 16)
    assert stages == ["building", "validating", "publishing"]
    assert not (tmp_path / "mini" / "CURRENT").exists()  # nothing of it on disk but the lock and the corpus record
    info = submit_rebuild(config, None, "mini", load_encoder=lambda _: encoder, qdrant=store)  # the recorded corpus
    assert info.state == "SUCCESS" and info.result["version"] == "v000002" and info.result["removed"] == ["v000001"]
    root = store.root("mini")
    assert root.versions() == ["v000002"] and root.current() == "v000002"
    assert validate_version(open_index(root), docs, encoder) == []
    assert validate_version(open_index(root), [*docs, docs[0].model_copy(update={"id": "extra"})], encoder) == [
        "manifest holds 16 documents, the corpus 17", "Qdrant holds 16 documents, the corpus 17"]
