"""``index.versions.IndexRoot`` on the file system alone (no encoder): layout, pointer flips, failures.

The oracle is the documented on-disk layout, read here with plain file operations.
"""

import os
import threading

import pytest

from index.versions import IndexRoot
from matlas.errors import IndexNotFound, InvalidInput


def write_version(root: IndexRoot, payload: str) -> str:
    with root.new_version() as (tmp, name):
        (tmp / "manifest.json").write_text("{}")
        (tmp / "data.txt").write_text(payload)
    return name


def test_versions_are_numbered_and_current_is_flipped(tmp_path):
    root = IndexRoot(tmp_path / "mini")
    assert not root.exists() and root.versions() == [] and root.name == "mini"
    assert write_version(root, "a") == "v000001"
    assert (tmp_path / "mini" / "CURRENT").read_text() == "v000001\n"
    assert root.exists() and root.current() == "v000001"
    assert root.current_path() == tmp_path / "mini" / "versions" / "v000001"
    assert write_version(root, "b") == "v000002"
    assert (tmp_path / "mini" / "CURRENT").read_text() == "v000002\n"
    assert (root.current_path() / "data.txt").read_text() == "b"
    assert root.versions() == ["v000001", "v000002"]
    assert sorted(os.listdir(tmp_path / "mini")) == [".lock", "CURRENT", "versions"]  # no temporary left
    assert sorted(os.listdir(tmp_path / "mini" / "versions")) == ["v000001", "v000002"]


def test_names_follow_the_highest_existing_version(tmp_path):
    root = IndexRoot(tmp_path / "x")
    (tmp_path / "x" / "versions" / "v000041").mkdir(parents=True)  # incomplete: no manifest
    (tmp_path / "x" / "versions" / "v0007").mkdir()  # not a version name
    (tmp_path / "x" / "versions" / "notes").mkdir()
    assert write_version(root, "a") == "v000042"
    assert root.versions() == ["v000042"]  # only complete versions are listed


def test_name_is_the_resolved_directory_name(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert IndexRoot(tmp_path / "alias").name == "real"
    assert IndexRoot(tmp_path / "real" / ".").name == "real"


def test_rollback_publishes_an_older_version(tmp_path):
    root = IndexRoot(tmp_path / "r")
    write_version(root, "a")
    write_version(root, "b")
    root.publish("v000001")
    assert (tmp_path / "r" / "CURRENT").read_text() == "v000001\n" and root.current() == "v000001"
    with pytest.raises(InvalidInput, match=r"no version 'v000009'; versions: \['v000001', 'v000002'\]"):
        root.publish("v000009")
    assert root.current() == "v000001"
    assert [p.name for p in (tmp_path / "r").iterdir() if p.name.startswith(".CURRENT")] == []


def test_a_failed_build_changes_nothing(tmp_path):
    root = IndexRoot(tmp_path / "f")
    write_version(root, "a")
    with pytest.raises(RuntimeError, match="boom"), root.new_version() as (tmp, _):
        (tmp / "manifest.json").write_text("{}")
        raise RuntimeError("boom")
    assert root.current() == "v000001" and root.versions() == ["v000001"]
    assert sorted(os.listdir(tmp_path / "f" / "versions")) == ["v000001"]


def test_missing_index_and_dangling_pointer_are_reported(tmp_path):
    root = IndexRoot(tmp_path / "none")
    with pytest.raises(IndexNotFound, match="nothing has been built there yet"):
        root.current()
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "CURRENT").write_text("v000003\n")
    assert root.exists()
    with pytest.raises(IndexNotFound, match=r"CURRENT names a missing version 'v000003'"):
        root.current()
    (tmp_path / "none" / "versions" / "v000003").mkdir(parents=True)  # a directory without manifest
    with pytest.raises(IndexNotFound, match="missing version"):
        root.current_path()


def test_stale_temporaries_are_removed_by_the_next_writer(tmp_path):
    root = IndexRoot(tmp_path / "s")
    stale = tmp_path / "s" / "versions" / ".tmp-dead"
    stale.mkdir(parents=True)
    write_version(root, "a")
    assert not stale.exists()


def test_concurrent_writers_get_distinct_versions(tmp_path):
    root = IndexRoot(tmp_path / "c")
    names = []
    threads = [threading.Thread(target=lambda: names.append(write_version(IndexRoot(tmp_path / "c"), "x")))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(names) == [f"v{i:06d}" for i in range(1, 5)] and root.versions() == sorted(names)
