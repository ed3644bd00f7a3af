"""``ifxdose fhir import|export``: FHIR R4B bundles in and out.

``export`` takes the patient as a history JSON file until the clinic database exists;
``export PATIENT`` by database id will be added with the clinic app. Bad input raises
InputError / ValidationError, which ``ifxdose.adapters.cli.main`` prints as one line
(exit code 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError

fhir_app = typer.Typer(help="Import a FHIR R4/R4B Bundle as a patient history, or export one.",
                       no_args_is_help=True)
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
) -> None:
    """Read a Bundle and print (or write) the canonical patient history JSON."""
    from ifxdose.adapters.fhir.importer import import_bundle
    from ifxdose.adapters.fhir.mapping import load_mapping

    result = import_bundle(_read(file, "bundle"), load_mapping(mapping), tz=tz)
    for line in result.skipped:
        typer.echo(f"skipped {line}", err=True)
    _write(result.history.model_dump_json(indent=2, exclude_defaults=True), out)


@fhir_app.command("export")
def export(
    history: Annotated[Path, typer.Argument(help="Patient history JSON (schemas/patient-history.schema.json).")],
    recommendation: Annotated[Optional[Path], typer.Option(help="Recommendation JSON to add (docs/fhir.md).")] = None,
    out: Out = None,
    tz: Tz = "UTC",
    bundle_type: Annotated[str, typer.Option("--type", help="collection | transaction.")] = "collection",
) -> None:
    """Write a patient history (and a recommendation) as a validated FHIR R4B Bundle."""
    from ifxdose.adapters.fhir.exporter import history_to_bundle
    from ifxdose.domain.patient import PatientHistory

    patient = PatientHistory.model_validate_json(_read(history, "history"))
    rec = None
    if recommendation is not None:
        try:
            rec = json.loads(_read(recommendation, "recommendation"))
        except json.JSONDecodeError as exc:
            raise InputError("recommendation", str(recommendation), f"valid JSON ({exc.msg})") from None
    bundle = history_to_bundle(patient, rec, tz=tz, bundle_type=bundle_type)
    _write(json.dumps(bundle, indent=2, ensure_ascii=False), out)
