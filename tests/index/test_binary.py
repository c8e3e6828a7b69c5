import numpy as np
import pytest

from index.binary import (
    build_binary_index,
    open_binary_version,
    publish_binary_version,
    read_index_binary,
    search_binary,
    write_index_binary,
)
from index.versions import IndexRoot
from matlas.errors import IndexNotFound, InvalidInput
from retrieval.hashing import hamming_distances


@pytest.fixture(scope="module")
def codes():
    rng = np.random.default_rng(0)
    centres = rng.integers(0, 256, (20, 8), dtype=np.uint8)
    flips = np.packbits(rng.random((2000, 64)) < 0.03, axis=1, bitorder="little")
    return centres[rng.integers(0, 20, 2000)] ^ flips


def test_flat_is_exact_and_keeps_ids(codes):
    ids = np.arange(len(codes)) * 10 + 7
    index = build_binary_index("BFlat", codes, ids)
    dist, got = search_binary(index, codes[:5], 4)
    brute = hamming_distances(codes[:5], codes)
    assert (dist == np.sort(brute, axis=1)[:, :4]).all()
    assert (np.take_along_axis(brute, (got - 7) // 10, axis=1) == dist).all()


@pytest.mark.parametrize("factory", ["BHash16", "BMultiHash4x16"])
def test_hashed_indexes_find_near_codes(codes, factory):
    index = build_binary_index(factory, codes, nflip=2)
    dist, ids = search_binary(index, codes[:50], 1)
    assert (dist[:, 0] == 0).all() and (ids[:, 0] >= 0).all()


def test_bucket_guard_and_bad_factories(codes):
    with pytest.raises(InvalidInput, match="max_bucket=10"):
        build_binary_index("BHash16", codes, max_bucket=10)
    with pytest.raises(InvalidInput, match="'IVF'"):
        build_binary_index("IVF", codes)
    with pytest.raises(InvalidInput, match="do not fit"):
        build_binary_index("BMultiHash8x16", codes)
    with pytest.raises(InvalidInput, match="uint8"):
        build_binary_index("BFlat", codes.astype(np.int32))
    with pytest.raises(InvalidInput, match="32 bits"):
        search_binary(build_binary_index("BFlat", codes), codes[:1, :4], 1)


def test_write_read_round_trip(codes, tmp_path):
    index = build_binary_index("BHash16", codes, np.arange(len(codes)) + 5)
    write_index_binary(index, tmp_path / "x.bidx")
    back = read_index_binary(tmp_path / "x.bidx")
    assert (search_binary(back, codes[:3], 2)[1] == search_binary(index, codes[:3], 2)[1]).all()


def test_versions_flip_atomically(codes, tmp_path):
    root = tmp_path / "cm"
    with pytest.raises(IndexNotFound):
        open_binary_version(root)
    first = publish_binary_version(root, {"a": build_binary_index("BFlat", codes[:10])}, "BFlat", meta={"x": 1})
    second = publish_binary_version(root, {"a": build_binary_index("BFlat", codes)}, "BFlat",
                                    write_extra=lambda d: (d / "extra.txt").write_text("hi"))
    manifest, parts, directory = open_binary_version(root)
    assert (first.version, second.version, manifest.version) == ("v000001", "v000002", "v000002")
    assert manifest.parts == {"a": 2000} and parts["a"].ntotal == 2000 and manifest.bits == 64
    assert (directory / "extra.txt").read_text() == "hi"
    IndexRoot(root).publish("v000001")
    assert open_binary_version(root)[0].meta == {"x": 1}


def test_16_bit_codes_are_stored_padded_to_32_bits_with_the_same_ranking():
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, size=(500, 2), dtype=np.uint8)
    index = build_binary_index("BFlat", codes)
    assert index.d == 32 and index.code_size == 4
    dist, ids = search_binary(index, codes[:20], 10)
    bits = np.unpackbits(codes, axis=1)
    exact = (bits[:20, None, :] != bits[None, :, :]).sum(-1)
    np.testing.assert_array_equal(dist, np.sort(exact, axis=1)[:, :10])  # zero bytes add no distance
    assert (exact[np.arange(20)[:, None], ids] == dist).all()
    with pytest.raises(InvalidInput, match="codes have 64 bits, the index has 32"):
        search_binary(index, np.zeros((1, 8), dtype=np.uint8), 1)
    with pytest.raises(InvalidInput, match="do not fit in 16-bit codes"):
        build_binary_index("BMultiHash2x16", codes)
