"""Corrections without loss (SQLite and PostgreSQL): void and amend keep every row, with who,
when and why; the audit keeps before and after; write-time checks (future dates, repeated
entries, two infusions on one day) name the field; a repeated request id writes once;
imports merge, refuse, or replace (voiding, never deleting) with the replaced history audited."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ifxdose.adapters.store import (
    Conflict,
    add_entries,
    add_entry,
    amend_entry,
    audit_trail,
    create_patient,
    entry_rows,
    import_history,
    patient_history,
    void_entry,
)
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import Infusion, Level, PatientHistory, PatientInfo, WeightEntry


def _patient(store, code="P-1"):
    create_patient(store, PatientInfo(id=code, sex="female", birth_year=1970), user="tester")
    add_entry(store, code, "weights", WeightEntry(date="2024-01-01", weight_kg=50), user="tester")
    return code


def _count(store, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_void_keeps_the_row_and_leaves_it_out_of_the_history(store):
    _patient(store)
    first = add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    with pytest.raises(InputError) as err:
        void_entry(store, "P-1", "infusions", first, user="doc", reason="  ")
    assert err.value.field == "reason"
    void_entry(store, "P-1", "infusions", first, user="doc", reason="entered for the wrong patient")
    assert patient_history(store, "P-1").infusions == []
    assert _count(store, "infusions") == 1  # nothing deleted
    (row,) = entry_rows(store, "P-1", "infusions", voided=True)
    assert (row.voided_by, row.void_reason) == ("doc", "entered for the wrong patient")
    last = audit_trail(store, "P-1")[0]
    assert (last.action, last.username, last.detail["before"]["dose_mg"]) == ("void", "doc", 150)
    with pytest.raises(Conflict):
        void_entry(store, "P-1", "infusions", first, user="doc", reason="again")


def test_amend_voids_the_old_row_and_audits_before_and_after(store):
    _patient(store)
    old = add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    new = amend_entry(
        store, "P-1", "infusions", old, Infusion(date="2024-01-02", dose_mg=300), user="doc", reason="dose mistyped"
    )
    assert [i.dose_mg for i in patient_history(store, "P-1").infusions] == [300]
    (voided,) = entry_rows(store, "P-1", "infusions", voided=True)
    (current,) = entry_rows(store, "P-1", "infusions")
    assert (voided.id, current.id, current.amends_id) == (old, new, old)
    detail = audit_trail(store, "P-1")[0].detail
    assert (detail["before"]["dose_mg"], detail["after"]["dose_mg"], detail["reason"]) == (150, 300, "dose mistyped")


def test_an_amendment_that_breaks_the_history_changes_nothing(store):
    _patient(store)
    inf = add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    add_entry(store, "P-1", "levels", Level(date="2024-02-01", value_mg_l=3.0), user="tester")
    with pytest.raises(InputError):  # the level would precede the first infusion
        amend_entry(store, "P-1", "infusions", inf, Infusion(date="2024-03-01", dose_mg=150), user="doc", reason="date")
    assert [str(i.date) for i in patient_history(store, "P-1").infusions] == ["2024-01-02"]
    assert entry_rows(store, "P-1", "infusions", voided=True) == []


def test_write_time_checks_name_the_field(store):
    _patient(store)
    add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    cases = [
        (Infusion(date="2024-01-02", dose_mg=150), "already recorded"),  # a double-clicked Save
        (Infusion(date="2024-01-02T15:00", dose_mg=200), "one infusion per day"),  # overlapping infusion
        (Infusion(date="2024-09-01", dose_mg=150), "not after today (2024-08-26)"),  # in the future
    ]
    for entry, message in cases:
        with pytest.raises(InputError) as err:
            add_entries(
                store,
                "P-1",
                [("infusions", entry, None)],
                user="tester",
                today=__import__("datetime").date(2024, 8, 26),
            )
        assert err.value.field == "date" and message in str(err.value)
    assert len(patient_history(store, "P-1").infusions) == 1


def test_a_repeated_request_id_writes_once(store):
    _patient(store)
    entry = [("infusions", Infusion(date="2024-01-02", dose_mg=150), None)]
    first = add_entries(store, "P-1", entry, user="tester", request_id="form-0123456789")
    again = add_entries(store, "P-1", entry, user="tester", request_id="form-0123456789")
    assert first == again and len(patient_history(store, "P-1").infusions) == 1


def _history(**entries) -> PatientHistory:
    return PatientHistory.model_validate({"patient": {"id": "P-1", "sex": "female", "birth_year": 1970}, **entries})


def test_import_refuses_by_default_and_merges_on_request(store):
    _patient(store)
    add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    only_patient = _history()
    with pytest.raises(Conflict):
        import_history(store, only_patient, user="tester")
    import_history(store, only_patient, user="tester", on_existing="merge")  # adds nothing, removes nothing
    assert len(patient_history(store, "P-1").infusions) == 1
    more = _history(infusions=[{"date": "2024-01-02", "dose_mg": 150}, {"date": "2024-01-16", "dose_mg": 150}])
    import_history(store, more, user="tester", on_existing="merge")
    assert [str(i.date) for i in patient_history(store, "P-1").infusions] == ["2024-01-02", "2024-01-16"]
    assert audit_trail(store, "P-1")[0].detail["added"]["infusions"] == 1
    with pytest.raises(Conflict):  # a different birth year is not merged silently
        import_history(
            store,
            PatientHistory.model_validate({"patient": {"id": "P-1", "sex": "female", "birth_year": 1971}}),
            user="tester",
            on_existing="merge",
        )


def test_replace_voids_and_the_audit_keeps_the_replaced_history(store):
    _patient(store)
    add_entry(store, "P-1", "infusions", Infusion(date="2024-01-02", dose_mg=150), user="tester")
    add_entry(store, "P-1", "levels", Level(date="2024-02-01", value_mg_l=3.0), user="tester")
    import_history(store, _history(), user="doc", replace=True)
    history = patient_history(store, "P-1")
    assert history.infusions == [] and history.levels == [] and history.weights == []
    assert _count(store, "infusions") == 1 and _count(store, "levels") == 1  # kept, voided
    replaced = audit_trail(store, "P-1")[0].detail["replaced"]
    assert replaced["infusions"][0]["dose_mg"] == 150 and replaced["levels"][0]["value_mg_l"] == 3.0
