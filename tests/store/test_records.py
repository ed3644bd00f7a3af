"""Recording entries, validation, recommendations, accounts and the append-only audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ifxdose.adapters.store import (
    Conflict,
    NotFound,
    add_entry,
    audit_trail,
    authenticate,
    create_patient,
    create_user,
    decide,
    import_history,
    list_patients,
    patient_history,
    recommendations,
    save_recommendation,
    stored_recommendation,
    taken_option,
)
from ifxdose.adapters.store.tables import User
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import Infusion, Level, PatientInfo, WeightEntry
from recs import make_option, make_recommendation


def _patient(store, code="P-1"):
    create_patient(store, PatientInfo(id=code, sex="female", birth_year=1970), user="tester")
    return code


def test_record_and_search(store):
    _patient(store, "DEMO-A1")
    _patient(store, "DEMO-B2")
    add_entry(store, "DEMO-A1", "weights", WeightEntry(date="2024-01-01", weight_kg=50), user="tester")
    add_entry(store, "DEMO-A1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    assert [p.code for p in list_patients(store, "a1")] == ["DEMO-A1"]
    assert [p.code for p in list_patients(store)] == ["DEMO-A1", "DEMO-B2"]
    assert list_patients(store, "%") == []  # LIKE wildcards are literal
    assert list_patients(store)[0].infusions == 1
    assert len(patient_history(store, "DEMO-A1").infusions) == 1


def test_duplicate_code_is_a_conflict(store):
    _patient(store)
    with pytest.raises(Conflict):
        _patient(store)


def test_level_before_first_infusion_names_the_date(store):
    _patient(store)
    add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    with pytest.raises(InputError) as err:
        add_entry(store, "P-1", "levels", Level(date="2023-12-01", value_mg_l=1.0), user="tester")
    assert err.value.field == "date" and "first infusion" in str(err.value)
    assert len(patient_history(store, "P-1").levels) == 0


@pytest.mark.parametrize(
    "bad",
    [
        Infusion(date="2024-01-02", dose_mg=150, lot="a\x00b"),
        Infusion(date="0001-01-01", dose_mg=150),
        Infusion(date="2024-01-02", dose_mg=150, reaction="x" * 5000),
    ],
)
def test_storage_limits_are_input_errors(store, bad):
    _patient(store)
    with pytest.raises(InputError):
        add_entry(store, "P-1", "infusions", bad, user="tester")


def test_unknown_patient(store):
    with pytest.raises(NotFound):
        add_entry(store, "NOPE", "weights", WeightEntry(date="2024-01-01", weight_kg=50), user="tester")


PAYLOAD = make_recommendation(
    option=make_option(dose_mg=200.0),
    options=[make_option(dose_mg=200.0), make_option(label="more mg", dose_mg=300.0)],
)


def test_recommendation_accept_once(store, example_history):
    import_history(store, example_history, user="tester")
    rec = save_recommendation(store, "RA-0001", PAYLOAD, example_history.model_dump(mode="json"), user="doc")
    row = decide(store, "RA-0001", rec, "accept", user="doc")
    assert row.status == "accepted" and '"current"' in row.chosen_option
    with pytest.raises(Conflict):
        decide(store, "RA-0001", rec, "override", user="doc", reason="changed my mind")
    assert recommendations(store, "RA-0001")[0].input_snapshot["patient"]["id"] == "RA-0001"


def test_a_stored_recommendation_rehydrates_to_an_equal_value(store, example_history):
    import_history(store, example_history, user="tester")
    rec = save_recommendation(store, "RA-0001", PAYLOAD, {}, user="doc")
    (row,) = recommendations(store, "RA-0001")
    assert stored_recommendation(row) == PAYLOAD
    assert taken_option(row) is None  # nothing decided yet
    decide(store, "RA-0001", rec, "override", user="doc", reason="fewer visits", option_index=1)
    (row,) = recommendations(store, "RA-0001")
    taken = taken_option(row)
    assert taken == PAYLOAD.options[1] and (taken.label, taken.dose_mg) == ("more mg", 300.0)


def test_override_needs_a_reason_and_a_valid_option(store, example_history):
    import_history(store, example_history, user="tester")
    rec = save_recommendation(store, "RA-0001", PAYLOAD, {}, user="doc")
    with pytest.raises(InputError, match="reason"):
        decide(store, "RA-0001", rec, "override", user="doc", reason="  ")
    with pytest.raises(InputError, match="option_index"):
        decide(store, "RA-0001", rec, "override", user="doc", reason="x", option_index=5)
    row = decide(store, "RA-0001", rec, "override", user="doc", reason="patient prefers fewer visits", option_index=1)
    assert row.status == "overridden" and row.decision_reason == "patient prefers fewer visits"
    with pytest.raises(NotFound):
        decide(store, "RA-0001", rec + 100, "accept", user="doc")


def test_passwords_are_argon2_hashed(store):
    create_user(store, "alice", "correct horse battery", "physician")
    with store.transaction() as s:
        stored = s.query(User).filter_by(username="alice").one().password_hash
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert authenticate(store, "alice", "correct horse battery").role == "physician"
    assert authenticate(store, "alice", "wrong password!") is None
    assert authenticate(store, "nobody", "correct horse battery") is None
    with pytest.raises(InputError):
        create_user(store, "bob", "short", "physician")
    with pytest.raises(InputError):
        create_user(store, "bob", "long enough password", "admin")


def test_every_write_is_audited_and_the_log_is_append_only(store):
    _patient(store)
    add_entry(store, "P-1", "weights", WeightEntry(date="2024-01-01", weight_kg=50), user="tester")
    trail = audit_trail(store, "P-1")
    assert [(a.action, a.entity, a.username) for a in trail] == [
        ("create", "weights", "tester"),
        ("create", "patient", "tester"),
    ]
    for statement in ("UPDATE audit_log SET username = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with store.transaction() as s:
                s.execute(text(statement))
    assert len(audit_trail(store, "P-1")) == 2
