"""Sign-in, sessions, CSRF, roles, rate limiting, settings and what reaches the logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ifxdose.adapters.web.sessions import COOKIE
from ifxdose.adapters.web.settings import WebSettings
from web.conftest import PASSWORD, csrf_of, make_app, sign_in


@pytest.mark.parametrize(
    "path", ["/patients", "/patients/RA-0001", "/patients/RA-0001/export", "/evidence", "/patients/RA-0001/record/labs"]
)
def test_pages_with_patient_data_need_sign_in(app, with_example, path):
    with TestClient(app) as anonymous:
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        assert "RA-0001" not in r.text


@pytest.mark.parametrize("path", ["/api/v1/patients", "/api/v1/patients/RA-0001/history", "/api/v1/worklist"])
def test_api_needs_sign_in(app, with_example, path):
    with TestClient(app) as anonymous:
        assert anonymous.get(path).status_code == 401


def test_form_sign_in_sets_a_hardened_cookie_and_redirects(app):
    with TestClient(app) as c:
        page = c.get("/login")
        r = c.post(
            "/login",
            data={"username": "doc", "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/evidence"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/evidence"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert c.get("/patients").status_code == 200


def test_sign_in_refuses_offsite_redirects(app):
    with TestClient(app) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post(
            "/login",
            data={"username": "doc", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
            follow_redirects=False,
        )
        assert r.headers["location"] == "/patients"


def test_wrong_password_shows_a_message_next_to_the_field(app):
    with TestClient(app) as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"username": "doc", "password": "nope", "csrf_token": token})
        assert r.status_code == 401 and 'id="err-password"' in r.text


def test_forms_without_csrf_token_are_refused(client, with_example):
    r = client.post("/patients/RA-0001/record/weight", data={"date": "2024-08-01", "weight_kg": "56"})
    assert r.status_code == 403
    del client.headers["X-CSRF-Token"]
    r = client.post("/api/v1/patients/RA-0001/weights", json={"date": "2024-08-01", "weight_kg": 56})
    assert r.status_code == 403


def test_read_only_role_cannot_write(app, with_example):
    with TestClient(app) as c:
        sign_in(c, "viewer")
        assert c.get("/api/v1/patients/RA-0001/history").status_code == 200
        assert (
            c.post("/api/v1/patients/RA-0001/weights", json={"date": "2024-08-01", "weight_kg": 56}).status_code == 403
        )
        page = c.get("/patients/RA-0001")
        assert 'data-testid="record-infusion"' not in page.text
        r = c.post(
            "/patients/RA-0001/record/weight",
            data={"date": "2024-08-01", "weight_kg": "56", "csrf_token": csrf_of(page.text)},
        )
        assert r.status_code == 403


def test_pharmacist_can_record(app, with_example):
    with TestClient(app) as c:
        sign_in(c, "pharm")
        assert (
            c.post("/api/v1/patients/RA-0001/weights", json={"date": "2024-08-01", "weight_kg": 56}).status_code == 201
        )


def test_sign_in_is_rate_limited(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'r.sqlite3'}", settings={"sign_in_attempts": 3})
    with TestClient(app) as c:
        codes = [c.post("/api/v1/session", json={"username": "doc", "password": "wrong"}).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        # even the right password waits until the window has passed
        assert c.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).status_code == 429


def test_sign_out_invalidates_the_old_cookie(client):
    old = client.cookies.get(COOKIE)
    assert client.delete("/api/v1/session").status_code == 204
    client.cookies.set(COOKIE, old)
    assert client.get("/api/v1/session").status_code == 401


def test_tampered_cookie_is_anonymous(client):
    client.cookies.set(COOKIE, client.cookies.get(COOKIE)[:-4] + "AAAA")
    assert client.get("/api/v1/patients").status_code == 401


def test_security_headers(client):
    headers = client.get("/patients").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["cache-control"] == "no-store"


@pytest.mark.parametrize("mode", ["production", "demo", "test"])
def test_settings_refuse_the_default_secret_in_every_mode(mode):
    """Only `ifxdose serve --demo` runs without a secret of one's own (it makes a random one)."""
    with pytest.raises(ValidationError, match="IFXDOSE_SECRET_KEY"):
        WebSettings(mode=mode, cds_no_token=True)
    with pytest.raises(ValidationError, match="IFXDOSE_SECRET_KEY"):
        WebSettings(mode=mode, secret_key="short", cds_no_token=True)
    assert WebSettings(mode=mode, secret_key="s" * 40, cds_token="t" * 40).mode == mode


def test_production_needs_a_cds_token_or_an_explicit_opt_out(caplog):
    with pytest.raises(ValidationError, match="IFXDOSE_CDS_TOKEN"):
        WebSettings(mode="production", secret_key="s" * 40)
    assert WebSettings(mode="production", secret_key="s" * 40, cds_no_token=True).cds_token is None
    assert WebSettings(mode="demo", secret_key="s" * 40).cds_token is None  # demo/test: no token needed


def test_clinic_time_zone_and_proxies_are_checked():
    with pytest.raises(ValidationError, match="IFXDOSE_CLINIC_TZ"):
        WebSettings(mode="test", secret_key="s" * 40, clinic_tz="Mars/Olympus")
    with pytest.raises(ValidationError, match="IFXDOSE_TRUSTED_PROXIES"):
        WebSettings(mode="test", secret_key="s" * 40, trusted_proxies=["not-an-ip"])


def test_no_patient_data_in_logs(client, with_example, caplog):
    with caplog.at_level(logging.DEBUG):
        client.get("/patients/RA-0001")
        client.post("/api/v1/patients/RA-0001/levels", json={"date": "2024-08-20", "value_mg_l": 3.25})
        client.get("/patients?q=RA-0001")
    # the app's own records (the test client's HTTP log is not the app's)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("ifxdose", "uvicorn", "sqlalchemy")))
    assert "/patients/{code}" in text
    assert "RA-0001" not in text and "3.25" not in text
