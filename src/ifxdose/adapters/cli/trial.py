"""``ifxdose trial list|run|calibrate``: replicate the seed's trials on virtual populations.

``run NAME`` (or ``all``) prints, per trial, every modelled quantity: published value,
simulated median and 95 % interval over replicates, and whether the published value is
inside. ``--report DIR`` writes PNG/SVG plots and one HTML report. Bad input (unknown
trial, n <= 0) raises InputError: one line, exit 2 (``ifxdose.adapters.cli.main``).
"""

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.app.scale import emcee_pool, executor, parse_scheduler
from ifxdose.core.errors import InputError
from ifxdose.domain.trials import get_trial, load_models, run_trial, trial_names
from ifxdose.domain.trials.runner import (
    DEFAULT_REPLICATES,
    MIN_REPLICATES_FOR_95,
    TrialResult,
    replicate_interval_coverage,
)

console = Console()
trial_app = typer.Typer(
    help="Replicate the seed's trials (arms, policies, published vs simulated).", no_args_is_help=True
)
app.add_typer(trial_app, name="trial")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@trial_app.command("list")
def trial_list(as_json: Json = False) -> None:
    """The trials that can be run, with their arms and sizes."""
    rows = []
    for name in trial_names():
        t = get_trial(name)
        rows.append(
            {
                "name": name,
                "title": t.title,
                "arms": {a.name: t.arm_n(a) for a in t.arms},
                "quantities": len(t.quantities),
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="ifxdose trials")
    for col in ("name", "title", "arms (n)", "quantities"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"], r["title"], ", ".join(f"{k} ({v})" for k, v in r["arms"].items()), str(r["quantities"])
        )
    console.print(table)


def _fmt(x) -> str:
    return "—" if x is None else (f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}")


def _print_result(res: TrialResult) -> None:
    s = res.summary()
    table = Table(
        title=f"{res.trial.title} — {s['inside']}/{s['compared']} published values inside the 95% interval "
        f"({res.replicates} replicates, seed {res.seed})"
        + (
            ""
            if res.replicates >= MIN_REPLICATES_FOR_95
            else f" — with fewer than {MIN_REPLICATES_FOR_95} replicates the interval is their range "
            f"(expected coverage {100 * replicate_interval_coverage(res.replicates):.0f} %)"
        )
    )
    for col in ("quantity", "arm", "role", "published", "median", "95% interval", "inside"):
        table.add_column(col, overflow="fold")
    for r in res.rows():
        interval = (
            "—" if r["simulated_low95"] is None else f"{_fmt(r['simulated_low95'])}–{_fmt(r['simulated_high95'])}"
        )
        table.add_row(
            r["quantity"],
            r["arm"] or "",
            r["role"],
            r["published"] or "—",
            _fmt(r["simulated_median"]),
            interval,
            {True: "yes", False: "[red]no[/red]", None: "—"}[r["inside_95"]],
        )
    console.print(table)


@trial_app.command("run")
def trial_run(
    name: Annotated[str, typer.Argument(help="A trial name from 'ifxdose trial list', or 'all'.")],
    n: Annotated[Optional[int], typer.Option("--n", help="Patients per arm (default: the trial's arm sizes).")] = None,
    replicates: Annotated[
        int,
        typer.Option(
            "--replicates",
            help=f"Replicates of the whole trial (a 95 % interval needs at least {MIN_REPLICATES_FOR_95}; see docs/trials.md).",
        ),
    ] = DEFAULT_REPLICATES,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (results are deterministic for a seed).")] = 0,
    report: Annotated[
        Optional[Path], typer.Option("--report", help="Folder for PNG/SVG plots and trials.html.")
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            help="Run replicates as Dask tasks: 'local', 'local:N' (N worker processes) or a "
            "scheduler address (tcp://host:8786). Same results as without.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Run a trial's arms with replicates and compare with the published values."""
    names = trial_names() if name == "all" else [name]
    for x in names:
        get_trial(x)  # unknown name -> InputError before any work
    if n is not None and n <= 0:
        raise InputError("n", n, "allowed range is [1, inf) patients per arm")
    if replicates <= 0:
        raise InputError("replicates", replicates, "allowed range is [1, inf)")
    parse_scheduler(scheduler)  # a bad spec -> InputError before any work
    models = load_models()
    results = []
    with (
        executor(scheduler) as map_fn,
        Progress(console=Console(stderr=True), transient=True, disable=as_json) as progress,
    ):
        for x in names:
            task = progress.add_task(f"{x}", total=replicates)
            results.append(
                run_trial(
                    x,
                    n,
                    replicates,
                    seed,
                    models,
                    progress=lambda done, task=task: progress.update(task, completed=done),
                    map_fn=map_fn,
                )
            )
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False))
    else:
        for r in results:
            _print_result(r)
    if report is not None:
        from ifxdose.app.reports import write_trial_report

        path = write_trial_report(results, report, "ifxdose " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
        Console(stderr=True).print(f"report: {path}")


@trial_app.command("calibrate")
def trial_calibrate(
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Output file (default: the packaged calibration.toml).")
    ] = None,
    show: Annotated[
        bool, typer.Option("--show", help="Print the stored calibration's fit per figure (Markdown); no re-fit.")
    ] = False,
    setup: Annotated[
        Optional[Path],
        typer.Option(
            "--setup",
            help="Calibration setup TOML (default: the packaged calibration_setup.toml; sizes: n_virtual, [posterior]).",
        ),
    ] = None,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            help="Evaluate the emcee walkers on Dask: 'local' / 'local:N' worker processes, or a scheduler "
            "address (tcp://host:8786). Same results as without.",
        ),
    ] = None,
) -> None:
    """Re-run the calibration (12-15 minutes) and write the calibrated values; prints the fit per figure."""
    import tomllib

    from ifxdose.domain.trials import calibrate as cal

    if show:
        text = out.read_text(encoding="utf-8") if out is not None else cal.stored_calibration_text()
        print(cal.fit_markdown(tomllib.loads(text)))
        return
    parse_scheduler(scheduler)  # a bad spec -> InputError before any work
    spec = None
    if setup is not None:
        try:
            spec = tomllib.loads(setup.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError("setup", str(setup), f"a readable calibration setup TOML is required ({exc})") from None
    target = out if out is not None else Path(str(cal.DATA)) / "calibration.toml"
    with emcee_pool(scheduler) as pool:
        doc = cal.calibrate(spec, pool=pool)
    target.write_text(cal.calibration_document_text(doc), encoding="utf-8")
    Console(stderr=True).print(f"wrote {target}")
    print(cal.fit_markdown(doc))
