"""The ONNX Runtime backends against torch: same tokens, same vectors (fp32), stated int8 overlap;
the export cache (reuse, rebuild of a broken export); the manifest's backend; batching."""

import json

import numpy as np
import pytest

from index.build import append_documents
from index.manifest import EncoderInfo, IndexManifest
from index.reader import open_index
from matlas.errors import InvalidInput
from retrieval.corpus import Document
from retrieval.encoder import CPU_DEFAULT_BACKEND, MultiVectorEncoder, resolve_backend
from retrieval.encoders.batching import pad, plan_batches
from retrieval.maxsim import maxsim_scores
from retrieval.search import Searcher
from retrieval.service import SearchService
from tests._support.tiny_bert import tiny_bert

TEXTS = [
    "GaN",
    "lithium iron phosphate olivine cathode",
    "The band gap of silicon is 1.12 eV at room temperature; germanium's is 0.66 eV.",
    "perovskite solar absorbers (MAPbI3) degrade in humid air " * 20,  # truncated at max_length
]


@pytest.fixture(scope="session")
def export_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def torch_encoder():
    return MultiVectorEncoder(device="cpu", backend="torch")


@pytest.fixture(scope="session")
def onnx_encoder(export_cache):
    return MultiVectorEncoder(device="cpu", backend="onnx", cache_dir=export_cache)


@pytest.fixture(scope="session")
def int8_encoder(export_cache, onnx_encoder):  # after onnx_encoder: reuses its export
    return MultiVectorEncoder(device="cpu", backend="onnx-int8", cache_dir=export_cache)


def _token_cosines(a, b):
    return np.concatenate([(x * y).sum(axis=1) for x, y in zip(a, b)])


def test_onnx_fp32_agrees_with_torch_token_for_token(torch_encoder, onnx_encoder):
    ref_tokens, ref_pooled = torch_encoder.encode(TEXTS, output="both")
    tokens, pooled = onnx_encoder.encode(TEXTS, output="both")
    assert [t.shape for t in tokens] == [t.shape for t in ref_tokens]
    assert _token_cosines(tokens, ref_tokens).min() >= 0.999
    assert (pooled * ref_pooled).sum(axis=1).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(np.concatenate(tokens), axis=1), 1.0, rtol=1e-5)


def test_tokenization_is_sentence_transformers_minus_specials_and_padding(onnx_encoder):
    st = onnx_encoder._st
    features = st.preprocess(TEXTS)
    special = set(st.tokenizer.all_special_ids)
    expected = [sum(1 for t, m in zip(ids, mask) if m and int(t) not in special)
                for ids, mask in zip(features["input_ids"].tolist(), features["attention_mask"].tolist())]
    assert [len(t) for t in onnx_encoder.encode(TEXTS)] == expected
    assert expected[-1] == onnx_encoder.max_length - 2  # the long text is truncated like sentence-transformers


def test_int8_ranking_overlap_with_torch(torch_encoder, int8_encoder, docs):
    """int8 changes vectors slightly (token cosine >= 0.9 here); the MaxSim top-5 over the fixture
    corpus keeps at least 4 of torch's 5 documents for every query."""
    texts = [d.content for d in docs]
    queries = ["wide band gap nitride semiconductor", "lithium ion battery cathode", "magnetic oxide thin films"]
    ref_docs, q8_docs = torch_encoder.encode(texts), int8_encoder.encode(texts)
    assert _token_cosines(q8_docs, ref_docs).min() >= 0.9
    for q_ref, q_8 in zip(torch_encoder.encode_query(queries), int8_encoder.encode_query(queries)):
        top_ref = set(np.argsort(-maxsim_scores(q_ref, ref_docs))[:5])
        top_8 = set(np.argsort(-maxsim_scores(q_8, q8_docs))[:5])
        assert len(top_ref & top_8) >= 4


def test_export_is_cached_and_reused(onnx_encoder, export_cache):
    path = onnx_encoder.onnx_path
    before = path.stat()
    again = MultiVectorEncoder(device="cpu", backend="onnx", cache_dir=export_cache)
    assert again.onnx_path == path and path.stat().st_mtime_ns == before.st_mtime_ns
    assert [p.name for p in export_cache.iterdir() if p.is_dir()] == [path.parent.name]  # no stray temp dirs
    meta = json.loads((path.parent / "export.json").read_text())
    assert meta["probe_min_cosine"]["fp32"] >= 0.9999


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-bert")
    tiny_bert(path).save_pretrained(path)
    return path


def test_broken_export_is_rebuilt(tiny_model, tmp_path):
    """A truncated model file, a missing one and an unreadable export record are each re-exported."""
    torch_tokens = MultiVectorEncoder(str(tiny_model), device="cpu", backend="torch").encode(["metal oxide gap"])
    path = MultiVectorEncoder(str(tiny_model), device="cpu", backend="onnx", cache_dir=tmp_path).onnx_path
    damages = {
        "truncate": lambda: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
        "delete": path.unlink,
        "meta": lambda: (path.parent / "export.json").write_text("{not json"),
    }
    for damage in damages.values():
        damage()
        rebuilt = MultiVectorEncoder(str(tiny_model), device="cpu", backend="onnx", cache_dir=tmp_path)
        assert rebuilt.onnx_path == path and path.is_file()
        assert _token_cosines(rebuilt.encode(["metal oxide gap"]), torch_tokens).min() >= 0.999


def test_backend_choice():
    assert resolve_backend("auto", "cpu") == CPU_DEFAULT_BACKEND
    assert resolve_backend("auto", "cuda:0") == "torch"
    with pytest.raises(InvalidInput, match="runs on the CPU"):
        resolve_backend("onnx-int8", "cuda")
    with pytest.raises(InvalidInput, match="unknown encoder backend"):
        resolve_backend("tensorrt", "cpu")


def test_manifest_backend_mismatch_is_a_clear_error(index_copy, torch_encoder, onnx_encoder):
    built = IndexManifest.read(open_index(index_copy).path).encoder
    other = torch_encoder if built.backend != "torch" else onnx_encoder
    with pytest.raises(InvalidInput, match=f"backend {built.backend!r}.*not .*backend {other.backend!r}"):
        Searcher(open_index(index_copy), other)
    with pytest.raises(InvalidInput, match="backend"):
        append_documents([Document(id="new", text="a new oxide")], index_copy, other, progress=False)


def test_service_queries_an_index_with_its_recorded_backend(index_copy):
    service = SearchService(index_copy.parent)
    searcher = service.searcher(index_copy.name)
    assert searcher.encoder.backend == searcher.index.manifest.encoder.backend


def test_manifests_without_a_backend_read_as_torch():
    old = {"model_id": "all-MiniLM-L6-v2", "dim": 384, "max_length": 256}
    assert EncoderInfo.model_validate(old).backend == "torch"


def test_batches_cover_every_text_once_under_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 300, size=500)
    batches = plan_batches(lengths, max_tokens=2048, max_batch=64)
    assert sorted(np.concatenate(batches).tolist()) == list(range(500))
    for b in batches:
        assert len(b) <= 64 and (len(b) == 1 or len(b) * lengths[b].max() <= 2048)
    ids, mask = pad([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.sum() == 4


def test_results_come_back_in_input_order_whatever_the_batching(onnx_encoder):
    texts = [*TEXTS, "x", "an oxide", *TEXTS[::-1]]
    one_by_one = [onnx_encoder.encode([t])[0] for t in texts]
    tight = onnx_encoder.encode(texts, batch_size=3)
    saved = onnx_encoder.max_tokens
    onnx_encoder.max_tokens = 64  # forces many small batches
    try:
        budget = onnx_encoder.encode(texts)
    finally:
        onnx_encoder.max_tokens = saved
    for a, b, c in zip(one_by_one, tight, budget):
        np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(a, c, atol=1e-5)


def test_cpu_exports_run_fused_attention(onnx_encoder, int8_encoder):
    """The exported graph is the one ONNX Runtime fuses (one Attention op per layer, no loose
    Softmax), and int8 quantizes the fused QKV projection as well as the other MatMuls."""
    import onnx

    layers = onnx_encoder._st[0].auto_model.config.num_hidden_layers
    fp32 = [n.op_type for n in onnx.load(str(onnx_encoder.onnx_path), load_external_data=False).graph.node]
    int8 = [n.op_type for n in onnx.load(str(int8_encoder.onnx_path), load_external_data=False).graph.node]
    assert fp32.count("Attention") == layers and "Softmax" not in fp32
    assert int8.count("QAttention") == layers and "MatMulInteger" in int8 and "Attention" not in int8


def test_tokenizer_copy_gives_the_transformers_ids(onnx_encoder):
    reference = onnx_encoder._tokenizer(TEXTS, truncation=True, max_length=onnx_encoder.max_length)["input_ids"]
    assert onnx_encoder._tokenize(TEXTS) == reference
    assert [onnx_encoder._tokenize([t])[0] for t in TEXTS] == reference


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_one_text_matches_sentence_transformers(backend, torch_encoder, onnx_encoder):
    """The single-text path (no batching, numpy pooling) against sentence-transformers' own encode."""
    encoder = torch_encoder if backend == "torch" else onnx_encoder
    for text in TEXTS:
        tokens, pooled = encoder.encode([text], kind="query", output="both")
        reference = encoder._st.encode([text], normalize_embeddings=True)
        np.testing.assert_allclose(pooled, reference, atol=1e-4)
        assert len(tokens) == 1 and tokens[0].shape == encoder.encode([text, "x"])[0].shape
        np.testing.assert_allclose(encoder.encode_query([text])[0], tokens[0])
