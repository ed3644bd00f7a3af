"""No 5xx for any input, at the HTTP level: NaN / Infinity / 1e309 in JSON bodies (signed
in or not), deep nesting, bad time-zone offsets, oversized bodies (refused before
authentication), JSON true/false where a number belongs; patient JSON never cached; the
security headers also on a 500; the event loop stays free while passwords are hashed and
the database is written (health answers during a blocked sign-in or write)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from fastapi.testclient import TestClient

from ifxdose.adapters import store as st
from web.conftest import PASSWORD, csrf_of, make_app
from web.live_server import NO_TLS

JSON = {"Content-Type": "application/json"}
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309"]


def _nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_non_finite_numbers_are_422_even_unauthenticated(app, bad):
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        r = anonymous.post("/api/v1/session", content=f'{{"username": {bad}, "password": "x"}}', headers=JSON)
        assert r.status_code == 422, r.text
        assert "finite" in r.json()["detail"][0]["allowed"]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/patients/RA-0001/weights", '{{"date": "2024-08-01", "weight_kg": {bad}}}'),
        ("/api/v1/patients/RA-0001/levels", '{{"date": "2024-08-01", "value_mg_l": {bad}}}'),
        ("/api/v1/patients", '{{"id": "X-1", "sex": "female", "birth_year": 1970, "baseline_tnf_pg_ml": {bad}}}'),
        ("/api/v1/patients/import", '{{"patient": {{"id": "X-2", "sex": "male", "birth_year": {bad}}}}}'),
        ("/api/v1/fhir/import", '{{"resourceType": "Bundle", "type": "collection", "total": {bad}}}'),
        ("/api/v1/patients/RA-0001/recommendations/1/decision", '{{"decision": "accept", "option_index": {bad}}}'),
    ],
)
def test_non_finite_numbers_are_422_signed_in(client, with_example, path, body, bad):
    r = client.post(path, content=body.format(bad=bad), headers=JSON)
    assert r.status_code == 422, r.text


def test_cds_bodies_with_non_finite_numbers_or_deep_nesting_are_400(app):
    with TestClient(app, raise_server_exceptions=False) as ehr:
        r = ehr.post("/cds-services/ifxdose-order-select", content='{"hook": NaN}', headers=JSON)
        assert r.status_code == 400 and "finite" in r.json()["error"]
        deep = '{"hook": "order-select", "context": ' + _nested(1000) + "}"
        r = ehr.post("/cds-services/ifxdose-order-select", content=deep, headers=JSON)
        assert r.status_code == 400 and "nested" in r.json()["error"]


def test_deep_fhir_extension_is_422(client):
    extension = {"url": "x", "valueString": "y"}
    for _ in range(300):
        extension = {"url": "x", "extension": [extension]}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "Patient", "id": "p", "extension": [extension]}}],
    }
    r = client.post("/api/v1/fhir/import", content=json.dumps(bundle), headers=JSON)
    assert r.status_code == 422 and "nested" in r.json()["detail"][0]["allowed"]


@pytest.mark.parametrize("tz", ["+99:99", "-15:00", "+14:30", "+09:60"])
def test_impossible_utc_offsets_are_422(client, with_example, tz):
    r = client.get("/api/v1/patients/RA-0001/fhir", params={"tz": tz})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "tz"


def test_an_offset_at_the_limit_is_fine(client, with_example):
    assert client.get("/api/v1/patients/RA-0001/fhir", params={"tz": "+14:00"}).status_code == 200


def test_oversized_bodies_are_refused_before_authentication(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'b.sqlite3'}", users=False, settings={"max_body_bytes": 100_000})
    with TestClient(app) as anonymous:
        big = b'{"username": "' + b"a" * 200_000 + b'", "password": "x"}'
        r = anonymous.post("/api/v1/session", content=big, headers=JSON)
        assert r.status_code == 413 and r.headers["x-frame-options"] == "DENY"
        # no Content-Length (chunked): counted while reading
        r = anonymous.post("/api/v1/session", content=iter([b"x" * 60_000, b"x" * 60_000]), headers=JSON)
        assert r.status_code == 413
        r = anonymous.post(
            "/login",
            content=iter([b"username=" + b"a" * 120_000]),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 413
    app.state.store.close()


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/patients/RA-0001/weights", {"date": "2024-08-01", "weight_kg": True}, "weight_kg"),
        ("/api/v1/patients/RA-0001/infusions", {"date": "2024-08-01", "dose_mg": True}, "dose_mg"),
        ("/api/v1/patients/RA-0001/assessments", {"date": "2024-08-01", "tjc28": True, "sjc28": 0}, "tjc28"),
        ("/api/v1/patients", {"id": "B-1", "sex": "male", "birth_year": True}, "birth_year"),
    ],
)
def test_true_is_not_a_number(client, with_example, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert len(st.patient_history(client.app.state.store, "RA-0001").weights) == 2


@pytest.mark.parametrize(
    "path, body, field",
    [
        # found by the schemathesis run: 5e-324 (the smallest float, > 0) was stored as a weight and a dose;
        # the decision engine then refused every recommendation (adult range 25-250 kg) and the page's
        # profile computed with a zero volume
        ("/api/v1/patients/RA-0001/weights", {"date": "2024-08-01", "weight_kg": 5e-324}, "weight_kg"),
        ("/api/v1/patients/RA-0001/weights", {"date": "2024-08-01", "weight_kg": 24.9}, "weight_kg"),
        ("/api/v1/patients/RA-0001/weights", {"date": "2024-08-01", "weight_kg": 250.1}, "weight_kg"),
        # an entry before the patient's birth year (the example patient: born 1968)
        ("/api/v1/patients/RA-0001/assessments", {"date": "1956-06-08", "tjc28": 3, "sjc28": 9}, "date"),
    ],
)
def test_implausible_entries_are_refused_when_written(client, with_example, path, body, field):
    """Refused at write time with the field and the allowed range, not a 422 at compute time later."""
    before = st.patient_history(client.app.state.store, "RA-0001")
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    after = st.patient_history(client.app.state.store, "RA-0001")
    assert (len(after.weights), len(after.assessments)) == (len(before.weights), len(before.assessments))


def test_adult_weights_at_the_range_ends_are_recorded(client, with_example):
    """The range's ends are allowed (the bounds are inclusive, as in the decision engine)."""
    for day, kg in (("2024-08-01", 25.0), ("2024-08-02", 250.0)):
        r = client.post("/api/v1/patients/RA-0001/weights", json={"date": day, "weight_kg": kg})
        assert r.status_code == 201, r.text


def test_the_write_time_refusals_read_in_japanese():
    from ifxdose.adapters.web.i18n.errors import localize

    assert localize("a date not before the patient's birth year (1968)", "ja") == "患者の生年（1968年）以降の日付"
    assert localize("an adult weight is 25-250 kg", "ja") == "成人の体重 25〜250 kg"


def test_true_is_not_a_number_in_an_import(client):
    history = {
        "patient": {"id": "B-2", "sex": "male", "birth_year": 1970},
        "weights": [{"date": "2024-01-01", "weight_kg": True}],
    }
    r = client.post("/api/v1/patients/import", json=history)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "weights[0].weight_kg"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/patients/RA-0001/history",
        "/api/v1/patients/RA-0001/due",
        "/api/v1/patients",
        "/api/v1/worklist",
        "/api/v1/patients/RA-0001/infusions",
        "/api/v1/patients/RA-0001/recommendations",
    ],
)
def test_patient_json_is_never_cached(client, with_example, path):
    r = client.get(path)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_a_500_carries_the_security_headers(app):
    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/boom-page")
    def boom_page():
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as c:
        for path in ("/api/v1/boom", "/boom-page"):
            r = c.get(path)
            assert r.status_code == 500
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
            assert "boom" not in r.text


# ---------------------------------------------------------------- the event loop
@pytest.fixture
def served(app):
    """The app on a real uvicorn server in this process (so a test can block a store call)."""
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/api/v1/health", timeout=1, verify=NO_TLS)
            break
        except httpx.HTTPError:
            threading.Event().wait(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def _blocked(monkeypatch, name: str) -> tuple[threading.Event, threading.Event]:
    """Make ``st.<name>`` wait until released; (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    original = getattr(st, name)

    def waiting(*args, **kwargs):
        entered.set()
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(st, name, waiting)
    return entered, release


def test_health_answers_while_a_form_sign_in_is_hashing(served, monkeypatch):
    entered, release = _blocked(monkeypatch, "authenticate")
    with httpx.Client(base_url=served, timeout=30, verify=NO_TLS) as browser:
        token = csrf_of(browser.get("/login").text)
        signing_in = threading.Thread(
            target=browser.post,
            args=("/login",),
            kwargs={"data": {"username": "doc", "password": PASSWORD, "csrf_token": token}},
        )
        signing_in.start()
        try:
            assert entered.wait(20), "the sign-in never reached the password check"
            # the sign-in is still in progress: a blocked event loop could not answer this
            assert httpx.get(f"{served}/api/v1/health", timeout=5, verify=NO_TLS).json() == {"status": "ok"}
        finally:
            release.set()
            signing_in.join(30)


def test_health_answers_while_a_form_write_waits_for_the_database(served, with_example, monkeypatch):
    with httpx.Client(base_url=served, timeout=30, verify=NO_TLS) as browser:
        token = csrf_of(browser.get("/login").text)
        browser.post("/login", data={"username": "doc", "password": PASSWORD, "csrf_token": token})
        form = browser.get("/patients/RA-0001/record/weight").text
        entered, release = _blocked(monkeypatch, "add_entries")
        writing = threading.Thread(
            target=browser.post,
            args=("/patients/RA-0001/record/weight",),
            kwargs={"data": {"csrf_token": csrf_of(form), "date": "2024-08-20", "weight_kg": "57"}},
        )
        writing.start()
        try:
            assert entered.wait(20)
            assert httpx.get(f"{served}/api/v1/health", timeout=5, verify=NO_TLS).json() == {"status": "ok"}
        finally:
            release.set()
            writing.join(30)


# ------------------------------------------------------------------ sign-in limiter
def test_thirty_concurrent_wrong_passwords_get_429s(served, app):
    attempts = app.state.settings.sign_in_attempts

    def attempt(_):
        return httpx.post(
            f"{served}/api/v1/session",
            json={"username": "doc", "password": "wrong-password"},
            timeout=60,
            verify=NO_TLS,
        ).status_code

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(30) as pool:
        codes = list(pool.map(attempt, range(30)))
    assert codes.count(401) == attempts and codes.count(429) == 30 - attempts, codes


def test_the_limit_holds_across_worker_processes(tmp_path):
    """Two apps on one database stand for two uvicorn workers: failures add up."""
    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    first = make_app(url, settings={"sign_in_attempts": 3})
    second = make_app(url, users=False, settings={"sign_in_attempts": 3})
    wrong = {"username": "doc", "password": "wrong-password"}
    with TestClient(first) as a, TestClient(second) as b:
        assert [a.post("/api/v1/session", json=wrong).status_code for _ in range(2)] == [401, 401]
        assert b.post("/api/v1/session", json=wrong).status_code == 401
        assert b.post("/api/v1/session", json=wrong).status_code == 429
        assert a.post("/api/v1/session", json=wrong).status_code == 429
    first.state.store.close()
    second.state.store.close()


def test_a_proxy_without_forwarded_for_does_not_lock_out_the_clinic(tmp_path):
    app = make_app(
        f"sqlite:///{tmp_path / 'p.sqlite3'}", settings={"sign_in_attempts": 2, "trusted_proxies": ["10.0.0.1"]}
    )
    with TestClient(app, client=("10.0.0.1", 40000)) as proxied:
        for k in range(30):  # someone guesses many user names through the proxy
            assert proxied.post("/api/v1/session", json={"username": f"user{k}", "password": "x"}).status_code == 401
        assert proxied.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).status_code == 200
        # the guessed user names themselves are limited
        assert proxied.post("/api/v1/session", json={"username": "user0", "password": "x"}).status_code == 401
        assert proxied.post("/api/v1/session", json={"username": "user0", "password": "x"}).status_code == 429
    app.state.store.close()


def test_forwarded_for_counts_only_from_a_configured_proxy(tmp_path):
    app = make_app(
        f"sqlite:///{tmp_path / 'x.sqlite3'}", settings={"sign_in_attempts": 2, "trusted_proxies": ["10.0.0.1"]}
    )
    wrong = {"username": "doc", "password": "wrong-password"}
    with TestClient(app, client=("203.0.113.7", 40000)) as attacker:
        # a spoofed header from an untrusted peer is ignored: every attempt counts for the peer
        codes = [
            attacker.post("/api/v1/session", json=wrong, headers={"X-Forwarded-For": f"198.51.100.{k}"}).status_code
            for k in range(3)
        ]
        assert codes == [401, 401, 429]
    with TestClient(app, client=("10.0.0.1", 40000)) as proxy:
        # through the proxy, another client (by its forwarded address) is not blocked
        r = proxy.post(
            "/api/v1/session",
            json={"username": "doc", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.50"},
        )
        assert r.status_code == 200
    app.state.store.close()
