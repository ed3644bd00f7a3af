"""``ifxdose advise`` and ``ifxdose regimen check|cost|calendar``: dosing on the command line.

Each command parses its options, calls one domain function and renders a table or, with
``--json``, JSON. Bad input raises InputError / ValidationError, which
``ifxdose.adapters.cli.main`` turns into one line on stderr and exit code 2.
"""

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError
from ifxdose.domain.dosing import calendar, cost, label
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.policies import get_policy, list_policies

regimen_app = typer.Typer(
    help="Check a regimen against the label, cost it, or lay out its calendar.", no_args_is_help=True
)
app.add_typer(regimen_app, name="regimen")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
Rules = Annotated[str, typer.Option(help="Label rule set: jp | us.")]
RegimenText = Annotated[str, typer.Argument(help="Regimen, e.g. '3 mg/kg at weeks 0,2,6 then every 8 weeks'.")]
WeightKg = Annotated[float, typer.Option(help="Body weight, kg (0-350).")]
HorizonWeeks = Annotated[Optional[float], typer.Option(help="List doses up to this week (needed if open-ended).")]


def _date(field: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(field, text, "expected an ISO date YYYY-MM-DD") from None


def _horizon_days(weeks: float | None) -> float | None:
    return None if weeks is None else weeks * 7.0


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _rows(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        typer.echo(f"{title}: none")
        return
    table = Table(*rows[0].keys(), title=title)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    Console().print(table)


def _load_history(path: Path) -> PatientHistory:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("history", str(path), f"a readable JSON file ({exc.strerror})") from None
    return PatientHistory.model_validate_json(text)


@app.command()
def advise(
    policy: Annotated[str, typer.Option(help="Policy name: " + ", ".join(list_policies()) + ".")],
    history: Annotated[Path, typer.Option(help="Patient history JSON (schemas/patient-history.schema.json).")],
    today: Annotated[Optional[str], typer.Option(help="Decision date, YYYY-MM-DD (default: today).")] = None,
    rules: Rules = "jp",
    as_json: Json = False,
) -> None:
    """Advise the next infusion (or stop/switch) for a patient under a policy."""
    decision = get_policy(policy, rules=label.load_rules(rules).key).decide(
        _load_history(history), _date("today", today) or date.today()
    )
    if as_json:
        _print_json(decision.model_dump(mode="json"))
        return
    data = decision.model_dump(mode="json", exclude={"flags", "citations"})
    _rows(f"ifxdose advise --policy {policy}", [{"field": k, "value": v} for k, v in data.items()])
    _rows("citations", [{"citation": c} for c in decision.citations])
    _rows("flags", [f.model_dump(mode="json", exclude={"infusions"}) for f in decision.flags])


@regimen_app.command("check")
def regimen_check(
    regimen: RegimenText,
    weight_kg: WeightKg,
    rules: Rules = "jp",
    horizon_weeks: HorizonWeeks = None,
    as_json: Json = False,
) -> None:
    """Check every dose against the label (dose ceiling, shortest interval, JP shortened-interval limit)."""
    flags = label.check_regimen(parse_regimen(regimen), weight_kg, rules, horizon_days=_horizon_days(horizon_weeks))
    if as_json:
        _print_json(
            {
                "regimen": regimen,
                "rules": rules,
                "ok": not any(f.severity == "violation" for f in flags),
                "flags": [f.model_dump(mode="json") for f in flags],
            }
        )
        return
    _rows(f"{label.load_rules(rules).name}: {regimen}", [f.model_dump(mode="json") for f in flags])


@regimen_app.command("cost")
def regimen_cost(
    regimen: RegimenText,
    weight_kg: WeightKg,
    horizon_weeks: HorizonWeeks = None,
    product: Annotated[str, typer.Option(help="Product in the price table.")] = "Remicade",
    currency: Annotated[str, typer.Option(help="Currency in the price table.")] = "JPY",
    on: Annotated[Optional[str], typer.Option(help="Price date, YYYY-MM-DD (default: latest).")] = None,
    rounding: Annotated[str, typer.Option(help="Vial rounding: up | nearest.")] = "up",
    tolerance_pct: Annotated[float, typer.Option(help="Tolerance for 'nearest', % of the dose.")] = 10.0,
    as_json: Json = False,
) -> None:
    """Vials, waste and cost per infusion, first year, mean per year and total."""
    result = cost.regimen_cost(
        parse_regimen(regimen),
        weight_kg,
        horizon_days=_horizon_days(horizon_weeks),
        product=product,
        on=_date("on", on),
        currency=currency,
        rounding=rounding,
        tolerance_pct=tolerance_pct,
    )  # type: ignore[arg-type]
    if as_json:
        _print_json(result.model_dump(mode="json"))
        return
    _rows(f"{regimen} at {weight_kg:g} kg", [r.model_dump(mode="json") for r in result.infusions])
    summary = result.model_dump(mode="json", exclude={"infusions"})
    _rows("summary", [{"field": k, "value": v} for k, v in summary.items()])


@regimen_app.command("calendar")
def regimen_calendar(
    regimen: RegimenText,
    start: Annotated[str, typer.Option(help="Date of the first infusion, YYYY-MM-DD.")],
    horizon_weeks: HorizonWeeks = None,
    mtx: Annotated[bool, typer.Option("--mtx-aspire", help="Add the ASPIRE MTX titration (S7).")] = False,
    as_json: Json = False,
) -> None:
    """Infusion dates with their allowed windows (and optionally the ASPIRE MTX titration)."""
    first = _date("start", start)
    assert first is not None
    rows = calendar.infusion_calendar(parse_regimen(regimen), first, horizon_days=_horizon_days(horizon_weeks))
    steps = calendar.mtx_titration(first) if mtx else []
    if as_json:
        _print_json(
            {"infusions": [r.model_dump(mode="json") for r in rows], "mtx": [s.model_dump(mode="json") for s in steps]}
        )
        return
    _rows(f"{regimen} from {first}", [r.model_dump(mode="json") for r in rows])
    if mtx:
        _rows("MTX titration (ASPIRE, S7)", [s.model_dump(mode="json") for s in steps])
