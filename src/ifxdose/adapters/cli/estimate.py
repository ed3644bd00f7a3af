"""`ifxdose estimate` and `ifxdose recommend`: Bayesian drug monitoring from a history file."""

import datetime as dt
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError
from ifxdose.domain.estimation import EstimateSummary, estimate
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.recommend import Target, predict_profile, recommend

console = Console(width=150) if not Console().is_terminal else Console()
HistoryOpt = Annotated[
    Path, typer.Option("--history", help="patient history JSON (schemas/patient-history.schema.json)")
]
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


def _parameters(summary: EstimateSummary) -> list[str]:
    """``CL 0.228 L/day (0.19-0.274)``; a parameter without a random effect is ``(fixed)``."""
    out = []
    for name, p in summary.individual_parameters.items():
        interval = summary.parameter_interval(name)
        spread = f"{interval[0]:.3g}-{interval[1]:.3g}" if interval else "fixed"
        out.append(f"{name} {p.value:.4g} {p.unit} ({spread})")
    return out


def _plot(history: PatientHistory, est, path: Path, target: Target | None) -> None:
    from ifxdose.app.reports import plot_profile

    prof = predict_profile(history, model=est.model.name, est=est, target=target)
    band = (np.array(prof.lower_mg_l), np.array(prof.upper_mg_l))
    plot_profile(
        np.array(prof.time_days),
        np.array(prof.ipred_mg_l),
        path,
        f"{history.patient.id} — individual prediction ({est.model.name}) with 80% band",
        dose_days=prof.dose_days,
        observed=prof.observed,
        band=band,
        target_band_mg_l=None if target is None else (target.low_mg_l, target.high_mg_l),
    )


@app.command("estimate")
def estimate_cmd(
    history: Annotated[
        Optional[Path], typer.Option("--history", help="patient history JSON (schemas/patient-history.schema.json)")
    ] = None,
    model: Annotated[Optional[str], typer.Option(help="model name or .toml path (default: the RA default)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    plot: Annotated[Optional[Path], typer.Option(help="write a concentration-time PNG")] = None,
    seed: Annotated[int, typer.Option(help="random seed for the posterior sample")] = 0,
    data: Annotated[Optional[Path], typer.Option("--data", help="NM-TRAN data set (CSV): MAP of every subject")] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="with --data: CSV of ID, ETA1..ETAn, OFV, warnings")
    ] = None,
    workers: Annotated[Optional[int], typer.Option(help="with --data: processes (default: all cores)")] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            help="with --data: subjects as Dask tasks on 'local', 'local:N' or a scheduler address "
            "(tcp://host:8786); same results as without",
        ),
    ] = None,
) -> None:
    """Estimate the patient's own PK (MAP, Laplace, SIR) from measured levels and ADA.

    With --data NMTRAN.csv --model MODEL [--out etas.csv]: the MAP etas of every subject of an
    NM-TRAN data set (docs/model-language.md), on all cores."""
    if data is not None:
        from ifxdose.adapters.cli.batch import run_batch

        run_batch(data, model, out, workers, scheduler)
        return
    if history is None:
        raise InputError("--history", None, "a patient history file is required (or --data for an NM-TRAN data set)")
    h = load_history(history)
    est = estimate(h, model, seed=seed)
    if plot is not None:
        _plot(h, est, plot, Target.lower())
    summary = est.summary()  # the typed value a recommendation carries: what is shown is what is stored
    if as_json:
        print(summary.model_dump_json(indent=2))
        return
    fit = summary.objective
    console.print(
        f"[bold]{h.patient.id}[/bold] · model {summary.model} v{summary.model_version} · "
        f"{summary.method} · OFV {fit.ofv:.3f} (prior mode {fit.ofv_prior_mode:.3f})"
        + (f" · ESS {summary.ess:.0f} of {summary.posterior.proposals} proposals" if summary.ess else "")
    )
    console.print("Individual parameters (80% interval, Laplace): " + ", ".join(_parameters(summary)))
    t = Table(title="levels: observed vs individual prediction")
    for col in ("day", "observed mg/L", "prediction mg/L"):
        t.add_column(col, justify="right")
    for s in summary.samples:
        # below the LLOQ: censored (Beal M3), shown as "< LLOQ"
        shown = f"{s.observed_mg_l:.3g}" if not s.below_lloq else f"< {s.lloq_mg_l:g}" if s.lloq_mg_l else "< LLOQ"
        t.add_row(f"{s.day:.1f}", shown, f"{s.ipred_mg_l:.3g}")
    console.print(t)
    for w in est.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}")
    if plot is not None:
        console.print(f"plot written to {plot}")


_TEXT = {
    "en": {
        "options": "options (steady-state trough, posterior)",
        "cols": (
            "",
            "mg",
            "mg/kg (given)",
            "% mg/kg",
            "vials",
            "every (wk)",
            "median mg/L",
            "80% interval",
            "PTA",
            "JPY/year",
            "label",
        ),
        "warning": "warning",
        "next": "Next visit",
        "spread": "Predicted trough of the chosen option by RA model",
        "cite": "Citations",
        "model": "model",
        "grade": "evidence",
        "activity": "activity",
        "sample": "sample",
        "unknown": "price unknown",
        "ok": "ok",
        "target": "target",
        "action": {"infuse": "INFUSE", "stop": "STOP", "switch": "SWITCH"},
    },
    "ja": {
        "options": "選択肢（定常状態トラフ、事後分布）",
        "cols": (
            "",
            "mg",
            "mg/kg（実投与）",
            "mg/kg変化",
            "バイアル",
            "間隔（週）",
            "中央値 mg/L",
            "80%区間",
            "達成確率",
            "年間費用（円）",
            "添付文書",
        ),
        "warning": "注意",
        "next": "次回受診",
        "spread": "選択した案の予測トラフ（RAモデル別）",
        "cite": "出典",
        "model": "モデル",
        "grade": "エビデンス",
        "activity": "疾患活動性",
        "sample": "検体",
        "unknown": "薬価不明",
        "ok": "適合",
        "target": "目標",
        "action": {"infuse": "投与", "stop": "中止", "switch": "切り替え"},
    },
}
_LABEL_JA = {
    "current (whole vials)": "現行（バイアル単位）",
    "current": "現行",
    "prescribed mg/kg": "処方mg/kg",
    "recommended": "推奨",
    "more mg": "増量",
    "shorter interval": "間隔短縮",
    "label induction": "添付文書の導入",
}
_DECISION_JA = {
    "induction": "導入",
    "escalate": "増量（段階的）",
    "keep": "継続",
    "reduce": "減量",
    "stop": "中止",
    "switch": "切り替え",
    "change_mechanism": "作用機序の変更",
    "resample": "再採血",
}


@app.command("recommend")
def recommend_cmd(
    history: HistoryOpt,
    model: ModelOpt = None,
    target: Annotated[str, typer.Option(help="trough target in mg/L: '1' (lower bound) or '3-8' (window)")] = "1",
    today: Annotated[Optional[str], typer.Option(help="recommendation date, YYYY-MM-DD (default: today)")] = None,
    pta: Annotated[float, typer.Option(help="required probability of target attainment, (0, 1)")] = 0.9,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    seed: Annotated[int, typer.Option(help="random seed for the posterior sample")] = 0,
    lang: Annotated[str, typer.Option(help="language of the advice: en | ja")] = "en",
) -> None:
    """Recommend the next dose and interval: PTA, predicted trough, cost, label flags, rationale, next visit."""
    if lang not in _TEXT:
        raise InputError("--lang", lang, "allowed values are en, ja")
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
    _print_recommendation(h, rec, tgt, lang)


def _print_recommendation(h: PatientHistory, rec, tgt: Target, lang: str) -> None:
    tx = _TEXT[lang]
    ja = lang == "ja"
    target_text = tgt.text_ja() if ja else tgt.text()
    console.print(
        f"[bold]{h.patient.id}[/bold] · {rec.today} · {tx['target']} {target_text} · {tx['model']} {rec.model}"
    )
    decision = _DECISION_JA.get(rec.decision, rec.decision) if ja else rec.decision
    console.print(
        f"[bold]{tx['action'][rec.action]}[/bold] ({decision}): "
        f"{rec.rationale_ja if ja and rec.rationale_ja else rec.rationale}"
    )
    if rec.options:
        t = Table(title=tx["options"])
        for col in tx["cols"]:
            t.add_column(col, justify="right")
        for o in rec.options:
            pct = "" if o.pct_change_mg_per_kg is None else f"{o.pct_change_mg_per_kg:+.0f}%"
            cost = tx["unknown"] if o.cost_per_year_jpy is None else f"{o.cost_per_year_jpy:,}"
            label = ", ".join(_LABEL_JA.get(p, p) for p in o.label.split(", ")) if ja and o.label else o.label
            t.add_row(
                label,
                f"{o.dose_mg:.0f}",
                f"{o.dose_mg_per_kg:.2f}",
                pct,
                str(o.vials),
                f"{o.interval_weeks:g}",
                f"{o.predicted_trough_median_mg_l:.2f}",
                f"{o.predicted_trough_p10_mg_l:.2f}-{o.predicted_trough_p90_mg_l:.2f}",
                f"{o.pta:.0%}",
                cost,
                "; ".join(o.label_flags) or tx["ok"],
            )
        console.print(t)
    for w in rec.warnings_ja if ja else rec.warnings:
        console.print(f"[yellow]{tx['warning']}:[/yellow] {w}")
    if rec.next_visit is not None:
        console.print(f"[bold]{tx['next']}:[/bold]")
        for line in rec.next_visit.advice_ja if ja else rec.next_visit.advice:
            console.print(f"  - {line}")
    grade = (
        rec.model_grade.replace("parameter grades", "パラメータの根拠等級").replace("worst", "最低")
        if ja
        else rec.model_grade
    )
    console.print(f"{tx['model']}: {rec.model} · {tx['grade']}: {grade}")
    if rec.model_spread:
        console.print(
            f"{tx['spread']}: "
            + ", ".join(
                f"{m.model} {'—' if m.predicted_trough_median_mg_l is None else f'{m.predicted_trough_median_mg_l:.2f} mg/L'}"
                for m in rec.model_spread
            )
        )
    console.print(f"{tx['cite']}: " + "; ".join(rec.citations))
