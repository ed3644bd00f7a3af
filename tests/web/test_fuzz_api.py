"""Property-based API tests: schemathesis generates requests from the OpenAPI document
(valid and invalid bodies, queries and paths) for every operation, signed in as a
physician with the CSRF token; no response may be a server error (5xx)."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from web.conftest import PASSWORD, example_history, make_app

from ifxdose.adapters import store as st
from ifxdose.adapters.web.sessions import COOKIE


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}",
                   settings={"sign_in_attempts": 100})
    st.import_history(app.state.store, example_history(), user="fixture")
    return app


@pytest.fixture(scope="module")
def auth(fuzz_app):
    with TestClient(fuzz_app) as client:
        token = client.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).json()["csrf_token"]
        return {"cookies": {COOKIE: client.cookies.get(COOKIE)}, "headers": {"X-CSRF-Token": token}}


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)


def _fuzz(operation, auth) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        if case.path_parameters and "code" in case.path_parameters:
            case.path_parameters["code"] = "RA-0001"  # reach the handlers, not just the path check
        case.call_and_validate(checks=[not_a_server_error], headers=auth["headers"], cookies=auth["cookies"])

    run()


def test_no_server_errors(api_schema, auth):
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "DELETE" and operation.path == "/api/v1/session":
            continue  # signing out would end the fuzzing session (tested in test_security)
        _fuzz(operation, auth)
        tested.append(f"{operation.method.upper()} {operation.path}")
    assert len(tested) >= 20, tested
