"""`ifxdose estimate` and `ifxdose recommend`: Bayesian drug monitoring from a history file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.recommend import Target, predict_profile, recommend
from ifxdose.domain.tdm import estimate

console = Console(width=150) if not Console().is_terminal else Console()
HistoryOpt = Annotated[Path, typer.Option("--history", help="patient history JSON (schemas/patient-history.schema.json)")]
ModelOpt = Annotated[Optional[str], typer.Option(help="model name (default: the RA default)")]


def load_history(path: Path) -> PatientHistory:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("--history", str(path), f"a readable JSON file is required ({exc.strerror})") from None
    try:
        return PatientHistory.model_validate_json(text)
    except ValueError as exc:
        if hasattr(exc, "errors"):
            raise
        raise InputError("--history", str(path), "not valid JSON") from None


def _plot(history: PatientHistory, est, path: Path, target: Target | None) -> None:
    from ifxdose.adapters.plots import plot_profile

    prof = predict_profile(history, model=est.model.name, est=est, target=target)
    band = (np.array(prof.lower_mg_l), np.array(prof.upper_mg_l))
    plot_profile(np.array(prof.time_days), np.array(prof.ipred_mg_l), path,
                 f"{history.patient.id} — individual prediction ({est.model.name}) with 80% band",
                 dose_days=prof.dose_days, observed=prof.observed, band=band,
                 target_band_mg_l=None if target is None else (target.low_mg_l, target.high_mg_l))


@app.command("estimate")
def estimate_cmd(
    history: HistoryOpt,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    plot: Annotated[Optional[Path], typer.Option(help="write a concentration-time PNG")] = None,
    seed: Annotated[int, typer.Option(help="random seed for the posterior sample")] = 0,
) -> None:
    """Estimate the patient's own PK (MAP, Laplace, SIR) from measured levels and ADA."""
    h = load_history(history)
    est = estimate(h, model, seed=seed)
    if plot is not None:
        _plot(h, est, plot, Target.lower())
    d = est.to_dict()
    if as_json:
        print(json.dumps(d, indent=2, default=str))
        return
    console.print(f"[bold]{h.patient.id}[/bold] · model {d['model']} v{d['model_version']} · "
                  f"OFV {d['objective']['ofv']:.3f} (prior mode {d['objective']['ofv_prior_mode']:.3f})")
    console.print("Individual parameters: " + ", ".join(
        f"{k} {v['value']:.4g} {v['unit']}" for k, v in d["individual_parameters"].items()))
    t = Table(title="levels: observed vs individual prediction")
    for col in ("day", "observed mg/L", "prediction mg/L"):
        t.add_column(col, justify="right")
    for s in d["samples"]:
        obs = f"< {s['lloq_mg_l']:g}" if s["below_lloq"] else f"{s['observed_mg_l']:.3g}"
        t.add_row(f"{s['day']:.1f}", obs, f"{s['ipred_mg_l']:.3g}")
    console.print(t)
    for w in d["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if plot is not None:
        console.print(f"plot written to {plot}")


@app.command("recommend")
def recommend_cmd(
    history: HistoryOpt,
    model: ModelOpt = None,
    target: Annotated[str, typer.Option(help="trough target in mg/L: '1' (lower bound) or '3-8' (window)")] = "1",
    today: Annotated[Optional[str], typer.Option(help="recommendation date, YYYY-MM-DD (default: today)")] = None,
    pta: Annotated[float, typer.Option(help="required probability of target attainment, (0, 1)")] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    seed: Annotated[int, typer.Option(help="random seed for the posterior sample")] = 0,
) -> None:
    """Recommend the next dose and interval: PTA, predicted trough, cost, label flags, rationale."""
    h = load_history(history)
    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        raise InputError("--today", today, "expected a date YYYY-MM-DD") from None
    tgt = Target.lower(1.0) if target == "1" else Target.parse(target)
    rec = recommend(h, model=model, target=tgt, today=day, pta_threshold=pta, seed=seed)
    if as_json:
        print(rec.model_dump_json(indent=2))
        return
    console.print(f"[bold]{h.patient.id}[/bold] · {rec.today} · target {tgt.text()} · model {rec.model}")
    console.print(f"[bold]{rec.action.upper()}[/bold]: {rec.rationale}")
    if rec.options:
        t = Table(title="options (steady-state trough, posterior)")
        for col in ("", "mg", "mg/kg", "vials", "every (wk)", "median mg/L", "80% interval", "PTA", "JPY/year", "label"):
            t.add_column(col, justify="right")
        for o in rec.options:
            t.add_row(o.label, f"{o.dose_mg:.0f}", f"{o.dose_mg_per_kg:.1f}", str(o.vials), f"{o.interval_weeks:g}",
                      f"{o.predicted_trough_median_mg_l:.2f}",
                      f"{o.predicted_trough_p10_mg_l:.2f}-{o.predicted_trough_p90_mg_l:.2f}", f"{o.pta:.0%}",
                      f"{o.cost_per_year_jpy:,}", "; ".join(o.label_flags) or "ok")
        console.print(t)
    for w in rec.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    console.print("Citations: " + "; ".join(rec.citations))
