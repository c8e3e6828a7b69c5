import json
import threading

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from agents.artifacts import ArtifactStore
from matlas.errors import InvalidInput


@pytest.fixture
def silicon() -> Structure:
    return Structure.from_spacegroup("Fd-3m", Lattice.cubic(5.468), ["Si"], [[0, 0, 0]])


def test_structure_round_trip_and_stable_handle(tmp_path, silicon):
    store = ArtifactStore(tmp_path / "session")
    handle = store.put_structure(silicon, {"material_id": "mp-149"})
    assert handle.startswith("artifact://structure/") and len(handle.rsplit("/", 1)[1]) == 12
    assert store.put_structure(silicon.copy()) == handle  # same content, same handle
    back = store.get_structure(handle)
    assert back == silicon and back.lattice == silicon.lattice
    assert store.meta(handle) == {"material_id": "mp-149"}


def test_different_content_different_handle(silicon):
    store = ArtifactStore()
    strained = silicon.copy()
    strained.scale_lattice(silicon.volume * 1.01)
    assert store.put_structure(silicon) != store.put_structure(strained)


def test_array_round_trip_keeps_dtype_and_shape(tmp_path):
    store = ArtifactStore(tmp_path)
    tensor = np.arange(36, dtype=np.float32).reshape(6, 6) / 7
    handle = store.put_array(tensor, {"units": "GPa"})
    assert handle.startswith("artifact://array/")
    back = store.get_array(handle)
    assert back.dtype == np.float32 and back.shape == (6, 6)
    np.testing.assert_array_equal(back, tensor)
    with pytest.raises(InvalidInput, match="numeric"):
        store.put_array(np.array(["a", "b"]))


def test_persisted_as_json_and_read_by_a_new_store(tmp_path, silicon):
    handle = ArtifactStore(tmp_path).put_structure(silicon, {"material_id": "mp-149"})
    files = list(tmp_path.glob("*.json"))
    assert [f.name for f in files] == [handle.removeprefix("artifact://").replace("/", "-") + ".json"]
    assert json.loads(files[0].read_text())["meta"] == {"material_id": "mp-149"}
    fresh = ArtifactStore(tmp_path)  # e.g. after a restart
    assert fresh.handles() == [handle]
    assert fresh.get_structure(handle) == silicon
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_memory_only_store_writes_nothing(tmp_path, silicon, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = ArtifactStore()
    handle = store.put_structure(silicon)
    assert store.handles() == [handle] and not list(tmp_path.iterdir())


@pytest.mark.parametrize("handle", ["artifact://structure/zzz", "mp-149", "artifact://array/0123456789ab"])
def test_bad_or_unknown_handles_are_invalid_input(silicon, handle):
    store = ArtifactStore()
    known = store.put_structure(silicon)
    with pytest.raises(InvalidInput) as err:
        store.get_structure(handle)
    assert repr(handle) in str(err.value)
    if handle.startswith("artifact://array/"):
        assert "structure" in str(err.value)  # an array handle asked for as a structure
    assert store.get_structure(known) == silicon


def test_unknown_handle_lists_what_the_session_holds(silicon):
    store = ArtifactStore()
    known = store.put_structure(silicon)
    with pytest.raises(InvalidInput, match=known):
        store.get_structure("artifact://structure/0123456789ab")


def test_concurrent_puts_of_one_structure(tmp_path, silicon):
    store = ArtifactStore(tmp_path)
    handles = []
    threads = [threading.Thread(target=lambda: handles.append(store.put_structure(silicon))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(handles)) == 1 and len(list(tmp_path.glob("*.json"))) == 1
