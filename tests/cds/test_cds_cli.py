"""``ifxdose fhir export PATIENT-CODE`` from the clinic database and ``fhir import --into-db``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifxdose.adapters import store as st
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.adapters.fhir.importer import bundle_to_history
from web.conftest import example_history


@pytest.fixture
def run(ifxdose_cli):
    """``ifxdose fhir ARGS`` in-process with IFXDOSE_DATABASE_URL=url."""
    return lambda url, *args: ifxdose_cli("fhir", *args, env={"IFXDOSE_DATABASE_URL": url})


def test_export_by_patient_code(tmp_path, run):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    store = st.open_store(url)
    st.import_history(store, example_history(), user="test")
    store.close()
    done = run(url, "export", "RA-0001", "--tz", "Asia/Tokyo")
    assert done.returncode == 0, done.stderr
    assert bundle_to_history(json.loads(done.stdout), tz="Asia/Tokyo") == example_history()
    missing = run(url, "export", "RA-9999")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "RA-9999" in missing.stderr


def test_export_never_creates_a_database(tmp_path, run):
    path = tmp_path / "none.sqlite3"
    done = run(f"sqlite:///{path}", "export", "RA-0001")
    assert done.returncode == 2 and "IFXDOSE_DATABASE_URL" in done.stderr and not path.exists()


def test_import_into_db_then_merge(tmp_path, run):
    url = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps(history_to_bundle(example_history())))
    first = run(url, "import", str(bundle), "--into-db")
    second = run(url, "import", str(bundle), "--into-db", "--merge")
    assert (first.returncode, first.stdout, second.stdout) == (
        0,
        "created patient RA-0001\n",
        "merged into patient RA-0001\n",
    ), first.stderr
    store = st.open_store(url)
    assert st.patient_history(store, "RA-0001") == example_history()
    store.close()


def test_history_file_still_works(tmp_path, run):
    example = Path(__file__).parents[2] / "examples" / "history_label_55kg.json"
    done = run(f"sqlite:///{tmp_path / 'unused.sqlite3'}", "export", str(example))
    assert done.returncode == 0 and bundle_to_history(json.loads(done.stdout)) == example_history()
    assert not (tmp_path / "unused.sqlite3").exists()
