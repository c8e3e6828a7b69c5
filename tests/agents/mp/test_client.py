"""``MPClient`` / ``open_rester``: the embedded snapshot server without a key, the endpoint with one."""

from __future__ import annotations

import gzip
import json
import socket

import pytest
from pydantic import SecretStr

from agents.mp.client import OFFLINE_API_KEY, MPClient, MPConfig, embedded_endpoint, open_rester
from agents.mp.snapshot import DEFAULT_MATERIALS
from matlas.errors import UpstreamError


def test_placeholder_key_has_the_length_mp_api_requires():
    assert len(OFFLINE_API_KEY) == 32


def test_without_key_the_real_mp_default_is_served_once(tmp_path):
    with gzip.open(DEFAULT_MATERIALS, "rt") as f:
        gan = next(r for r in map(json.loads, f) if r["material_id"] == "mp-830")
    client = MPClient(MPConfig(db_path=tmp_path / "mp.sqlite"))
    assert not client.config.db_path.exists() and not client.config.live
    with client.rester() as mpr:
        [doc] = mpr.materials.summary.search(material_ids=["mp-830"], fields=["material_id", "band_gap"])
        endpoint = mpr.endpoint
    assert doc.band_gap == gan["band_gap"]  # MP's GaN gap, from the shipped file
    assert client.config.db_path.exists()
    assert endpoint.startswith("http://127.0.0.1:") and embedded_endpoint(client.config.db_path) == endpoint
    assert client.provenance()["sample"] is False and client.provenance()["materials"] == 5232


def test_settings_like_objects_still_open_a_rester(tmp_path, mp_settings, sample):
    # the shell's settings work until every caller passes a built client
    with open_rester(mp_settings) as mpr:
        [doc] = mpr.materials.summary.search(material_ids=["mp-2657"], fields=["material_id", "band_gap"])
    assert doc.band_gap == sample["mp-2657"]["band_gap"]
    assert MPClient(MPConfig(endpoint=mp_settings.mp_endpoint, db_path=tmp_path)).provenance()["sample"]


def test_mp_endpoint_overrides_and_the_key_is_sent(mp_settings, sample):
    key = "k" * 32
    settings = mp_settings.model_copy(update={"mp_api_key": SecretStr(key)})
    with open_rester(settings) as mpr:
        assert mpr.endpoint == settings.mp_endpoint and mpr.session.headers["x-api-key"] == key
        [doc] = mpr.materials.thermo.search(
            material_ids=["mp-1143"], fields=["material_id", "energy_above_hull"]
        )
    assert doc.energy_above_hull == sample["mp-1143"]["energy_above_hull"]


def test_errors_become_upstream_errors_without_the_key(mp_settings):
    secret = "sk-short-secret"
    with_secret = mp_settings.model_copy(update={"mp_api_key": SecretStr(secret)})
    with pytest.raises(UpstreamError, match="32 characters") as caught, open_rester(with_secret):
        pass
    assert secret not in str(caught.value)

    bad_request = "does not support the request"  # mp-api's words for any 400
    with pytest.raises(UpstreamError, match=bad_request) as caught, open_rester(mp_settings) as mpr:
        mpr.materials.summary.search(band_gap=(3, 1), fields=["material_id"])
    assert "band_gap_min=3&band_gap_max=1" in str(caught.value)


def test_unreachable_endpoint_is_an_upstream_error(mp_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        pytest.raises(UpstreamError, match="failed"),
        open_rester(mp_settings.model_copy(update={"mp_endpoint": f"http://127.0.0.1:{port}/"})),
    ):
        pass


def test_warm_up_starts_the_snapshot_server_only_over_an_existing_snapshot(tmp_path, mp_db):
    import shutil

    from agents.mp import client as client_module

    mp_db = shutil.copy(mp_db, tmp_path / "mp.sqlite")  # a file no other test has served
    missing = MPClient(MPConfig(db_path=tmp_path / "not-imported.sqlite"))
    missing.warm_up()  # mp-api imported; the default snapshot is not imported at start
    assert not missing.config.db_path.exists()
    elsewhere = MPClient(MPConfig(endpoint=f"http://127.0.0.1:{_closed_port()}/", db_path=mp_db))
    elsewhere.warm_up()  # a configured endpoint is not contacted (this one would refuse)
    assert mp_db.resolve() not in client_module._servers
    local = MPClient(MPConfig(db_path=mp_db))
    local.warm_up()
    assert local.endpoint == client_module._servers[mp_db.resolve()].url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
