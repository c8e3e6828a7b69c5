"""``open_rester``: the embedded snapshot server without a key, the configured endpoint with one."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from agents.mp.client import OFFLINE_API_KEY, embedded_endpoint, open_rester
from matlas.errors import UpstreamError
from matlas.settings import Settings


def test_placeholder_key_has_the_length_mp_api_requires():
    assert len(OFFLINE_API_KEY) == 32


def test_without_key_the_embedded_sample_is_served_once(tmp_path, sample):
    settings = Settings(home=tmp_path, mp_api_key=None, mp_endpoint=None)
    assert not settings.mp_db_path.exists()
    with open_rester(settings) as mpr:
        [doc] = mpr.materials.summary.search(
            material_ids=["mp-2657"], fields=["material_id", "band_gap"]
        )
        endpoint = mpr.endpoint
    assert doc.band_gap == sample["mp-2657"]["band_gap"]
    assert settings.mp_db_path.exists()
    assert (
        endpoint.startswith("http://127.0.0.1:")
        and embedded_endpoint(settings.mp_db_path) == endpoint
    )


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
