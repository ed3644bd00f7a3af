"""`ifxdose estimate --data NMTRAN.csv --model MODEL --out etas.csv`: batch MAP with a progress bar."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ifxdose.app.scale import executor, parse_scheduler
from ifxdose.core.errors import InputError
from ifxdose.core.pk.nmtran import read_nmtran
from ifxdose.domain.batch import estimate_all, results_csv
from ifxdose.domain.modelfiles import as_general, load_model


def run_batch(
    data: Path, model: str | None, out: Path | None, workers: int | None, scheduler: str | None = None
) -> None:
    """Batch MAP of an NM-TRAN data set; ``scheduler`` ('local', 'local:N', an address): subjects as Dask tasks."""
    parse_scheduler(scheduler)  # a bad spec -> InputError before any work
    if model is None:
        raise InputError("--model", None, "a model name or .toml path is required with --data")
    try:
        text = data.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("--data", str(data), f"a readable CSV file is required ({exc.strerror})") from None
    subjects = read_nmtran(text)
    m = as_general(load_model(model))
    err = Console(stderr=True)
    with Progress(
        TextColumn("MAP"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("map", total=len(subjects))
        with executor(scheduler) as run:
            results = estimate_all(
                m, subjects, workers, progress=lambda n: bar.advance(task, n), map_fn=run if scheduler else None
            )
    csv = results_csv(results, len(m.eta_names))
    failed = sum(1 for r in results if any(w.startswith("error:") for w in r.warnings))
    if out is None:
        sys.stdout.write(csv)
    else:
        out.write_text(csv, encoding="utf-8")
        err.print(f"{len(results)} subjects ({failed} failed a check) written to {out}")
