"""Batch MAP over an NM-TRAN data set: one row per subject (ID, ETA1..ETAn, OFV, warnings).

Subjects are independent, so they are spread over a process pool (all cores by default)
or, given ``map_fn`` (e.g. :func:`ifxdose.adapters.scale.executor`), over any map-like
executor such as a Dask cluster: subjects are the tasks. A subject whose estimate fails a
check gets its reason in ``warnings`` and empty etas; the batch goes on. Each worker
compiles the model once from its text (compiled equations are not sent between
processes); the results do not depend on where a subject ran (MAP is deterministic).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.estimation.general import estimate_subject
from ifxdose.core.estimation.map import EstimationError
from ifxdose.core.pk.general import GeneralModel, Records, from_pkmodel, load_general_text
from ifxdose.domain.modelfiles import load_library_model


@dataclass(frozen=True)
class SubjectResult:
    id: str
    eta_names: tuple[str, ...]
    eta: tuple[float, ...]
    ofv: float
    warnings: tuple[str, ...]


_WORKER_MODEL: GeneralModel | None = None


def _spec(model: GeneralModel) -> tuple[str, str]:
    return ("text", model.source_text) if model.source_text else ("library", model.name)


def _build(spec: tuple[str, str], name: str) -> GeneralModel:
    kind, value = spec
    return load_general_text(value, name) if kind == "text" else from_pkmodel(load_library_model(value))


def _init(spec: tuple[str, str], name: str) -> None:
    global _WORKER_MODEL
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_MODEL = _build(spec, name)


def _one(model: GeneralModel, rec: Records) -> SubjectResult:
    try:
        problem, fit = estimate_subject(model, rec)
    except (EstimationError, InputError) as exc:
        names = model.eta_names
        return SubjectResult(rec.id, names, tuple([np.nan] * len(names)), np.nan, (f"error: {exc}",))
    return SubjectResult(
        rec.id,
        problem.eta_names,
        tuple(float(x) for x in fit.eta),
        float(fit.ofv),
        tuple(problem.engine.assumed) + tuple(fit.warnings),
    )


def _worker(rec: Records) -> SubjectResult:
    assert _WORKER_MODEL is not None
    return _one(_WORKER_MODEL, rec)


_MODELS: dict[tuple[tuple[str, str], str], GeneralModel] = {}


def task(spec: tuple[str, str], name: str, rec: Records) -> SubjectResult:
    """One subject as a self-contained task (for Dask or any executor): the model is rebuilt
    from its spec once per worker process and kept."""
    key = (spec, name)
    if key not in _MODELS:
        _MODELS[key] = _build(spec, name)
    return _one(_MODELS[key], rec)


def estimate_all(
    model: GeneralModel,
    subjects: list[Records],
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    map_fn: Callable[[Callable[[Records], SubjectResult], list[Records]], Iterable[SubjectResult]] | None = None,
) -> list[SubjectResult]:
    """MAP for every subject, in data order; ``workers`` None = all cores, 1 = in this process;
    ``map_fn(fn, subjects)`` (results in order), when given, runs the subjects instead."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise InputError("--workers", workers, "allowed range is [1, cores]")
    for rec in subjects:  # fail fast on data the model cannot use (missing covariate columns, CMT)
        from ifxdose.core.pk.general import Engine

        Engine(model, rec)
    results: list[SubjectResult] = []
    it: Iterator[SubjectResult]
    if map_fn is not None:
        for res in map_fn(partial(task, _spec(model), model.name), list(subjects)):
            results.append(res)
            if progress:
                progress(1)
        return results
    if workers == 1 or len(subjects) <= 1:
        it = (_one(model, r) for r in subjects)
        for res in it:
            results.append(res)
            if progress:
                progress(1)
        return results
    with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(_spec(model), model.name)) as pool:
        for res in pool.map(_worker, subjects, chunksize=max(1, len(subjects) // (8 * workers))):
            results.append(res)
            if progress:
                progress(1)
    return results


def results_csv(results: list[SubjectResult], n_bsv: int) -> str:
    """CSV text: ID, ETA1..ETAn (between-subject), then occasion effects by name, OFV, warnings."""
    extra: list[str] = []
    for r in results:
        for nme in r.eta_names[n_bsv:]:
            if nme not in extra:
                extra.append(nme)
    header = ["ID"] + [f"ETA{i + 1}" for i in range(n_bsv)] + extra + ["OFV", "warnings"]
    lines = [",".join(header)]
    for r in results:
        vals = dict(zip(r.eta_names[n_bsv:], r.eta[n_bsv:]))
        cells = [r.id] + [_fmt(x) for x in r.eta[:n_bsv]] + [_fmt(vals.get(n, np.nan)) for n in extra] + [_fmt(r.ofv)]
        cells.append('"' + " | ".join(r.warnings).replace('"', "'") + '"')
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else repr(float(x))
