"""`ifxdose demo`: a first look at the engine without a patient file (the clinic app,
``ifxdose serve``, is where patients are followed).

Simulates the Japanese label regimen (seed S0) for a 55 kg patient on MTX with the
default RA model, prints troughs and peaks per infusion, and writes a PNG.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.domain.modelfiles import default_model_name
from ifxdose.domain.simulation import infusion_metrics, simulate

LABEL_REGIMEN = "3 mg/kg at weeks 0,2,6 then every 8 weeks until week 54"  # seed S0 (Remicade label, Japan)


@app.command("demo")
def demo(
    out_dir: Annotated[Path, typer.Option(help="where to write the PNG")] = Path("out"),
    weight_kg: Annotated[float, typer.Option(help="body weight, kg")] = 55.0,
) -> None:
    """Simulate the Japanese label regimen for a 55 kg RA patient on MTX."""
    from ifxdose.app.reports import plot_profile  # matplotlib: the [plot] extra

    console = Console()
    model = default_model_name()
    cov = {"weight_kg": weight_kg, "mtx": 1.0}
    rows = infusion_metrics(model, LABEL_REGIMEN, cov)
    res = simulate(model, LABEL_REGIMEN, cov)
    table = Table(title=f"{LABEL_REGIMEN} · {weight_kg:g} kg · MTX · model {model}")
    for col in ("#", "week", "dose mg", "peak mg/L (end of infusion)", "trough mg/L (before next)"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r.number),
            f"{r.week:g}",
            f"{r.dose_mg:.0f}",
            f"{r.peak_mg_l:.1f}",
            f"{r.trough_mg_l:.2f}",
        )
    console.print(table)
    if res.assumed_covariates:
        console.print(
            "Assumed model-reference covariates: " + ", ".join(f"{k}={v:g}" for k, v in res.assumed_covariates.items())
        )
    if res.unused_covariates:
        console.print("Not used by this model: " + ", ".join(res.unused_covariates))
    png = plot_profile(
        res.time_days,
        res.concentration_mg_l,
        out_dir / "label_55kg.png",
        f"Japanese label regimen, {weight_kg:g} kg, MTX — {model}",
        dose_days=[d.time_days for d in res.doses],
        target_band_mg_l=(1.0, 8.0),
    )
    console.print(f"Concentration-time plot: {png}")
