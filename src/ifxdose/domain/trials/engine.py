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
(Assumption: one latent u per patient shared by all endpoints, so remission implies ACR20 response;
the same u on every day for single-visit figures, and at START's assessments a visit uniform with a
persistent and a visit-specific part, response_visit_rho(), since session 7).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.core.immunogenicity import onset_days, reported_positive
from ifxdose.core.pk import ROUTE_IV, DoseTable, PKModel, simulate_concentrations
from ifxdose.core.population import lognormal_sigma_from_cv
from ifxdose.core.response import (
    crp_course_mg_l,
    crp_patient_level_mg_l,
    tetrachoric_correlation,
    visit_uniform,
)
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.trials.endpoints import ACR_N_PARTS
from ifxdose.domain.trials.models import Models
from ifxdose.domain.trials.population import crp_lognormal

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
#: Inflammation over time (issue 12). CRP falls as infliximab neutralises TNF-alpha:
#: CRP(t) = CRP0 * (1 - CRP_IMAX * C_eff / (CRP_EC50_MG_L + C_eff)), C_eff = C / tnf_scale (TNF-high
#: patients need more drug, as for the response), and the PK model's CRP covariate turns it into a
#: time-varying clearance (Ternant 2014: CL +20 % from CRP 3 to 14 mg/L). Assumptions: CRP follows the
#: plasma concentration without delay (CRP's plasma half-life is about 19 h, Pepys & Hirschfield, J Clin
#: Invest 2003;111:1805, short next to the dosing interval); CRP_IMAX 0.9 because a median CRP improvement
#: "exceeding 80 %" after each 10 mg/kg cycle (S3, Elliott 1994, PMID 7934495) needs a maximal suppression
#: above 0.8 and CRP does not reach zero; CRP_EC50_MG_L 1 mg/L, the trough above which the seed's patients
#: had larger CRP falls and EULAR responses (S10, S11); inhibitory Emax form. Clearance follows CRP by
#: weekly segments (the weekly mean of CRP) after one fixed-point pass: the profile at baseline CRP gives
#: CRP(t), which gives the profile (the CRP exponent on CL, 0.12, makes a second pass change little;
#: tests/trials/test_inflammation.py measures it).
CRP_IMAX = 0.9
CRP_EC50_MG_L = 1.0
CRP_FLOOR_MG_L = 0.3  # Assumption: as domain/estimation.py's CRP floor
CRP_SEGMENT_DAYS = 7.0
#: Within-patient (occasion-to-occasion) variability of CRP (issue 12). A measured CRP is one log-normal
#: draw around the patient's level (the median of their draws), so a baseline measurement regresses to the
#: mean and damage integrates the course, not the baseline value. Assumption: coefficient of variation 0.42,
#: the within-subject biological variation CV_I of CRP, 42.2 % (Macy, Hayes & Tracy, Clin Chem 1997;43:52,
#: healthy subjects, the most cited figure and the median of published CV_I, 0.41, in the review of
#: PMC12643293, 2025); a lower bound for active RA (that review: CV rises with the patient's median CRP, 1.60
#: in 472,811 routine-care patients; PMID 34596032: CRP more variable in active RA than in remission). No RA
#: trial figure was found; nothing is fitted to it. Log-normal, independent between occasions, and fast
#: against the year (Assumption: progression sees the expectation, core.progression.expected_lognormal_excess).
CRP_OCCASION_CV = 0.42
CRP_OCCASION_SIGMA = lognormal_sigma_from_cv(CRP_OCCASION_CV)
#: Columns of per-patient occasion draws (Cohort.crp_occasion_z): one per distinct measurement day of a trial.
N_CRP_OCCASIONS = 16
#: Joint-count assessments per patient with their own error draws (Cohort.joint_z): START's baseline and the
#: visits of weeks 22, 30, 38, 46 and 54.
N_JOINT_OCCASIONS = 6
#: MTX started with the trial drug lowers inflammation too (issue 12, session 4). The response model's
#: background fraction g (MTX in MTX-naive patients, ASPIRE; core.response, fitted on ASPIRE's MTX + placebo
#: median ACR-N only) also enters the CRP suppression by the same Bliss combination:
#: CRP = level * (1 - CRP_IMAX * (g + (1 - g) f)), f = C_eff / (CRP_EC50 + C_eff) (core.response.crp_course_mg_l).
#: One mechanism, not a new fitted association: the seed's causal story runs inflammation -> damage (S8, S9),
#: and MTX started in MTX-naive RA slows damage (ASPIRE MTX + placebo 3.7 points at week 54 vs ATTRACT's
#: MTX-IR 7.0; TEMPO, Klareskog 2004, Lancet 363:675, MTX monotherapy 2.80 at week 52; PREMIER, Breedveld
#: 2006, Arthritis Rheum 54:26). Assumptions: the same g on the CRP scale as on the response scale; from day
#: 0 (ASPIRE titrated MTX to 20 mg/week by week 8, so the first weeks' effect is overstated); placebo arms of
#: MTX-naive patients get it too (they start MTX); g = 0 wherever MTX is continued (MTX-IR). It lowers the
#: CRP course that drives damage and the measured CRP and, since session 5, the PK's CRP covariate too
#: (MTX_START_ON_PK below; CL ~ CRP^0.118 about 15 % lower in ASPIRE, 0.25^0.118 = 0.85).
MTX_START_ON_CRP = True
#: The MTX start also lowers the CRP the PK's CRP covariate sees (issue 12, session 5): weekly_crp takes the
#: background too, so ASPIRE's clearance falls with its CRP (CL ~ CRP^0.118). Consistent with the
#: calibration because the calibration's scenarios carry the same g (calibrate.scenario_cohort, setup
#: ``[background] pk_fraction``: the previous calibration's g, Assumption: one fixed-point step).
MTX_START_ON_PK = True
#: Response over visits (issue 12, session 7). A patient's latent response at a visit is a persistent part plus
#: a visit-specific part (core.response.visit_uniform, a Gaussian copula on the latent uniform): each visit's
#: response rate is the one of the calibrated model, and two visits' latent scores correlate by
#: response_visit_rho(), so a patient who failed at one visit can respond at a later one without any change of
#: exposure (regression to the mean; van Vollenhoven, Ann Rheum Dis 2004;63:426: after infliximab dose
#: increases in routine care, the same worsening-then-improvement was seen in patients whose dose was not
#: increased and on etanercept — "a regression-like effect"). response_visit_rho() is the tetrachoric correlation
#: of ACR20 status between weeks 24 and 52 in GO-FORWARD's group 4 (golimumab 100 mg + MTX in MTX inadequate
#: responders, n = 89, the one arm with no early escape or crossover before week 52; Keystone, Ann Rheum Dis
#: 2010;69:1129: ACR20 53/89 at week 24, 58 % at week 52, 41 of the 53 week-24 responders also at week 52,
#: table "Sustained efficacy outcomes"), outside the 80 compared figures. Assumptions: exchangeable visits (the
#: same correlation 8 weeks apart in START as 28 weeks apart in GO-FORWARD: no decay of the visit part over
#: weeks); another anti-TNF monoclonal antibody's figure stands for infliximab's; the ITT analysis counts
#: withdrawals between weeks 24 and 52 as non-responders (lowers the correlation) while exposure differing
#: between patients adds persistence the model already has (raises it): neither is corrected; the figure is
#: ACR20 status as assessed, so it contains the assessment error that START's joint counts also get
#: (endpoints.JOINT_COUNT_SEM: a small double count). Applied where a published figure reads one patient at
#: two visits: START's joint-count assessments (adaptive.start_joint_counts); every single-visit figure keeps
#: the patient's persistent uniform (the same law at any one visit). Draws: Cohort.response_visit_z, last.
GOFORWARD_GROUP4_ACR20 = {"n": 89, "week24": 53 / 89, "week52": 0.58, "both": 41 / 89}


@functools.cache
def response_visit_rho() -> float:
    """GOFORWARD_GROUP4_ACR20's tetrachoric correlation (0.683), computed on first use (its
    root-finding over a quadrature takes ~0.3 s, too much for every import of the trial engine)."""
    g = GOFORWARD_GROUP4_ACR20
    return tetrachoric_correlation(g["week24"], g["week52"], g["both"])


#: False: every visit reads the persistent uniform (the model before session 7; sensitivity runs and tests)
RESPONSE_VISIT_VARIATION = True


@dataclass(frozen=True)
class Cohort:
    """An arm's virtual patients and their random draws (all arrays (P,) unless noted)."""

    covariates: dict[str, np.ndarray]
    eta: np.ndarray  # (P, n_eta)
    ada_exp: np.ndarray  # Exp(1) draws for ADA onset
    response_u: np.ndarray  # latent uniform for all response endpoints
    residual_z: np.ndarray  # (P, n_obs_max) standard normals for measured concentrations
    #: (P,) standard normals of the radiographic progression rate (core.progression); drawn last in
    #: make_cohort so that every earlier draw is unchanged; None: typical rate
    progression_z: np.ndarray | None = None
    #: (P,) standard normals of the radiograph reading error of the mTSS change (drawn after progression_z)
    reading_z: np.ndarray | None = None
    #: (P,) the patient's CRP level in mg/L (median of their occasion draws) given the measured baseline
    #: ``covariates["crp_mg_l"]`` (core.response.crp_patient_level_mg_l; drawn after reading_z); None: the
    #: measured baseline is the level (no occasion variability)
    crp_level_mg_l: np.ndarray | None = None
    #: (P, N_CRP_OCCASIONS) standard normals of the CRP measured at later occasions (drawn last)
    crp_occasion_z: np.ndarray | None = None
    #: (P,) background fraction g of the CRP suppression (MTX started with the drug, MTX_START_ON_CRP);
    #: None: 0 (no random draw: the response model's population constant)
    crp_background: np.ndarray | None = None
    #: (P, N_JOINT_OCCASIONS, 2) standard normals of the tender and swollen 28-joint counts' assessment error
    #: (endpoints.JOINT_COUNT_SEM) at START's assessments (baseline, weeks 22, 30, 38, 46, 54; drawn after the
    #: CRP draws in make_cohort so that every earlier draw is unchanged); None: counts without assessment error
    joint_z: np.ndarray | None = None
    #: (P, 3) standard normals of the spread of ACR-N's three parts (TJC28, SJC28, the other five;
    #: endpoints.component_gaps), one set per patient (drawn after joint_z); None: no spread
    component_z: np.ndarray | None = None
    #: (P, N_JOINT_OCCASIONS) standard normals of the visit-specific part of the latent response at START's
    #: assessments (response_visit_rho(); drawn after component_z, last); None: the persistent uniform at every visit
    response_visit_z: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.eta.shape[0])

    @property
    def weight_kg(self) -> np.ndarray:
        return self.covariates["weight_kg"]


def make_cohort(
    covariates: dict[str, np.ndarray],
    models: Models,
    rng: np.random.Generator,
    n_obs_max: int = 64,
    population: str | None = None,
) -> Cohort:
    """An arm's patients and their draws. The CRP level (CRP_OCCASION_CV) is conditioned on the measured
    baseline under ``population``'s log-normal CRP distribution (None: the base population's)."""
    n = len(covariates["weight_kg"])
    eta = models.pk.sample_eta(n, rng)
    ada_exp, response_u, residual_z = rng.exponential(1.0, n), rng.random(n), rng.standard_normal((n, n_obs_max))
    progression_z, reading_z = rng.standard_normal(n), rng.standard_normal(n)
    level_z, occasion_z = rng.standard_normal(n), rng.standard_normal((n, N_CRP_OCCASIONS))
    level, background = None, None
    if MTX_START_ON_CRP and getattr(models, "response", None) is not None:
        background = models.response.background(covariates, n)
    if "crp_mg_l" in covariates:
        median, sigma_total = crp_lognormal(population)
        level = crp_patient_level_mg_l(covariates["crp_mg_l"], level_z, median, sigma_total, CRP_OCCASION_SIGMA)
    joint_z = rng.standard_normal((n, N_JOINT_OCCASIONS, 2))
    component_z = rng.standard_normal((n, len(ACR_N_PARTS)))
    response_visit_z = rng.standard_normal((n, N_JOINT_OCCASIONS))
    return Cohort(
        covariates,
        eta,
        ada_exp,
        response_u,
        residual_z,
        progression_z,
        reading_z,
        level,
        occasion_z,
        background,
        joint_z,
        component_z,
        response_visit_z,
    )


def visit_response_u(cohort: Cohort, occasion: int) -> np.ndarray:
    """The latent response uniform (P,) at START's assessment ``occasion`` (response_visit_rho()): the persistent
    uniform when there are no visit draws or RESPONSE_VISIT_VARIATION is off."""
    if not RESPONSE_VISIT_VARIATION or cohort.response_visit_z is None:
        return cohort.response_u
    return visit_uniform(cohort.response_u, cohort.response_visit_z[:, occasion], response_visit_rho())


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


def _segment_parameters(
    pk: PKModel, cohort: Cohort, crp_mg_l: np.ndarray, ada: np.ndarray | float
) -> dict[str, np.ndarray]:
    """Individual parameters (P, S) for CRP (P, S) and an ADA flag (P, S) or scalar per segment."""
    shape = crp_mg_l.shape
    cov: dict[str, np.ndarray] = {
        "weight_kg": cohort.weight_kg[:, None],
        "ada": np.broadcast_to(np.asarray(ada, float), shape),
        "crp_mg_l": crp_mg_l,
    }
    cov.update({k: cohort.covariates[k][:, None] for k in pk.covariates if k in cohort.covariates and k not in cov})
    p = pk.individual_parameters(cov, cohort.eta[:, None, :])
    return {k: np.broadcast_to(v, shape).copy() for k, v in p.items()}


def crp_feedback(pk: PKModel, cohort: Cohort, inflammation: bool) -> bool:
    """True when inflammation over time is switched on (``Models.inflammation``, written by the
    calibration), the PK model has a CRP covariate and the patients a baseline CRP."""
    return inflammation and "crp_mg_l" in pk.covariates and "crp_mg_l" in cohort.covariates


def crp_level(cohort: Cohort) -> np.ndarray:
    """(P,) the patients' CRP level before treatment (CRP_OCCASION_CV), the measured baseline without one."""
    return cohort.covariates["crp_mg_l"] if cohort.crp_level_mg_l is None else cohort.crp_level_mg_l


def crp_course(cohort: Cohort, conc_mg_l: np.ndarray, background: bool = True) -> np.ndarray:
    """The patients' CRP level (P, T) in mg/L under the concentrations (P, T) (see CRP_IMAX) and the
    background treatment (MTX_START_ON_CRP): the median of what a measurement on each day would give
    (``measured_crp``). ``background`` False: the drug alone (the PK's CRP covariate, ``weekly_crp``)."""
    c_eff = conc_mg_l / tnf_scale(cohort)[:, None]
    g = 0.0 if cohort.crp_background is None or not background else cohort.crp_background
    return crp_course_mg_l(crp_level(cohort), c_eff, CRP_IMAX, CRP_EC50_MG_L, CRP_FLOOR_MG_L, g)


def measured_crp(cohort: Cohort, level_mg_l: np.ndarray, occasion: int) -> np.ndarray:
    """CRP (P,) as measured at one occasion: the level (P,) times exp(CRP_OCCASION_SIGMA z) with the
    patient's ``occasion``-th draw, floored as the course (never below min(level, CRP_FLOOR_MG_L))."""
    level = np.asarray(level_mg_l, dtype=float)
    if cohort.crp_occasion_z is None or cohort.crp_level_mg_l is None:
        return level
    if not 0 <= occasion < cohort.crp_occasion_z.shape[1]:
        raise InputError("occasion", occasion, f"allowed range is [0, {cohort.crp_occasion_z.shape[1] - 1}]")
    value = level * np.exp(CRP_OCCASION_SIGMA * cohort.crp_occasion_z[:, occasion])
    return np.asarray(np.maximum(value, np.minimum(level, CRP_FLOOR_MG_L)), dtype=float)


def week_starts(grid: np.ndarray) -> np.ndarray:
    """Segment starts (S,) of the weekly CRP segments: -inf, 7, 14, ... (< the last grid day)."""
    starts = np.arange(0.0, float(grid[-1]), CRP_SEGMENT_DAYS)
    starts[0] = -np.inf
    return starts


def weekly_crp(cohort: Cohort, conc_mg_l: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean CRP (P, S) over each weekly segment of the grid, for the PK's CRP covariate: the drug's
    suppression and, with MTX_START_ON_PK, the MTX-start background (see MTX_START_ON_CRP)."""
    crp = crp_course(cohort, conc_mg_l, background=MTX_START_ON_PK)
    first = np.searchsorted(grid, np.maximum(week_starts(grid), grid[0]))
    counts = np.diff(np.append(first, grid.size))
    return np.add.reduceat(crp, first, axis=1) / counts


def _ada_segments(
    grid: np.ndarray, onset: np.ndarray, crp_week: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per patient (P, S+2): sorted segment starts (weekly and ADA onset / titre rise), the segment's
    weekly CRP and its ADA stage (0 none, 1 onset, 2 mature titre)."""
    weeks = np.broadcast_to(week_starts(grid), (onset.size, crp_week.shape[1]))
    starts = np.sort(np.column_stack([weeks, onset, onset + TITRE_RISE_DAYS]), axis=1)
    k = np.clip(np.floor(np.nan_to_num(starts, neginf=0.0) / CRP_SEGMENT_DAYS).astype(int), 0, crp_week.shape[1] - 1)
    stage = (starts >= onset[:, None]).astype(int) + (starts >= (onset + TITRE_RISE_DAYS)[:, None])
    return starts, np.take_along_axis(crp_week, k, axis=1), stage


def _ada_profiles(
    pk: PKModel, cohort: Cohort, doses: DoseTable, grid: np.ndarray, onset: np.ndarray, crp_week: np.ndarray
) -> np.ndarray:
    """Concentrations (P, T) of patients with an ADA onset, CRP by weekly segment."""
    starts, crp, stage = _ada_segments(grid, onset, crp_week)
    free = _segment_parameters(pk, cohort, crp, 0.0)
    params = _segment_parameters(pk, cohort, crp, (stage > 0).astype(float))
    mature = stage == 2
    params["CL"][mature] = np.maximum(params["CL"][mature], MATURE_ADA_CL_FACTOR * free["CL"][mature])
    return simulate_concentrations(pk, params, starts, doses, grid)


def _subset_cohort(cohort: Cohort, idx: np.ndarray) -> Cohort:
    return Cohort(
        {k: v[idx] for k, v in cohort.covariates.items()},
        cohort.eta[idx],
        cohort.ada_exp[idx],
        cohort.response_u[idx],
        cohort.residual_z[idx],
        None if cohort.progression_z is None else cohort.progression_z[idx],
        None if cohort.reading_z is None else cohort.reading_z[idx],
        None if cohort.crp_level_mg_l is None else cohort.crp_level_mg_l[idx],
        None if cohort.crp_occasion_z is None else cohort.crp_occasion_z[idx],
        None if cohort.crp_background is None else cohort.crp_background[idx],
        None if cohort.joint_z is None else cohort.joint_z[idx],
        None if cohort.component_z is None else cohort.component_z[idx],
        None if cohort.response_visit_z is None else cohort.response_visit_z[idx],
    )


def _subset(doses: DoseTable, idx: np.ndarray) -> DoseTable:
    return DoseTable(doses.time_days[idx], doses.amount_mg[idx], doses.duration_days[idx], doses.route[idx])


def ada_free_concentrations(
    pk: PKModel, cohort: Cohort, doses: DoseTable, grid: np.ndarray, inflammation: bool = False
) -> np.ndarray:
    """Concentrations (P, T) without anti-drug antibodies; with ``inflammation``, CRP falls under
    drug (CRP_IMAX) and moves the clearance of a PK model with a CRP covariate."""
    conc = simulate_concentrations(pk, _parameters(pk, cohort, 0.0), np.full((cohort.n, 1), -np.inf), doses, grid)
    if not crp_feedback(pk, cohort, inflammation):
        return conc
    crp = weekly_crp(cohort, conc, grid)
    starts = np.broadcast_to(week_starts(grid), crp.shape)
    return simulate_concentrations(pk, _segment_parameters(pk, cohort, crp, 0.0), starts, doses, grid)


def exposure(
    models: Models, cohort: Cohort, doses: DoseTable | None, grid: np.ndarray, at_risk_from_day: float = 0.0
) -> Exposure:
    """Concentrations with stochastic ADA. ``at_risk_from_day``: onset is drawn conditional on
    no ADA before that day (trial entry during maintenance, NOR-DRUM B). With a CRP covariate,
    CRP follows the drug (CRP_IMAX) and, after an ADA onset, rises again as the drug falls (one more
    fixed-point pass for those patients)."""
    P = cohort.n
    if doses is None or doses.time_days.shape[1] == 0:  # placebo: no drug, no anti-drug antibodies
        return Exposure(grid, np.zeros((P, grid.size)), np.full(P, np.inf))
    conc = ada_free_concentrations(models.pk, cohort, doses, grid, models.inflammation)
    H = models.ada.cumulative_hazard(grid, conc, cohort.covariates["mtx"])
    start = np.searchsorted(grid, at_risk_from_day)
    onset = onset_days(grid, H, cohort.ada_exp + H[:, min(int(start), grid.size - 1)])
    hit = np.nonzero(np.isfinite(onset))[0]
    if hit.size and crp_feedback(models.pk, cohort, models.inflammation):
        sub, sub_doses = _subset_cohort(cohort, hit), _subset(doses, hit)
        c = _ada_profiles(models.pk, sub, sub_doses, grid, onset[hit], weekly_crp(sub, conc[hit], grid))
        conc[hit] = _ada_profiles(models.pk, sub, sub_doses, grid, onset[hit], weekly_crp(sub, c, grid))
    elif hit.size:
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
    return np.asarray((np.maximum(tnf, 1e-3) / TNF_REFERENCE_PG_ML) ** TNF_RESPONSE_GAMMA, dtype=float)


def effective_ce(cohort: Cohort, ce: np.ndarray) -> np.ndarray:
    """Ce / tnf_scale: the concentration the Emax model sees (see TNF_RESPONSE_GAMMA)."""
    scale = tnf_scale(cohort)
    return np.asarray(ce / (scale[:, None] if np.ndim(ce) == 2 else scale), dtype=float)


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
    return np.asarray(true & reported_positive(onset, days, c, tol), dtype=bool)


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
    return np.asarray(np.maximum(conc_mg_l + models.pk.residual_sd_mg_l(conc_mg_l) * z, 0.0), dtype=float)


@dataclass
class ArmRun:
    """An arm's simulated patients: the exposure, the doses given, and per-patient flags."""

    cohort: Cohort
    exposure: Exposure
    doses: DoseTable | None
    flags: dict[str, np.ndarray]


def fixed_arm(
    models: Models,
    cohort: Cohort,
    times_days: np.ndarray | None,
    mg_per_kg: np.ndarray | None,
    grid: np.ndarray,
    at_risk_from_day: float = 0.0,
) -> ArmRun:
    """A fixed schedule (mg/kg may differ per patient); ``times_days`` None = placebo."""
    doses = None if times_days is None or mg_per_kg is None else dose_table(times_days, mg_per_kg, cohort.weight_kg)
    return ArmRun(cohort, exposure(models, cohort, doses, grid, at_risk_from_day), doses, {})


def response_background(models: Models, cohort: Cohort) -> np.ndarray:
    """Background fraction g (P,) of the response model for these patients (core.response)."""
    return models.response.background(cohort.covariates, cohort.n)


def responder(models: Models, run: ArmRun, endpoint: str, day: float, ce: np.ndarray | None = None) -> np.ndarray:
    """Responders (P,) on ``day`` for an endpoint (see module docstring)."""
    grid = run.exposure.grid_days
    k = int(np.searchsorted(grid, day))
    ce_k = (ce if ce is not None else models.response.effect_site(grid[: k + 1], run.exposure.conc_mg_l[:, : k + 1]))[
        :, k
    ]
    return run.cohort.response_u < models.response.probability(
        endpoint, effective_ce(run.cohort, ce_k), response_background(models, run.cohort)
    )


def conc_at(run: ArmRun, day: float) -> np.ndarray:
    return run.exposure.conc_mg_l[:, int(np.searchsorted(run.exposure.grid_days, day))]
