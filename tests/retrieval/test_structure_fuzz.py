"""Fuzz the structure reader as a whole: any lattice, coordinates, species, CIF or POSCAR text.

Each case runs the API's unit of work (``structure_vector``: read, check, analyse) in this
process, so a crash in native code (spglib, the neighbour search) would end the test run. A case
passes when it yields finite features or an ``InvalidInput``, within the API's time bound.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matlas.api.app import STRUCTURE_TIMEOUT_S
from matlas.errors import InvalidInput
from retrieval.hashing.features import STRUCTURE_DIM, structure_vector

pytestmark = pytest.mark.filterwarnings("ignore")  # pymatgen warns about every odd cell it reads
FUZZ = settings(max_examples=120, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_SPECIAL = [0.0, -0.0, 1e-300, 1e-9, 0.3, 1e9, 1e300, math.nan, math.inf, -math.inf]
_SYMBOLS = ["H", "Li", "Na", "Cl", "O", "Fe", "Si", "Ga", "N", "Lr", "Og", "Qq", "X", "D", "Na+", "", "Xx0+", "e"]
TIMES: list[float] = []
ACCEPTED: list[bool] = []


@pytest.fixture(scope="module", autouse=True)
def _figures():
    """Print this run's figures (with -s): cases and the slowest one, against the bound."""
    yield
    if TIMES:
        print(f"\nstructure fuzz: {len(TIMES)} cases ({sum(ACCEPTED)} analysed, the rest refused), slowest {max(TIMES) * 1000:.0f} ms, "
              f"median {sorted(TIMES)[len(TIMES) // 2] * 1000:.1f} ms (bound {STRUCTURE_TIMEOUT_S:g} s)")


def _run(spec) -> None:
    start = time.perf_counter()
    try:
        x = structure_vector(spec)
    except InvalidInput as err:
        assert str(err)
        ACCEPTED.append(False)
    else:
        assert x.shape == (1, STRUCTURE_DIM) and np.isfinite(x).all()
        ACCEPTED.append(True)
    elapsed = time.perf_counter() - start
    TIMES.append(elapsed)
    assert elapsed < STRUCTURE_TIMEOUT_S, f"{elapsed:.2f} s for {str(spec)[:200]}"


numbers = st.one_of(st.floats(-12, 12), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_SPECIAL))
lengths = st.one_of(st.floats(1.5, 12), numbers)
angles = st.one_of(st.floats(30, 150), st.sampled_from([0.0, 1.0, 90.0, 179.9, 180.0, -90.0, 360.0, math.nan]), numbers)
vec3 = st.lists(numbers, min_size=3, max_size=3)
symbols = st.one_of(st.sampled_from(_SYMBOLS), st.text(max_size=4))


@st.composite
def structure_dicts(draw):
    """pymatgen ``as_dict`` shapes: a 3x3 matrix (sane or not) and 1-6 sites."""
    scale = draw(st.floats(2, 8))
    if draw(st.booleans()):
        matrix = (np.eye(3) * scale + np.array(draw(st.lists(st.floats(-1, 1), min_size=9, max_size=9))).reshape(3, 3)).tolist()
    else:
        matrix = [draw(vec3) for _ in range(3)]
    sites = [{"species": [{"element": draw(symbols), "occu": draw(st.one_of(st.just(1), numbers))}],
              "abc": draw(st.one_of(st.lists(st.floats(0, 1), min_size=3, max_size=3), vec3))}
             for _ in range(draw(st.integers(1, 6)))]
    return {"lattice": {"matrix": matrix}, "sites": sites}


@st.composite
def cif_texts(draw):
    """CIF with drawn cell parameters, space group, and 1-5 atom rows."""
    a, b, c = (draw(lengths) for _ in range(3))
    al, be, ga = (draw(angles) for _ in range(3))
    group = draw(st.sampled_from(["P 1", "F m -3 m", "I m -3 m", "P 63/m m c", "bogus", "P -1"]))
    rows = "\n".join(f"{s or 'X'}{i} {s or 'X'} {x} {y} {z} {o}" for i, (s, (x, y, z), o) in enumerate(
        draw(st.lists(st.tuples(st.sampled_from(_SYMBOLS), st.one_of(st.lists(st.floats(0, 1), min_size=3, max_size=3),
                                                                     vec3), st.sampled_from([1, 0.5, 0, -1, "nan"])),
                      min_size=1, max_size=5))))
    return (f"data_fuzz\n_symmetry_space_group_name_H-M '{group}'\n_cell_length_a {a}\n_cell_length_b {b}\n"
            f"_cell_length_c {c}\n_cell_angle_alpha {al}\n_cell_angle_beta {be}\n_cell_angle_gamma {ga}\n"
            "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n"
            f"_atom_site_fract_z\n_atom_site_occupancy\n{rows}\n")


@st.composite
def poscar_texts(draw):
    """POSCAR with a drawn scale, lattice, species line and coordinates."""
    species = draw(st.lists(st.sampled_from(_SYMBOLS[:12]), min_size=1, max_size=3))
    counts = [draw(st.integers(1, 3)) for _ in species]
    coords = "\n".join(" ".join(str(v) for v in draw(st.one_of(st.lists(st.floats(0, 1), min_size=3, max_size=3), vec3)))
                       for _ in range(sum(counts)))
    lattice = "\n".join(" ".join(str(v) for v in row) for row in (
        draw(st.one_of(st.just([[4, 0, 0], [0, 4, 0], [0, 0, 4]]), st.lists(vec3, min_size=3, max_size=3)))))
    return (f"fuzz\n{draw(st.one_of(st.just(1.0), numbers))}\n{lattice}\n{' '.join(species)}\n"
            f"{' '.join(map(str, counts))}\n{draw(st.sampled_from(['direct', 'cartesian']))}\n{coords}\n")


@st.composite
def plausible_structures(draw):
    """Cells of sane shape with 1-12 real atoms anywhere in them: most reach spglib."""
    from pymatgen.core import Lattice

    a, b, c = (draw(st.floats(2.5, 14)) for _ in range(3))
    al, be, ga = (draw(st.floats(60, 120)) for _ in range(3))
    n = draw(st.integers(1, 12))
    species = draw(st.lists(st.sampled_from(_SYMBOLS[:10]), min_size=n, max_size=n))
    coords = draw(st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=n, max_size=n))
    matrix = Lattice.from_parameters(a, b, c, al, be, ga).matrix.tolist()
    return {"lattice": {"matrix": matrix},
            "sites": [{"species": [{"element": e, "occu": 1}], "abc": xyz} for e, xyz in zip(species, coords)]}


@FUZZ
@given(plausible_structures())
def test_plausible_structures_are_analysed_or_refused_in_time(spec):
    _run(spec)


@FUZZ
@given(structure_dicts())
def test_structure_dicts_never_crash_or_overrun(spec):
    _run(spec)


@FUZZ
@given(cif_texts())
def test_cif_texts_never_crash_or_overrun(spec):
    _run(spec)


@FUZZ
@given(poscar_texts())
def test_poscar_texts_never_crash_or_overrun(spec):
    _run(spec)


@FUZZ
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_arbitrary_text_never_crashes(spec):
    _run(spec)
