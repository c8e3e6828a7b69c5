"""``workers.rebuild`` in-process: publish, validation, retention, lock, corpus source."""

import pytest

from index.reader import open_index
from index.versions import IndexRoot
from matlas.errors import InvalidInput
from matlas.settings import Settings
from matlas.wiring import rebuild_config
from retrieval.service import SearchService
from tests.workers.helpers import write_corpus
from workers.rebuild import rebuild_index, rebuild_lock, validate_version


@pytest.fixture
def settings(index_copy, tmp_path) -> Settings:
    return Settings(home=tmp_path, index_root=index_copy.parent, rebuild_keep_versions=2)


@pytest.fixture
def same_encoder(encoder):
    def load(model_id):
        assert model_id == encoder.model_id  # the serving version's encoder
        return encoder
    return load


def test_rebuild_publishes_what_a_live_service_serves(settings, same_encoder, encoder, docs, grown_corpus, index_copy):
    service = SearchService(settings.indexes_dir)
    service.encoders.add(encoder)
    assert service.searcher("mini").index.manifest.version == "v000001"
    stages = []

    report = rebuild_index(rebuild_config(settings), "mini", corpus=grown_corpus, load_encoder=same_encoder, on_stage=stages.append)

    assert (report.status, report.previous, report.version) == ("published", "v000001", "v000002")
    assert report.documents == len(docs) + 1 and report.problems == []
    assert stages == ["building", "validating", "publishing"]
    searcher = service.searcher("mini")  # same service object: no restart
    assert searcher.index.manifest.version == "v000002" and searcher.index.manifest.name == "mini"
    assert searcher.search("perovskite absorber for solar cells", 1)[0].id == "mapbi3"
    assert not (index_copy / ".staging").exists()


def test_recorded_corpus_is_reread_and_old_versions_pruned(settings, same_encoder, grown_corpus, index_copy):
    rebuild_index(rebuild_config(settings), "mini", corpus=grown_corpus, load_encoder=same_encoder)
    grown_corpus.write_text(grown_corpus.read_text().replace("hybrid halide perovskite", "lead halide perovskite"))

    again = rebuild_index(rebuild_config(settings), "mini", load_encoder=same_encoder)  # no corpus: the recorded one

    assert (again.status, again.version, again.removed) == ("published", "v000003", ["v000001"])
    assert IndexRoot(index_copy).versions() == ["v000002", "v000003"]
    texts = {d.id: d.text for d in open_index(index_copy).documents}
    assert "lead halide perovskite" in texts["mapbi3"]


def test_build_the_encoder_cannot_tell_apart_is_rejected(settings, same_encoder, tmp_path, index_copy):
    # the texts differ only after the encoder's token limit, so they encode identically
    prefix = "layered oxide " * 600
    corpus = write_corpus(tmp_path / "blurred.jsonl",
                          [{"_id": f"d{i}", "title": "", "text": f"{prefix} variant {i}"} for i in range(12)])

    report = rebuild_index(rebuild_config(settings), "mini", corpus=corpus, load_encoder=same_encoder)

    assert (report.status, report.version) == ("rejected", "v000001")
    assert any("with its own text" in p for p in report.problems)
    root = IndexRoot(index_copy)
    assert root.current() == "v000001" and root.versions() == ["v000001"]
    assert not (index_copy / ".staging").exists() and not (index_copy / "CORPUS").exists()


def test_validation_reports_count_and_probe_failures(built_index, docs, encoder):
    from retrieval.corpus import Document

    extra = Document(id="ghost", title="Ghost", text="A document the index never saw.")
    problems = validate_version(open_index(built_index), [*docs, extra], encoder)
    assert f"manifest holds {len(docs)} documents, the corpus {len(docs) + 1}" in problems
    assert any("'ghost'" in p for p in problems)
    assert validate_version(open_index(built_index), docs, encoder) == []


@pytest.mark.parametrize("use_redis", [False, True])
def test_a_rebuild_while_another_runs_is_skipped(settings, same_encoder, grown_corpus, index_copy, use_redis, request):
    if use_redis:
        settings = settings.model_copy(update={"redis_url": request.getfixturevalue("redis_url")})
    with rebuild_lock(rebuild_config(settings), "mini") as held:
        assert held
        report = rebuild_index(rebuild_config(settings), "mini", corpus=grown_corpus, load_encoder=same_encoder)
    assert (report.status, report.version) == ("skipped", "v000001")
    assert IndexRoot(index_copy).versions() == ["v000001"]
    assert rebuild_index(rebuild_config(settings), "mini", corpus=grown_corpus, load_encoder=same_encoder).status == "published"


def test_index_without_a_corpus_source_is_refused(settings, same_encoder):
    with pytest.raises(InvalidInput, match="no recorded corpus"):
        rebuild_index(rebuild_config(settings), "mini", load_encoder=same_encoder)
    with pytest.raises(InvalidInput, match="invalid index name"):
        rebuild_index(rebuild_config(settings), "../mini", load_encoder=same_encoder)


def test_rebuild_creates_a_missing_index_with_the_settings_encoder(settings, encoder, corpus_path, docs):
    loaded = []
    report = rebuild_index(rebuild_config(settings), "fresh", corpus=corpus_path, load_encoder=lambda m: loaded.append(m) or encoder)
    assert (report.status, report.previous, report.version) == ("published", None, "v000001")
    assert report.documents == len(docs)
    assert loaded == [settings.encoder_model]
    assert IndexRoot(settings.indexes_dir / "fresh").current() == "v000001"
