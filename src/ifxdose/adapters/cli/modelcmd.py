"""`ifxdose model check FILE` and `ifxdose model import-nonmem RUN.mod --out MODEL.toml`."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from ifxdose.adapters.cli import app
from ifxdose.core.errors import InputError

model_app = typer.Typer(
    help="Model files: check one in the general language, import a NONMEM control stream.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
console = Console()


@model_app.command("check")
def check_cmd(path: Annotated[str, typer.Argument(help="model .toml path or name")]) -> None:
    """Load a model (library format or general language) and print what it declares and the engine chosen."""
    from ifxdose.domain.modelfiles import as_general, load_model

    m = as_general(load_model(path))
    console.print(f"[bold]{m.name}[/bold]: {m.title}")
    console.print(f"compartments: {', '.join(m.compartments)} · engine: {m.engine}")
    console.print(f"covariates: {', '.join(m.covariates) or 'none'}")
    console.print(
        f"random effects: {', '.join(m.eta_names) or 'none'}"
        + (f"; per occasion: {', '.join(m.kappa_names)}" if m.kappa_names else "")
    )
    console.print("outputs: " + "; ".join(f"{o.name} (CMT {o.cmt or 'any'}, {o.scale} scale)" for o in m.outputs))


@model_app.command("import-nonmem")
def import_nonmem_cmd(
    control_stream: Annotated[Path, typer.Argument(help="NONMEM control stream (.mod/.ctl)")],
    out: Annotated[Optional[Path], typer.Option("--out", help="write the model TOML here (default: print)")] = None,
) -> None:
    """Translate a NONMEM control stream (ADVAN1-4 with TRANS2/4, $DES) into the general language."""
    from ifxdose.domain.nonmem_import import import_control_stream

    try:
        text = control_stream.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            "control stream", str(control_stream), f"a readable file is required ({exc.strerror})"
        ) from None
    toml_text, notes = import_control_stream(text, control_stream.stem)
    if out is None:
        print(toml_text)
    else:
        out.write_text(toml_text, encoding="utf-8")
        console.print(f"model written to {out}")
    for n in notes:
        console.print(f"[yellow]note:[/yellow] {n}")
