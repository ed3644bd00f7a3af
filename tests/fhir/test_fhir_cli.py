"""``ifxdose fhir import|export``: files in and out, exit code 2 with one line on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ifxdose.adapters.fhir.importer import bundle_to_recommendation
from ifxdose.domain.patient import PatientHistory
from recs import make_recommendation

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
EXAMPLE = ROOT / "examples" / "history_label_55kg.json"


@pytest.fixture
def run(ifxdose_cli):
    """``ifxdose fhir ARGS`` in-process (exit code, stdout, stderr)."""
    return lambda *args: ifxdose_cli("fhir", *args)


def test_export_then_import_gives_the_history_back(tmp_path, run):
    bundle, history = tmp_path / "b.json", tmp_path / "h.json"
    rec = tmp_path / "rec.json"
    rec.write_text(make_recommendation().model_dump_json())  # as `ifxdose recommend --json` writes it
    assert (
        run("export", str(EXAMPLE), "--recommendation", str(rec), "--out", str(bundle), "--tz", "+09:00").returncode
        == 0
    )
    done = run("import", str(bundle), "--out", str(history), "--tz", "+09:00")
    assert done.returncode == 0, done.stderr
    assert PatientHistory.model_validate_json(history.read_text()) == PatientHistory.model_validate_json(
        EXAMPLE.read_text()
    )
    assert "MedicationRequest/recommendation-1" in done.stderr  # skipped lines go to stderr
    assert bundle_to_recommendation(bundle.read_text()).chosen.dose_mg == 165


def test_import_prints_the_history_with_a_local_mapping(run):
    done = run(
        "import",
        str(HERE / "data" / "hospital_bundle.json"),
        "--mapping",
        str(HERE / "data" / "local_codes.toml"),
        "--tz",
        "Asia/Tokyo",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ada"][0]["result"] == "positive"


def test_bad_unit_exits_2_with_one_line(tmp_path, run):
    bundle = json.loads((HERE / "data" / "hospital_bundle.json").read_text())
    for entry in bundle["entry"]:
        if entry["resource"].get("id") == "alb1":
            entry["resource"]["valueQuantity"].update(unit="mmol/L", code="mmol/L")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bundle))
    done = run("import", str(path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: Observation/alb1 valueQuantity.code: 'mmol/L'")


def test_missing_file_and_bad_zone_exit_2(tmp_path, run):
    for args in (
        ("import", str(tmp_path / "none.json")),
        ("export", str(EXAMPLE), "--tz", "Mars/Olympus"),
        ("export", str(EXAMPLE), "--type", "batch"),
    ):
        done = run(*args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, (args, done.stderr)
