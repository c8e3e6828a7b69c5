"""Schemathesis over the whole OpenAPI schema of the in-process app, with a cross-modal index present.

Every operation gets generated valid and invalid requests; every response must be a non-5xx,
with a status code, content type and body that the schema declares. The LLM behind ``/v1/chat``
is a scripted OpenAI-compatible provider (the one part tests fake); ``/v1/chat/completions``
hosts a tiny random local model (real generation, a few tokens).

The run is made twice: keyless (the local user) and with an admin API key configured, sent with
every case; keyed, schemathesis' ``ignored_auth`` check replays each operation without the key
and with a wrong one and fails unless both are refused.
"""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from matlas.api import create_app
from matlas.settings import Settings
from retrieval.crossmodal import fit_crossmodal, load_snapshot
from retrieval.hashing import RREH
from retrieval.service import SearchService
from tests._support.http_server import serving
from tests._support.keys import api_key, bearer
from tests._support.mp_structures import write_snapshot
from tests._support.scripted_openai import scripted_openai

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
EXAMPLES = 10
CASES: dict[str, list[int]] = {"keyless": [], "keyed": []}


@pytest.fixture(scope="module", params=["keyless", "keyed"])
def api_schema(request, tmp_path_factory, built_index, encoder, tiny_lm_dir, mp_db):
    """(the schema of the in-process app, the headers each case sends, the run's name)."""
    home = tmp_path_factory.mktemp("schema-home")
    snapshot = tmp_path_factory.mktemp("schema-mp")
    write_snapshot(snapshot)
    indexes = home / "indexes"
    shutil.copytree(built_index, indexes / "mini")
    hasher = RREH(16, modalities=("text", "structure"), anchors=5, neighbours=2, kernel=8, iters=10)
    fit_crossmodal(load_snapshot(snapshot), indexes / "crossmodal", encoder, hasher=hasher)
    token, entry = api_key("fuzz", "admin")
    keyed = request.param == "keyed"
    with serving(scripted_openai([{"text": "No data for that."}] * 10_000)) as llm_url:
        config = Settings(home=home, index_root=indexes, default_index="mini", mp_snapshot=snapshot, mp_db=mp_db,
                          llm_backend="openai", llm_base_url=f"{llm_url}/v1", llm_model=str(tiny_lm_dir),
                          llm_max_tokens=4, api_keys=entry if keyed else None)
        service = SearchService(config.indexes_dir)
        service.encoders.add(encoder)
        app = create_app(config, search_service=service)
        yield schemathesis.openapi.from_asgi("/openapi.json", app), bearer(token) if keyed else {}, request.param
        app.state.structure_calls.close()
    cases = CASES[request.param]
    print(f"\nschemathesis ({request.param}): {len(cases)} cases, {sum(1 for s in cases if s >= 500)} answered 5xx")


def test_every_operation_conforms_and_never_fails(api_schema):
    """Per operation, ``EXAMPLES`` generated requests of each mode (valid, then invalid data)."""
    schema, headers, run_name = api_schema
    checks = [*CHECKS, ignored_auth] if headers else CHECKS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13, [op.label for op in operations]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                # a negative case may leave the key out on purpose (a `required` Authorization header
                # mutation): then it goes without the key, and must be refused
                drops_key = "Authorization" in repr(case.meta)  # (only a negative case mutates it)
                response = case.call(headers={} if drops_key else headers)
                CASES[run_name].append(response.status_code)
                case.validate_response(response, checks=checks)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to send wrong: no input


def test_no_protected_operation_ignores_a_missing_or_wrong_key(api_schema):
    """Keyed: every /v1 operation declares the bearer scheme and answers 401 without a key and with a
    wrong one, whatever its parameters; keyless, the schema asks for no key and none is refused for lack of one."""
    schema, headers, _ = api_schema
    raw = schema.raw_schema
    secured = {path for path, item in raw["paths"].items() for op in item.values() if op.get("security")}
    assert secured == ({path for path in raw["paths"] if path.startswith("/v1/")} if headers else set())
    assert ("securitySchemes" in raw["components"]) == bool(headers)
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/v1/"):
            continue
        case = operation.as_strategy(generation_mode=GenerationMode.POSITIVE).example()
        for sent in ({}, {"Authorization": "Bearer wrong"}):
            status = case.call(headers=sent).status_code
            assert (status == 401) == bool(headers), (operation.label, sent, status)
