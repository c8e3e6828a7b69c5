"""``matlas.security.keys``: entries parsed strictly, tokens matched by their SHA-256 only."""

from __future__ import annotations

import hashlib

import pytest

from matlas.security.keys import KeyRing, Principal
from tests._support.keys import api_key


def test_each_token_finds_its_own_key_and_nothing_else_matches():
    (ana, ana_entry), (ops, ops_entry) = api_key("ana", "read"), api_key("ops", "admin")
    ring = KeyRing.parse(f" {ana_entry},\n{ops_entry} ")
    assert (ring.authenticate(ana), ring.authenticate(ops)) == (Principal("ana", "read"), Principal("ops", "admin"))
    digest = ana_entry.rsplit(":", 1)[1]
    for wrong in (None, "", ana[:-1], ana + " ", digest, ana_entry, ana.upper()):
        assert ring.authenticate(wrong) is None, wrong
    assert ring.names == ["ana", "ops"] and bool(KeyRing.parse("")) is False


def test_an_upper_case_digest_is_the_same_key():
    token = "t0ken"
    ring = KeyRing.parse(f"ana:read:{hashlib.sha256(token.encode()).hexdigest().upper()}")
    assert ring.authenticate(token) == Principal("ana", "read")


@pytest.mark.parametrize("text,needle", [
    ("ana:read", "entry 1 is not name:scope:sha256hex"),
    ("ana:read:" + "0" * 63, "entry 1 is not"),
    ("ana:root:" + "0" * 64, "scope 'root'"),
    ("local:read:" + "0" * 64, "'local'"),
    ("ana:read:" + "0" * 64 + ",ana:admin:" + "1" * 64, "unique; repeated: ['ana']"),
    ("ana:read:" + "0" * 64 + " secret-token-pasted-here", "entry 2 is not"),
])
def test_bad_entries_are_refused_without_echoing_them(text, needle):
    with pytest.raises(ValueError) as err:
        KeyRing.parse(text)
    assert needle in str(err.value) and "secret-token" not in str(err.value) and "0" * 16 not in str(err.value)


def test_keys_stay_out_of_reprs():
    _, entry = api_key("ana", "read")
    assert entry.rsplit(":", 1)[1] not in repr(KeyRing.parse(entry).keys)
