"""Property-based API tests: schemathesis generates requests from the OpenAPI document
(valid and invalid bodies, queries and paths) for every operation, signed in as a
physician with the CSRF token; no response may be a server error (5xx)."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from fuzzing import examples
from ifxdose.adapters import store as st
from ifxdose.adapters.web.sessions import COOKIE
from web.conftest import PASSWORD, example_history, make_app


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite3'}", settings={"sign_in_attempts": 100})
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
    @settings(max_examples=examples(10), deadline=None, database=None, suppress_health_check=list(HealthCheck))
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


# The probes that once gave 500s, sent to every operation of the OpenAPI document.
_PROBES = [
    '{"x": NaN}',
    '{"x": Infinity}',
    '{"x": -1e309}',
    "[" * 1000 + "]" * 1000,
    '{"a": ' * 300 + "1" + "}" * 300,
    '{"weight_kg": true, "date": "2024-01-01"}',
    "null",
    '"text"',
]


def test_probes_give_no_server_error_on_any_operation(fuzz_app, auth):
    with TestClient(fuzz_app, raise_server_exceptions=False, cookies=auth["cookies"]) as client:
        paths = client.get("/api/openapi.json").json()["paths"]
        tried = 0
        for path, operations in paths.items():
            concrete = (
                path.replace("{code}", "RA-0001")
                .replace("{rec_id}", "1")
                .replace("{entry_id}", "1")
                .replace("{service_id}", "ifxdose-order-select")
                .replace("{study_id}", "x")
            )
            for method in operations:
                if method not in ("post", "put") or concrete == "/api/v1/session" and method == "delete":
                    continue
                for probe in _PROBES:
                    r = client.request(
                        method, concrete, content=probe, headers={**auth["headers"], "Content-Type": "application/json"}
                    )
                    assert r.status_code < 500, (method, path, probe[:40], r.text[:200])
                    tried += 1
        for tz in ("+99:99", "-99:00", "+14:01", "Mars/Olympus", "\x00", "../../etc/passwd"):
            r = client.get("/api/v1/patients/RA-0001/fhir", params={"tz": tz}, headers=auth["headers"])
            assert r.status_code == 422, (tz, r.text[:200])
        assert tried >= 100


# ----------------------------------------------------------------------- form routes
_FORMS = {
    "/patients/RA-0001/record/infusion": [
        "date",
        "time",
        "dose_mg",
        "dose_mg_per_kg",
        "route",
        "duration_min",
        "product",
        "lot",
        "reaction",
        "vials",
        "request_id",
    ],
    "/patients/RA-0001/record/labs": [
        "date",
        "time",
        "value_mg_l",
        "below_lloq",
        "lloq_mg_l",
        "assay",
        "ada_result",
        "titre",
        "titre_unit",
        "drug_tolerant",
        "crp_mg_l",
        "esr_mm_h",
        "albumin_g_dl",
        "baseline_tnf_pg_ml",
    ],
    "/patients/RA-0001/record/assessment": [
        "date",
        "tender_joints",
        "swollen_joints",
        "ptga_mm",
        "phga_mm",
        "pain_mm",
        "haq_di",
        "crp_mg_l",
        "esr_mm_h",
    ],
    "/patients/RA-0001/record/weight": ["date", "weight_kg", "dose_mg_week"],
    "/patients/new": ["id", "sex", "birth_year", "baseline_tnf_pg_ml"],
    "/patients/RA-0001/recommendations/1/decision": ["decision", "reason", "option_index"],
    "/patients/RA-0001/entries/weights/1": ["date", "weight_kg", "reason"],
    "/patients/RA-0001/entries/infusions/1/void": ["reason"],
    "/locale": ["locale", "next"],
    "/login": ["username", "password", "next"],
}


def test_form_routes_give_no_server_error(fuzz_app):
    from hypothesis import strategies as hs

    from web.conftest import csrf_of

    values = hs.one_of(
        hs.text(max_size=30),
        hs.sampled_from(
            [
                "NaN",
                "inf",
                "-1e309",
                "1e309",
                "true",
                "0",
                "-1",
                "2024-02-30",
                "9999-12-31",
                "2024-08-20T25:00",
                "on",
                "accept",
                "override",
                "x" * 3000,
                "\x00",
                "<script>",
                "99999999999999999999",
                "1e-400",
                "+09:00",
            ]
        ),
    )
    with TestClient(fuzz_app, raise_server_exceptions=False) as browser:
        token = csrf_of(browser.get("/login").text)
        browser.post("/login", data={"username": "doc", "password": PASSWORD, "csrf_token": token})
        token = csrf_of(browser.get("/patients").text)
        for path, fields in _FORMS.items():

            @given(data=hs.dictionaries(hs.sampled_from(fields), values, max_size=len(fields)))
            @settings(max_examples=examples(12), deadline=None, database=None, suppress_health_check=list(HealthCheck))
            def post(data):
                r = browser.post(path, data={**data, "csrf_token": token}, follow_redirects=False)
                assert r.status_code < 500, (path, data, r.text[:300])

            post()
