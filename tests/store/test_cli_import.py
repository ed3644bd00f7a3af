"""``ifxdose fhir import --into-db`` on a patient already stored, as the API's import (issue 13):
refused by default (exit 2, one line, nothing changed); ``--merge`` adds only the Bundle's
new entries; ``--replace`` voids (never deletes) the recorded entries and the audit keeps
the replaced history."""

from __future__ import annotations

import json

import pytest

from ifxdose.adapters import store as st
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.domain.patient import PatientHistory
from web.conftest import example_history


@pytest.fixture
def stored(tmp_path, ifxdose_cli):
    """(url, run, write_bundle): a database holding the example patient (4 infusions)."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"

    def run(*args):
        return ifxdose_cli("fhir", "import", *args, env={"IFXDOSE_DATABASE_URL": url})

    def write_bundle(history: PatientHistory, name: str = "b.json") -> str:
        path = tmp_path / name
        path.write_text(json.dumps(history_to_bundle(history)))
        return str(path)

    assert run(write_bundle(example_history()), "--into-db").returncode == 0
    return url, run, write_bundle


def _only_patient_and_one_infusion() -> PatientHistory:
    data = example_history().model_dump(mode="json")
    data.update(levels=[], labs=[], assessments=[], ada=[], mtx=[], infusions=data["infusions"][:1])
    return PatientHistory.model_validate(data)


def _stored(url: str):
    store = st.open_store(url)
    try:
        return (
            st.patient_history(store, "RA-0001"),
            st.entry_rows(store, "RA-0001", "infusions", voided=True),
            st.audit_trail(store, "RA-0001"),
        )
    finally:
        store.close()


def test_an_existing_patient_is_refused_by_default(stored):
    url, run, write_bundle = stored
    done = run(write_bundle(_only_patient_and_one_infusion()), "--into-db")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "patient.id" in done.stderr and "--merge" in done.stderr and "--replace" in done.stderr
    history, voided, _ = _stored(url)
    assert history == example_history() and voided == []


def test_merge_adds_only_new_entries(stored):
    url, run, write_bundle = stored
    data = example_history().model_dump(mode="json")
    data["infusions"].append({**data["infusions"][-1], "date": "2024-09-02T10:00:00"})
    done = run(write_bundle(PatientHistory.model_validate(data)), "--into-db", "--merge")
    assert (done.returncode, done.stdout) == (0, "merged into patient RA-0001\n"), done.stderr
    history, voided, _ = _stored(url)
    assert len(history.infusions) == 5 and len(history.levels) == len(example_history().levels) and voided == []


def test_replace_voids_and_the_audit_keeps_the_replaced_history(stored):
    url, run, write_bundle = stored
    done = run(write_bundle(_only_patient_and_one_infusion()), "--into-db", "--replace")
    assert (done.returncode, done.stdout) == (0, "replaced the entries of patient RA-0001\n"), done.stderr
    history, voided, trail = _stored(url)
    assert len(history.infusions) == 1 and history.levels == []
    assert len(voided) == 4 and all(r.void_reason and r.voided_by == "cli" for r in voided)
    replaced = PatientHistory.model_validate(trail[0].detail["replaced"])
    assert trail[0].action == "replace" and replaced == example_history()


@pytest.mark.parametrize(
    "flags", [("--merge",), ("--replace",), ("--into-db", "--merge", "--replace")], ids=["merge", "replace", "both"]
)
def test_flags_without_into_db_or_together_are_refused(stored, flags):
    _, run, write_bundle = stored
    done = run(write_bundle(example_history(), "c.json"), *flags)
    assert done.returncode == 2 and done.stderr.startswith("error: --") and done.stderr.count("\n") == 1
