"""``ifxdose.app.auth``: the sign-in, session and account use cases the web's sign-in routes and
the CLI share (neither imports the store: an import-linter contract in pyproject.toml)."""

from __future__ import annotations

import pytest

from ifxdose.adapters import store as st
from ifxdose.app import auth, clinic
from ifxdose.app.errors import Conflict
from ifxdose.core.errors import InputError

PASSWORD = "a-long-test-password"
WINDOW_S = 900.0


def _limits(attempts: int) -> tuple[dict[str, int], list[str]]:
    return {"user:*|doc": attempts}, ["user:*|doc"]


def _actions(store) -> list[str]:
    return [row.action for row in reversed(st.audit_trail(store))]


def test_sign_in_counts_refuses_at_the_limit_and_a_success_clears_the_count(store):
    auth.create_user(store, "doc", PASSWORD, "physician", locale="en", by="test")
    limits, clears = _limits(2)
    assert auth.sign_in(store, "doc", "wrong", limits=limits, clears=clears, window_s=WINDOW_S) == (None, "failed")
    user, error = auth.sign_in(store, "doc", PASSWORD, limits=limits, clears=clears, window_s=WINDOW_S)
    assert error is None and user.username == "doc" and user.role == "physician"
    # the success cleared the count: two more attempts are allowed, the third is refused unchecked
    for _ in range(2):
        assert auth.sign_in(store, "doc", "wrong", limits=limits, clears=clears, window_s=WINDOW_S)[1] == "failed"
    assert auth.sign_in(store, "doc", PASSWORD, limits=limits, clears=clears, window_s=WINDOW_S) == (None, "too_many")
    # audited: one success, three failures; the refused attempt never reached the password check
    assert [a for a in _actions(store) if a.startswith("sign-in")] == [
        "sign-in-failed",
        "sign-in",
        "sign-in-failed",
        "sign-in-failed",
    ]


def test_accounts_sessions_and_locale(store):
    uid = auth.create_user(store, "pharm", PASSWORD, "pharmacist", locale="ja", by="test")
    with pytest.raises(Conflict):
        auth.create_user(store, "pharm", PASSWORD, "pharmacist", by="test")
    before = auth.get_user(store, uid).session_epoch
    auth.sign_out(store, uid)
    assert auth.get_user(store, uid).session_epoch == before + 1  # every cookie of the old epoch is void
    assert auth.set_locale(store, uid, "en").locale == "en"
    with pytest.raises(InputError) as err:
        auth.set_locale(store, uid, "fr")
    assert err.value.field == "locale"
    assert auth.get_user(store, 10_000) is None


def test_open_clinic_never_creates_a_database_for_an_export(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    with pytest.raises(InputError) as err:
        auth.open_clinic(url, create=False)
    assert err.value.field == "IFXDOSE_DATABASE_URL" and not (tmp_path / "missing.sqlite3").exists()
    made = auth.open_clinic(url)
    made.close()
    again = auth.open_clinic(url, create=False)  # exists now
    again.close()


def test_record_events_writes_the_audit_log(store):
    clinic.record_events(
        store, "cds-hooks", [("cds-accepted", "cds-card", {"card": "c1"}), ("cds-overridden", "cds-card", {})]
    )
    rows = [r for r in st.audit_trail(store) if r.entity == "cds-card"]
    assert sorted((r.username, r.action) for r in rows) == [
        ("cds-hooks", "cds-accepted"),
        ("cds-hooks", "cds-overridden"),
    ]
