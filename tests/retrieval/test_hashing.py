import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from matlas.errors import InvalidInput
from retrieval.hashing import CMFH, LSH, RREH, load_hasher, map_at_all, pack_codes, unpack_codes
from retrieval.hashing.features import STRUCTURE_DIM, structure_features, text_features
from retrieval.hashing.rreh import reconstruction_coefficients

MODS = ("img", "txt")


def _two_views(n=400, classes=5, seed=0):
    """Two modalities that share a class-clustered latent (different dims, noise)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    z = rng.standard_normal((classes, 8))[labels] + 0.6 * rng.standard_normal((n, 8))
    a, b = rng.standard_normal((8, 30)), rng.standard_normal((8, 12))
    return z @ a + 0.3 * rng.standard_normal((n, 30)), z @ b + 0.3 * rng.standard_normal((n, 12)), labels


@pytest.fixture(scope="module")
def views():
    x1, x2, y = _two_views()
    tr, te = np.arange(300), np.arange(300, 400)
    return x1, x2, y, tr, te


def _map(h, views):
    x1, x2, y, tr, te = views
    return map_at_all(h.encode(x1[te], "img"), h.encode(x2[tr], "txt"), y[te], y[tr])


def _fit_half(h, views):
    x1, x2, _y, tr, _ = views
    p, u = tr[:150], tr[150:]
    return h.fit((x1[p], x2[p]), (x1[u], x2[u[::-1]]))


def test_pack_unpack_round_trip():
    signs = np.where(np.random.default_rng(0).random((5, 32)) > 0.5, 1, -1)
    codes = pack_codes(signs)
    assert codes.shape == (5, 4) and codes.dtype == np.uint8
    assert (unpack_codes(codes) == signs).all()


def test_map_at_all_hand_checked_and_ties_by_index():
    db = np.array([[0], [0], [1]], np.uint8)
    # all at distance 0 or 1: order 0, 1, 2; relevant at ranks 2 and 3 -> (1/2 + 2/3) / 2
    assert map_at_all(db[:1], db, np.array([1]), np.array([0, 1, 1])) == pytest.approx((0.5 + 2 / 3) / 2)
    assert map_at_all(db[:1], db, np.array([7]), np.array([0, 1, 1])) == 0.0


def test_reconstruction_coefficients_are_local_and_affine():
    rng = np.random.default_rng(1)
    anchors, q = rng.standard_normal((20, 6)), rng.standard_normal((7, 6))
    c = reconstruction_coefficients(q, anchors, 4)
    assert c.shape == (7, 20) and np.allclose(c.sum(1), 1) and ((c != 0).sum(1) <= 4).all()
    exact = reconstruction_coefficients(anchors[:3], anchors, 3)
    assert np.allclose(exact @ anchors, anchors[:3], atol=1e-2)


@pytest.mark.parametrize("cls,kw", [(RREH, {"anchors": 50, "iters": 10}), (CMFH, {"iters": 10})])
def test_learned_hashers_beat_lsh(views, cls, kw):
    lsh = _map(_fit_half(LSH(32, modalities=MODS), views), views)
    learned = _map(_fit_half(cls(32, modalities=MODS, **kw), views), views)
    assert learned > lsh + 0.2, (learned, lsh)


def test_rreh_is_deterministic_and_seeded(views):
    x1 = views[0]
    a = _fit_half(RREH(16, modalities=MODS, anchors=40, iters=5, kernel=30, seed=3), views).encode(x1[:20], "img")
    b = _fit_half(RREH(16, modalities=MODS, anchors=40, iters=5, kernel=30, seed=3), views).encode(x1[:20], "img")
    c = _fit_half(RREH(16, modalities=MODS, anchors=40, iters=5, kernel=30, seed=4), views).encode(x1[:20], "img")
    assert (a == b).all() and (a != c).any() and a.shape == (20, 2)


@pytest.mark.parametrize("cls", [RREH, CMFH, LSH])
def test_save_load_round_trip(views, cls, tmp_path):
    h = _fit_half(cls(16, modalities=MODS, kernel=20, iters=3) if cls is not LSH else cls(16, modalities=MODS), views)
    h.save(tmp_path / "h")
    back = load_hasher(tmp_path / "h")
    assert type(back) is cls and back.manifest.trained_on == {"paired": 150, "img": 150, "txt": 150}
    assert (back.encode(views[1][:30], "txt") == h.encode(views[1][:30], "txt")).all()


def test_input_validation(views):
    x1, x2 = views[0], views[1]
    with pytest.raises(ValueError, match="24"):
        RREH(24)
    with pytest.raises(ValueError, match="alpha"):
        RREH(16, alpha=1.5)
    with pytest.raises(InvalidInput, match="10 vs 9"):
        LSH(16, modalities=MODS).fit((x1[:10], x2[:9]))
    bad = x1[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        LSH(16, modalities=MODS).fit((bad, x2[:10]))
    h = LSH(16, modalities=MODS).fit((x1[:10], x2[:10]))
    with pytest.raises(InvalidInput, match="'audio'"):
        h.encode(x1[:2], "audio")
    with pytest.raises(InvalidInput, match="12 features"):
        h.encode(x2[:2], "img")
    with pytest.raises(InvalidInput, match="not fitted"):
        CMFH(16).encode(x1[:2], "a")


def test_structure_features():
    nacl = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    f = structure_features([nacl])
    assert f.shape == (1, STRUCTURE_DIM) and np.isfinite(f).all()
    assert f[0, 10] == pytest.approx(0.5) and f[0, 16] == pytest.approx(0.5)  # Na, Cl fractions
    assert f[0, -2] == pytest.approx(6.0) and f[0, -1] == pytest.approx(0.0)  # octahedral coordination
    with pytest.raises(InvalidInput, match="structure 0"):
        structure_features(["not a structure"])


def test_text_features_refuse_blank():
    with pytest.raises(InvalidInput, match=r"\[1\]"):
        text_features(["ok", "  "], encoder=None)


@pytest.mark.parametrize("weight", [None, 1.0])
def test_rreh_objective_never_increases(views, weight):
    h = _fit_half(RREH(16, modalities=MODS, anchors=40, iters=8, kernel=30, unpaired_weight=weight), views)
    hist = np.asarray(h.history)
    assert len(hist) == 8 and np.all(np.diff(hist) <= 1e-9 * hist[0])


def test_rreh_rejects_bad_weights():
    with pytest.raises(ValueError):
        RREH(16, unpaired_weight=0.0)
    with pytest.raises(ValueError):
        RREH(16, warm=-1)
