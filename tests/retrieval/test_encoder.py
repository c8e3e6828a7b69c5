import numpy as np
import pytest
import torch

from matlas.errors import InvalidInput
from retrieval.encoder import MultiVectorEncoder
from tests._support.tiny_bert import tiny_bert


def test_token_vectors_are_normalised_without_specials_or_padding(encoder):
    short, long = encoder.encode(["GaN", "lithium iron phosphate olivine cathode"], kind="document")
    n_long = len(encoder._tokenizer.tokenize("lithium iron phosphate olivine cathode"))
    assert short.shape == (len(encoder._tokenizer.tokenize("GaN")), 384) and long.shape == (n_long, 384)
    np.testing.assert_allclose(np.linalg.norm(long, axis=1), 1.0, rtol=1e-5)


def test_pooled_matches_sentence_transformers(encoder):
    texts = ["band gap of silicon", "rock salt structure"]
    ours = encoder.encode(texts, output="pooled")
    reference = encoder._st.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_batching_and_order_do_not_change_results(encoder):
    texts = ["a", "perovskite solar absorber with a direct gap", "magnet", "layered dichalcogenide"]
    one = encoder.encode(texts, batch_size=1)
    many = encoder.encode(texts, batch_size=3)
    for a, b in zip(one, many):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_rejects_empty_and_string_input(encoder):
    with pytest.raises(InvalidInput, match="text 1 is empty"):
        encoder.encode(["ok", "  "])
    with pytest.raises(InvalidInput, match="list of texts"):
        encoder.encode("one string")


def test_colbert_checkpoint_projects_tokens(tmp_path):
    from safetensors.torch import load_file, save_file

    model = tiny_bert(tmp_path)
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state["linear.weight"] = torch.randn(8, 32)
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    enc = MultiVectorEncoder(str(tmp_path), device="cpu")
    assert enc.dim == 8
    (tokens,) = enc.encode(["band gap oxides"])
    assert tokens.shape == (4, 8)  # band, gap, oxide, ##s; no [CLS]/[SEP]
    np.testing.assert_allclose(np.linalg.norm(tokens, axis=1), 1.0, rtol=1e-5)


def test_plain_transformers_path_works_through_sentence_transformers(tmp_path):
    tiny_bert(tmp_path).save_pretrained(tmp_path)
    enc = MultiVectorEncoder(str(tmp_path), device="cpu")
    tokens, pooled = enc.encode(["metal oxide"], output="both")
    assert enc.dim == 32 and tokens[0].shape == (2, 32) and pooled.shape == (1, 32)


def test_unknown_model_offline_is_a_clear_error():
    with pytest.raises(InvalidInput, match="not a local path"):
        MultiVectorEncoder("no-such-org/no-such-model")
