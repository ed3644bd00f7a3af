"""`ifxdose models` and `ifxdose simulate`: the PK engine from the command line."""

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError
from ifxdose.core.pk.covariates import COVARIATES
from ifxdose.domain.modelfiles import default_model_name, list_models
from ifxdose.domain.modelfiles import load_library_model as load_model
from ifxdose.domain.simulation import infusion_metrics, simulate

console = Console()
models_app = typer.Typer(help="The population-PK model library.", invoke_without_command=True)
app.add_typer(models_app, name="models")


def model_summary(name: str) -> dict:
    m = load_model(name)
    return {
        "name": m.name,
        "title": m.title,
        "structure": m.structure,
        "routes": list(m.routes),
        "covariates": list(m.covariates),
        "default_for_ra": name == default_model_name(),
        "citation": m.citation,
    }


def model_detail(name: str) -> dict:
    m = load_model(name)
    return {
        **model_summary(name),
        "population": m.population,
        "concentration": m.concentration,
        "version": m.version,
        "parameters": {k: asdict(v) for k, v in m.parameters.items()},
        "covariate_effects": [asdict(e) for e in m.covariate_effects],
        "random_effects": {
            "parameters": list(m.eta_parameters),
            "omega": m.omega.tolist(),
            "scale": "log-normal (variance of eta)",
            "grade": m.omega_grade,
        },
        "residual_error": {
            "additive_mg_l": m.residual_additive_mg_l,
            "proportional": m.residual_proportional,
            "grade": m.residual_grade,
        },
        "notes": list(m.notes),
        "assumptions": list(m.assumptions),
    }


@models_app.callback()
def models(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False) -> None:
    """List the models in the library."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [model_summary(n) for n in list_models()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="ifxdose model library")
    for col in ("name", "structure", "routes", "covariates", "title"):
        table.add_column(col)
    for r in rows:
        name = r["name"] + (" (default RA)" if r["default_for_ra"] else "")
        table.add_row(name, r["structure"], ",".join(r["routes"]), ", ".join(r["covariates"]), r["title"])
    console.print(table)


@models_app.command("show")
def models_show(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Show one model: parameters with grade and source, covariates, variability, assumptions."""
    d = model_detail(name)
    if as_json:
        print(json.dumps(d, indent=2))
        return
    console.print(f"[bold]{d['name']}[/bold]: {d['title']}\n{d['citation']}\nPopulation: {d['population']}")
    t = Table(title="parameters (typical values)")
    for col in ("parameter", "value", "unit", "grade", "source"):
        t.add_column(col)
    for k, v in d["parameters"].items():
        t.add_row(k, f"{v['value']:g}", v["unit"], v["grade"], v["source"])
    console.print(t)
    c = Table(title="covariate effects")
    for col in ("parameter", "covariate", "form", "theta", "reference", "grade"):
        c.add_column(col)
    for e in d["covariate_effects"]:
        c.add_row(e["parameter"], e["covariate"], e["form"], f"{e['theta']:g}", f"{e['reference']:g}", e["grade"])
    console.print(c)
    re_ = d["random_effects"]
    console.print(
        f"Random effects on {', '.join(re_['parameters'])} (omega diag {np.diag(re_['omega']).round(4).tolist()}, grade {re_['grade']})"
    )
    r = d["residual_error"]
    console.print(
        f"Residual error: additive {r['additive_mg_l']:g} mg/L + proportional {r['proportional']:g} (grade {r['grade']})"
    )
    for a in d["assumptions"]:
        console.print(f"[yellow]Assumption:[/yellow] {a}")


def parse_covariates(weight_kg: float, items: list[str]) -> dict:
    """`--cov NAME=VALUE` (constant) or `NAME=VALUE@DAY` (from that day); repeated.

    A 0/1 indicator given only from a later day is off before it (`ada=1@140`: negative until
    day 140); any other covariate takes its first value before its first day (DESIGN.md).
    """
    series: dict[str, list[tuple[float, float]]] = {"weight_kg": [(0.0, weight_kg)]}
    constant: dict[str, float] = {}
    for item in items:
        try:
            name, rest = item.split("=", 1)
            value_s, _, day_s = rest.partition("@")
            value = float(value_s)
            day = float(day_s) if day_s else None
        except ValueError:
            raise InputError("--cov", item, "expected NAME=VALUE or NAME=VALUE@DAY, e.g. ada=1@140") from None
        if name not in COVARIATES:
            raise InputError("covariate", name, f"known covariates are {', '.join(sorted(COVARIATES))}")
        if day is None:
            constant[name] = value
        else:
            series.setdefault(name, []).append((day, value))
    out: dict = {}
    for name, pairs in series.items():
        if name in constant:
            raise InputError("--cov", name, "give either a constant value or values from days, not both")
        pairs = sorted(pairs)
        if COVARIATES[name].binary and pairs[0][0] > 0:
            pairs = [(0.0, 0.0), *pairs]
        out[name] = pairs[0][1] if len(pairs) == 1 else pairs
    return {**out, **constant}


def _times(at_days: Optional[str], every_days: Optional[float], until_day: Optional[float]) -> Optional[np.ndarray]:
    if at_days:
        try:
            return np.array([float(x) for x in at_days.split(",")])
        except ValueError:
            raise InputError("--at-days", at_days, "expected comma-separated days, e.g. 0,14,42") from None
    if every_days is not None or until_day is not None:
        if every_days is None or until_day is None:
            raise InputError("--every-days", every_days, "--every-days and --until-day go together")
        if every_days <= 0 or until_day < 0:
            raise InputError("--every-days", every_days, "allowed range is (0, inf) days, with --until-day >= 0")
        return np.arange(0.0, until_day + 1e-9, every_days)
    return None


@app.command("simulate")
def simulate_cmd(
    regimen: Annotated[
        str, typer.Option(help="regimen, e.g. '3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54'")
    ],
    weight_kg: Annotated[float, typer.Option(help="body weight in kg, (0, 350]")],
    model: Annotated[str, typer.Option(help="model name (ifxdose models)")] = "",
    cov: Annotated[list[str], typer.Option("--cov", help="covariate NAME=VALUE or NAME=VALUE@DAY (repeat)")] = [],  # noqa: B006
    at_days: Annotated[Optional[str], typer.Option(help="sample days, comma-separated")] = None,
    every_days: Annotated[Optional[float], typer.Option(help="grid step in days")] = None,
    until_day: Annotated[Optional[float], typer.Option(help="grid end day")] = None,
    engine: Annotated[str, typer.Option(help="auto | closed-form | ode")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    plot: Annotated[Optional[Path], typer.Option(help="write a concentration-time PNG")] = None,
) -> None:
    """Simulate a regimen for one typical patient of a model."""
    if not (0 < weight_kg <= 350):
        raise InputError("--weight-kg", weight_kg, "allowed range is (0, 350] kg")
    model = model or default_model_name()
    covariates = parse_covariates(weight_kg, cov)
    times = _times(at_days, every_days, until_day)
    res = simulate(model, regimen, covariates, times, engine=engine)
    per_infusion = infusion_metrics(model, regimen, covariates, horizon_days=float(res.time_days[-1]))
    if plot is not None:
        from ifxdose.app.reports import plot_profile

        dense = res if times is None else simulate(model, regimen, covariates, None, engine=engine)
        plot_profile(
            dense.time_days,
            dense.concentration_mg_l,
            plot,
            f"{res.regimen} — {model}, {weight_kg:g} kg",
            dose_days=[d.time_days for d in res.doses],
        )
    if as_json:
        print(json.dumps({**res.to_dict(), "infusions": [r.to_dict() for r in per_infusion]}, indent=2))
        return
    p = res.parameters[0]
    console.print(f"[bold]{res.model}[/bold] · {res.regimen} · {weight_kg:g} kg")
    console.print(
        "Parameters: " + ", ".join(f"{k} {v['value']:.4g} {v['unit']}" for k, v in p.items() if k != "from_day")
    )
    if res.assumed_covariates:
        console.print(
            "[yellow]Assumed (model reference) covariates:[/yellow] "
            + ", ".join(f"{k}={v:g}" for k, v in res.assumed_covariates.items())
        )
    table = Table(title="per infusion")
    for col in ("#", "week", "dose mg", "peak mg/L", "trough mg/L (pre-next)"):
        table.add_column(col, justify="right")
    for r in per_infusion:
        table.add_row(
            str(r.number),
            f"{r.week:g}",
            f"{r.dose_mg:.0f}",
            f"{r.peak_mg_l:.1f}",
            f"{r.trough_mg_l:.3g}",
        )
    console.print(table)
    if times is not None:
        t = Table(title="concentrations")
        t.add_column("day", justify="right")
        t.add_column("mg/L", justify="right")
        for d, c in zip(res.time_days, res.concentration_mg_l):
            t.add_row(f"{d:g}", f"{c:.4g}")
        console.print(t)
    if plot is not None:
        console.print(f"plot written to {plot}")
