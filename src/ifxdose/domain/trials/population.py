"""Virtual RA populations per trial, from ``data/population.toml`` (sources in the file).

``virtual_population("attract", n, rng)`` -> name -> (n,) arrays: weight_kg, sex_female,
albumin_g_dl, crp_mg_l, esr_mm_h, mtx (0/1), mtx_dose_mg_week (0 when off MTX),
tnf_pg_ml (baseline TNF-alpha), tjc28, sjc28, ptga_mm, phga_mm, and the constants (no random draw):
mtx_start (1 when MTX starts with the trial drug, MTX-naive patients).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.population import Marginal, lognormal_sigma_from_cv, sample_population

_META = ("name", "dist", "source")


@lru_cache(maxsize=1)
def population_data() -> dict[str, Any]:
    text = (resources.files("ifxdose.domain.trials") / "data" / "population.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _marginal(entry: dict[str, Any]) -> Marginal:
    return Marginal(entry["name"], entry["dist"], {k: v for k, v in entry.items() if k not in _META})


def population_names() -> list[str]:
    return sorted(population_data()["trials"])


def population_spec(name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(variables, correlations) of a trial's population: the base with its overrides."""
    data = population_data()
    if name not in data["trials"]:
        raise InputError("population", name, f"known populations are {', '.join(population_names())}")
    overrides = {v["name"]: v for v in data["trials"][name].get("variables", [])}
    variables = [overrides.get(v["name"], v) for v in data["base"]["variables"]]
    return variables, list(data["base"].get("correlations", []))


def population_constants(name: str) -> dict[str, float]:
    """The population's constants ([base.constants] with the trial's ``constants``; ``*_source`` dropped)."""
    data = population_data()
    if name not in data["trials"]:
        raise InputError("population", name, f"known populations are {', '.join(population_names())}")
    merged = {**data["base"].get("constants", {}), **data["trials"][name].get("constants", {})}
    return {k: float(v) for k, v in merged.items() if not k.endswith("_source")}


def virtual_population(name: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` virtual patients of the named trial population; deterministic for the generator state."""
    variables, correlations = population_spec(name)
    pop = sample_population(n, rng, [_marginal(v) for v in variables], {(c["a"], c["b"]): c["r"] for c in correlations})
    pop["mtx_dose_mg_week"] = np.where(pop["mtx"] > 0, pop["mtx_dose_mg_week"], 0.0)
    pop.update({k: np.full(n, v) for k, v in population_constants(name).items()})
    return pop


def crp_lognormal(name: str | None = None) -> tuple[float, float]:
    """(median mg/L, log-SD) of the measured baseline CRP of a population (None: the base population),
    which must be log-normal with ``median`` and ``cv`` (engine.CRP_OCCASION_CV conditions on it)."""
    variables = population_spec(name)[0] if name else population_data()["base"]["variables"]
    entry = next((v for v in variables if v["name"] == "crp_mg_l"), None)
    if entry is None or entry["dist"] != "lognormal":
        raise InputError("crp_mg_l", name or "base", "needs a lognormal baseline CRP (median, cv)")
    return float(entry["median"]), lognormal_sigma_from_cv(float(entry["cv"]))
