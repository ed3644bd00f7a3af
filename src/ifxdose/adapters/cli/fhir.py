"""``ifxdose fhir import|export``: FHIR R4B bundles in and out.

``export PATIENT`` takes a history JSON file or a patient code in the clinic database
(``IFXDOSE_DATABASE_URL``, default ``sqlite:///ifxdose-data/clinic.sqlite3`` as for the
app); ``import FILE --into-db`` stores the patient there: created if new; a patient
already stored is refused unless ``--merge`` (add the Bundle's entries not yet recorded,
keep every recorded one) or ``--replace`` (void every recorded entry, kept with who, when
and why, the audit keeps the replaced history; then store the Bundle's), as the API's
import. Bad input raises InputError / ValidationError, which
``ifxdose.adapters.cli.main`` prints as one line (exit code 2).
"""

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError

fhir_app = typer.Typer(help="Import a FHIR R4/R4B Bundle as a patient history, or export one.", no_args_is_help=True)
app.add_typer(fhir_app, name="fhir")

Tz = Annotated[str, typer.Option(help="Zone of the history's local times: UTC, +09:00 or Asia/Tokyo.")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Write here instead of printing.")]


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(what, str(path), f"a readable file ({exc.strerror})") from None


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")


@fhir_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="FHIR Bundle JSON.")],
    out: Out = None,
    mapping: Annotated[Optional[Path], typer.Option(help="TOML file with local codes (docs/fhir.md).")] = None,
    tz: Tz = "UTC",
    into_db: Annotated[
        bool,
        typer.Option(
            "--into-db", help="Store the patient in the clinic database (IFXDOSE_DATABASE_URL) instead of printing it."
        ),
    ] = False,
    merge: Annotated[
        bool, typer.Option("--merge", help="With --into-db: add the Bundle's new entries to a stored patient.")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="With --into-db: void a stored patient's entries (kept, audited) and store the Bundle's."
        ),
    ] = False,
) -> None:
    """Read a Bundle and print (or write) the canonical patient history JSON, or store it."""
    from ifxdose.app.exchange import load_mapping, read_bundle

    if (merge or replace) and not into_db:
        raise InputError(
            "--merge/--replace" if merge and replace else ("--merge" if merge else "--replace"),
            True,
            "only with --into-db",
        )
    if merge and replace:
        raise InputError("--merge/--replace", "both", "one of them (merge adds new entries, replace voids the old)")
    if into_db:
        _import_into_db(
            file, tz=tz, mapping=load_mapping(mapping), mode="replace" if replace else "merge" if merge else "refuse"
        )
        return
    result = read_bundle(_read(file, "bundle"), load_mapping(mapping), tz=tz)
    for line in result.skipped:
        typer.echo(f"skipped {line}", err=True)
    _write(result.history.model_dump_json(indent=2, exclude_defaults=True), out)


@fhir_app.command("export")
def export(
    patient: Annotated[
        str,
        typer.Argument(
            help="Patient history JSON (schemas/patient-history.schema.json), "
            "or a patient code in the clinic database (IFXDOSE_DATABASE_URL)."
        ),
    ],
    recommendation: Annotated[Optional[Path], typer.Option(help="Recommendation JSON to add (docs/fhir.md).")] = None,
    out: Out = None,
    tz: Tz = "UTC",
    bundle_type: Annotated[str, typer.Option("--type", help="collection | transaction.")] = "collection",
) -> None:
    """Write a patient (and a recommendation) as a validated FHIR R4B Bundle. A patient from the
    database comes with its newest accepted (else still proposed) recommendation unless one is given."""
    from ifxdose.app.exchange import history_to_bundle
    from ifxdose.domain.patient import PatientHistory

    rec = None if recommendation is None else _recommendation(_read(recommendation, "recommendation"))
    path = Path(patient)
    if path.is_file() or path.suffix == ".json" or os.sep in patient:
        history = PatientHistory.model_validate_json(_read(path, "history"))
        bundle = history_to_bundle(history, rec, tz=tz, bundle_type=bundle_type)
    else:
        bundle = _export_stored(patient, rec, tz=tz, bundle_type=bundle_type)
    _write(json.dumps(bundle, indent=2, ensure_ascii=False), out)


def _recommendation(text: str):
    """A Recommendation JSON (as ``ifxdose recommend --json`` writes it); a bad one names its field."""
    from pydantic import ValidationError

    from ifxdose.domain.recommend import Recommendation

    try:
        return Recommendation.model_validate_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(document)"
        raise InputError(f"recommendation {where}".strip(), err.get("input"), err["msg"]) from None


def _import_into_db(file: Path, *, tz: str, mapping, mode: str) -> None:
    """Store the Bundle's patient (``ifxdose.app.fhir.import_bundle``, as the API does); an
    existing one only with ``mode`` merge or replace."""
    from ifxdose.app import fhir as use_cases
    from ifxdose.app.errors import Conflict

    store = _clinic_store(create=True)
    try:
        done = use_cases.import_bundle(
            store, _read(file, "bundle"), user="cli", tz=tz, mapping=mapping, on_existing=mode
        )
    except Conflict as exc:
        if mode == "refuse" and exc.field == "patient.id":
            raise InputError(
                "patient.id",
                exc.value,
                "a patient not yet stored (it is: --merge adds the Bundle's new entries, "
                "--replace voids the recorded ones and stores the Bundle's)",
            ) from None
        typer.echo(f"error: {exc}", err=True)  # e.g. a merge with a different sex or birth year: exit 2, one line
        raise typer.Exit(2) from None
    finally:
        store.close()
    for line in done.skipped:
        typer.echo(f"skipped {line}", err=True)
    verb = {"merge": "merged into", "replace": "replaced the entries of"}
    typer.echo(f"{'created' if done.created else verb[mode]} patient {done.patient}")


def _clinic_store(*, create: bool):
    """The clinic database of ``IFXDOSE_DATABASE_URL`` (default: the app's); a missing SQLite
    file is an error unless ``create`` (export never creates a database): ``app.auth.open_clinic``."""
    from ifxdose.app.auth import open_clinic

    return open_clinic(create=create)


def _export_stored(code: str, rec, *, tz: str, bundle_type: str) -> dict:
    from ifxdose.app.errors import NotFound
    from ifxdose.app.fhir import export_patient

    store = _clinic_store(create=False)
    try:
        return export_patient(store, code, tz=tz, bundle_type=bundle_type, recommendation=rec)
    except NotFound:
        raise InputError("PATIENT", code, "a history JSON file or a patient code in the clinic database") from None
    finally:
        store.close()
