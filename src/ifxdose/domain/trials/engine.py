"""Simulating one trial arm: PK with stochastic ADA, responses, and adaptive dosing rules.

A :class:`Cohort` is an arm's virtual patients with every random draw they will need
(random effects, the Exp(1) draw of ADA onset, the latent response uniform), so that an
adaptive arm re-simulated after each decision sees the same patients (common random
numbers) and a seed fixes everything.

Exposure with ADA (docs/trials.md): simulate the ADA-negative profile on a daily grid,
find each patient's onset by inverse CDF of the cumulative hazard, then re-simulate the
patients with an onset with a second parameter segment (CL x the PK model's ADA factor)
from the onset time. Patients without onset keep the fast shared-schedule path.

Responses: a patient responds on day d when the latent uniform u < P(response | Ce(d))
(Assumption: one latent u per patient shared by all endpoints and days, so a patient's
response is consistent over time and remission implies ACR20 response).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ifxdose.core.immunogenicity import onset_days, reported_positive
from ifxdose.core.pk import ROUTE_IV, DoseTable, PKModel, simulate_concentrations
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.trials.models import Models

#: Assumption: every infusion lasts 2 hours (ATTRACT note in S4-attract-1999).
INFUSION_DAYS = 2.0 / 24.0
#: Limit of detection of the infliximab ELISA, 0.1 mg/L (S10-attract-pk-2002 note).
LOD_MG_L = 0.1
#: Assumption: antibody titres rise after onset (S12: "rising titres go with falling concentrations");
#: from onset CL takes the PK model's ADA factor (a popPK average over titres), and from
#: TITRE_RISE_DAYS later it is MATURE_ADA_CL_FACTOR x the ADA-free CL: Dotan 2014 (IBD, ATI +259 %
#: CL, the upper end of the published ratios, research digest section 7.2); Brandse ECCO 2016 reports
#: CL rising with titre up to 44-fold, so a fixed mature factor is conservative.
TITRE_RISE_DAYS = 56.0
MATURE_ADA_CL_FACTOR = 3.59
#: Drug tolerance of ADA assays (mg/L): a drug-sensitive assay reports ADA only from a sample with
#: infliximab below it (Assumption: 1 mg/L, as domain/estimation.py DRUG_INTERFERENCE_MG_L); drug-tolerant
#: assays report every true ADA.
ASSAY_DRUG_TOLERANCE_MG_L = {"drug-sensitive": 1.0, "drug-tolerant": float("inf")}
#: Assumption: the drug need scales with the target: an effective concentration Ce / (TNF / 0.8)^gamma
#: enters the Emax model (equivalently EC50 x (TNF/0.8)^gamma), so TNF-high patients need more drug
#: (S14: dose-dependent response only in TNF-high; Marcantonio 2022 QSP: drug binds TNF). 0.8 pg/mL is
#: the virtual population's median TNF (data/population.toml).
TNF_RESPONSE_GAMMA = 1.0
TNF_REFERENCE_PG_ML = 0.8


@dataclass(frozen=True)
class Cohort:
    """An arm's virtual patients and their random draws (all arrays (P,) unless noted)."""

    covariates: dict[str, np.ndarray]
    eta: np.ndarray  # (P, n_eta)
    ada_exp: np.ndarray  # Exp(1) draws for ADA onset
    response_u: np.ndarray  # latent uniform for all response endpoints
    residual_z: np.ndarray  # (P, n_obs_max) standard normals for measured concentrations

    @property
    def n(self) -> int:
        return self.eta.shape[0]

    @property
    def weight_kg(self) -> np.ndarray:
        return self.covariates["weight_kg"]


def make_cohort(
    covariates: dict[str, np.ndarray], models: Models, rng: np.random.Generator, n_obs_max: int = 64
) -> Cohort:
    n = len(covariates["weight_kg"])
    return Cohort(
        covariates,
        models.pk.sample_eta(n, rng),
        rng.exponential(1.0, n),
        rng.random(n),
        rng.standard_normal((n, n_obs_max)),
    )


@dataclass(frozen=True)
class Exposure:
    grid_days: np.ndarray
    conc_mg_l: np.ndarray  # (P, T) true concentrations, ADA effect included
    onset_day: np.ndarray  # (P,) ADA onset, inf if none


def daily_grid(horizon_day: float) -> np.ndarray:
    return np.arange(0.0, float(horizon_day) + 1.0)


def _parameters(pk: PKModel, cohort: Cohort, ada: float | list[float]) -> dict[str, np.ndarray]:
    ada_arr = np.asarray(ada, float).reshape(1, -1)
    cov = {"weight_kg": cohort.weight_kg[:, None], "ada": ada_arr}
    cov.update({k: cohort.covariates[k][:, None] for k in pk.covariates if k in cohort.covariates and k not in cov})
    p = pk.individual_parameters(cov, cohort.eta[:, None, :])
    return {k: np.broadcast_to(v, (cohort.n, ada_arr.shape[1])).copy() for k, v in p.items()}


def _subset(doses: DoseTable, idx: np.ndarray) -> DoseTable:
    return DoseTable(doses.time_days[idx], doses.amount_mg[idx], doses.duration_days[idx], doses.route[idx])


def ada_free_concentrations(pk: PKModel, cohort: Cohort, doses: DoseTable, grid: np.ndarray) -> np.ndarray:
    """Concentrations (P, T) without anti-drug antibodies."""
    return simulate_concentrations(pk, _parameters(pk, cohort, 0.0), np.full((cohort.n, 1), -np.inf), doses, grid)


def exposure(
    models: Models, cohort: Cohort, doses: DoseTable | None, grid: np.ndarray, at_risk_from_day: float = 0.0
) -> Exposure:
    """Concentrations with stochastic ADA. ``at_risk_from_day``: onset is drawn conditional on
    no ADA before that day (trial entry during maintenance, NOR-DRUM B)."""
    P = cohort.n
    if doses is None or doses.time_days.shape[1] == 0:  # placebo: no drug, no anti-drug antibodies
        return Exposure(grid, np.zeros((P, grid.size)), np.full(P, np.inf))
    conc = ada_free_concentrations(models.pk, cohort, doses, grid)
    H = models.ada.cumulative_hazard(grid, conc, cohort.covariates["mtx"])
    start = np.searchsorted(grid, at_risk_from_day)
    onset = onset_days(grid, H, cohort.ada_exp + H[:, min(start, grid.size - 1)])
    hit = np.nonzero(np.isfinite(onset))[0]
    if hit.size:
        params = {k: v[hit] for k, v in _parameters(models.pk, cohort, [0.0, 1.0, 1.0]).items()}
        params["CL"][:, 2] = np.maximum(params["CL"][:, 1], MATURE_ADA_CL_FACTOR * params["CL"][:, 0])
        seg = np.column_stack([np.full(hit.size, -np.inf), onset[hit], onset[hit] + TITRE_RISE_DAYS])
        conc[hit] = simulate_concentrations(models.pk, params, seg, _subset(doses, hit), grid)
    return Exposure(grid, conc, onset)


def tnf_scale(cohort: Cohort) -> np.ndarray:
    """(P,) divisor of Ce for the response model: (TNF / 0.8 pg/mL)^gamma (1 without TNF)."""
    tnf = cohort.covariates.get("tnf_pg_ml")
    if tnf is None:
        return np.ones(cohort.n)
    return (np.maximum(tnf, 1e-3) / TNF_REFERENCE_PG_ML) ** TNF_RESPONSE_GAMMA


def effective_ce(cohort: Cohort, ce: np.ndarray) -> np.ndarray:
    """Ce / tnf_scale: the concentration the Emax model sees (see TNF_RESPONSE_GAMMA)."""
    scale = tnf_scale(cohort)
    return ce / (scale[:, None] if np.ndim(ce) == 2 else scale)


def reported_ada(run: "ArmRun", horizon_day: float, assay: str) -> np.ndarray:
    """ADA as the study's assay reports it by ``horizon_day`` (P,): samples before every infusion
    and at the horizon (Assumption: ADA was tested at each visit)."""
    onset = run.exposure.onset_day
    true = onset <= horizon_day
    tol = ASSAY_DRUG_TOLERANCE_MG_L[assay]
    if not np.isfinite(tol) or run.doses is None:
        return true
    grid, conc = run.exposure.grid_days, run.exposure.conc_mg_l
    t = run.doses.time_days
    days = np.column_stack([np.where(t <= horizon_day, t, np.nan), np.full(len(t), float(horizon_day))])
    idx = np.clip(np.searchsorted(grid, np.nan_to_num(days, nan=0.0)), 0, grid.size - 1)
    c = np.take_along_axis(conc, idx, axis=1)
    return true & reported_positive(onset, days, c, tol)


def regimen_mg_per_kg(regimen: str, horizon_day: float) -> tuple[np.ndarray, np.ndarray]:
    """(times_days (D,), mg/kg (D,)) of a regimen written in mg/kg."""
    planned = parse_regimen(regimen).doses(horizon_day)
    return np.array([d.time_days for d in planned]), np.array([d.dose for d in planned])


def dose_table(times_days: np.ndarray, mg_per_kg: np.ndarray, weight_kg: np.ndarray) -> DoseTable:
    """IV infusions: times (D,) shared or (P, D) per patient (NaN = none); mg/kg (D,) or (P, D)."""
    P = len(weight_kg)
    t = np.broadcast_to(np.asarray(times_days, float), (P, np.shape(times_days)[-1])).copy()
    mg = np.broadcast_to(np.asarray(mg_per_kg, float), t.shape) * weight_kg[:, None]
    mg = np.where(np.isnan(t), 0.0, mg)
    return DoseTable(t, mg, np.where(np.isnan(t), 0.0, INFUSION_DAYS), np.full(t.shape, ROUTE_IV, np.int8)).checked()


def measured(models: Models, conc_mg_l: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A measured level: C + residual SD(C) * z (the PK model's error), floored at 0."""
    return np.maximum(conc_mg_l + models.pk.residual_sd_mg_l(conc_mg_l) * z, 0.0)


@dataclass
class ArmRun:
    """An arm's simulated patients: the exposure, the doses given, and per-patient flags."""

    cohort: Cohort
    exposure: Exposure
    doses: DoseTable | None
    flags: dict[str, np.ndarray]


def fixed_arm(
    models: Models, cohort: Cohort, times_days, mg_per_kg, grid: np.ndarray, at_risk_from_day: float = 0.0
) -> ArmRun:
    """A fixed schedule (mg/kg may differ per patient); ``times_days`` None = placebo."""
    doses = None if times_days is None else dose_table(times_days, mg_per_kg, cohort.weight_kg)
    return ArmRun(cohort, exposure(models, cohort, doses, grid, at_risk_from_day), doses, {})


def responder(models: Models, run: ArmRun, endpoint: str, day: float, ce: np.ndarray | None = None) -> np.ndarray:
    """Responders (P,) on ``day`` for an endpoint (see module docstring)."""
    grid = run.exposure.grid_days
    k = int(np.searchsorted(grid, day))
    ce_k = (ce if ce is not None else models.response.effect_site(grid[: k + 1], run.exposure.conc_mg_l[:, : k + 1]))[
        :, k
    ]
    return run.cohort.response_u < models.response.probability(endpoint, effective_ce(run.cohort, ce_k))


def conc_at(run: ArmRun, day: float) -> np.ndarray:
    return run.exposure.conc_mg_l[:, int(np.searchsorted(run.exposure.grid_days, day))]
