"""Adaptive arms, vectorised over patients per decision point.

Each rule reads its numbers from the policy it replays (``get_policy(name)``), so a
policy's parameters and the trial simulation cannot drift apart. At each decision point
the arm is re-simulated with the doses decided so far (the past does not change: the
same patients and random draws), the rule is applied to every patient at once, and the
future doses are updated.

Assumptions (docs/trials.md):
- START: the policy's rules on TJC28 + SJC28 as assessed at the visit: the counts the patient's
  ACR-N gives with the patient's excess over it (the spread of ACR-N's parts, endpoints.component_gaps,
  sigma calibrated on the infliximab label's ATTRACT component medians) plus the assessment's visit-to-visit error (endpoints.JOINT_COUNT_SEM,
  Uhlig 2009), rounded; baseline assessed the same way. An escalated patient is primary if the first
  escalation was for lack of response (< 20 %), secondary if for a flare. "Responded after escalation"
  = total improved >= 20 % at the week-54 assessment (the last visit, after every escalation).
- NOR-DRUM B: patients enter at a maintenance infusion (``entry_day``) ADA-free after label
  dosing; the TDM arm measures the pre-dose trough (with the PK model's residual error) at
  every infusion, classifies it with the policy's own band rule (``policies.troughs``) and
  steps dose/interval with the shared step functions (``decisions.dosing``); an ADA onset
  before a visit counts as ADA >= 50 ug/L and switches by the shared ADA rule
  (``decisions.ada.ada_switch_mask``), as ``Policy.decide`` does for one patient.
- RRRR programmed: the TNF tier and its doses come from the policy module.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ifxdose.core.errors import InputError
from ifxdose.domain.decisions.ada import ADA_STOP_UG_L, ada_switch_mask
from ifxdose.domain.decisions.dosing import step_down, step_up
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.policies import get_policy
from ifxdose.domain.policies.escalation import improved_less_than, lost_at_least
from ifxdose.domain.policies.programmed import TIER_DOSES, tnf_tier
from ifxdose.domain.policies.troughs import band_array
from ifxdose.domain.trials.endpoints import (
    acr_n_pct,
    assessed_joint_count,
    component_gaps,
    joint_count_level,
    latent_improvement,
)
from ifxdose.domain.trials.engine import (
    ArmRun,
    Cohort,
    conc_at,
    effective_ce,
    fixed_arm,
    measured,
    regimen_mg_per_kg,
    response_background,
    visit_response_u,
)
from ifxdose.domain.trials.models import Models

_JOINT_COUNTS = ("tjc28", "sjc28")
_LESS_THAN = np.vectorize(improved_less_than, otypes=[bool])
_LOST = np.vectorize(lost_at_least, otypes=[bool])


def start_joint_counts(models: Models, run: ArmRun, day: float, occasion: int) -> tuple[np.ndarray, np.ndarray]:
    """Assessed (TJC28, SJC28) (P,) each on ``day``: the counts the patient's ACR-N gives (endpoints), each with
    the assessment error of occasion ``occasion`` (Cohort.joint_z; endpoints.JOINT_COUNT_SEM). Occasion 0 is
    the baseline assessment (ACR-N 0)."""
    cohort, intercepts = run.cohort, models.response.intercepts
    if "acr50" not in intercepts:
        raise InputError("response model", "intercepts", "START's joint counts need the ACR20 and ACR50 thresholds")
    if occasion == 0:
        acrn = np.zeros(cohort.n)
    else:
        grid = run.exposure.grid_days
        k = int(np.searchsorted(grid, day))
        ce = models.response.effect_site(grid[: k + 1], run.exposure.conc_mg_l[:, : k + 1])[:, k]
        drug = models.response.drug_logit(effective_ce(cohort, ce), response_background(models, cohort))
        acrn = acr_n_pct(
            latent_improvement(drug, visit_response_u(cohort, occasion)), intercepts["acr20"], intercepts["acr50"]
        )
    z = np.zeros((cohort.n, 2)) if cohort.joint_z is None else cohort.joint_z[:, occasion, :]
    # the parts' spread after baseline only: at baseline every improvement is 0 by definition
    gaps = None if occasion == 0 or cohort.component_z is None else component_gaps(cohort.component_z)
    tjc, sjc = (
        assessed_joint_count(
            joint_count_level(
                cohort.covariates[c], acrn, None if gaps is None else gaps[:, i], models.joint_spread_sigma
            ),
            z[:, i],
        )
        for i, c in enumerate(_JOINT_COUNTS)
    )
    return tjc, sjc


def start_non_response(
    baseline: np.ndarray, total: np.ndarray, best_gain: np.ndarray, response_pct: int, flare_pct: int
) -> tuple[np.ndarray, np.ndarray]:
    """(lack of response, flare) (P,) by the START policy's own integer rules (``policies.escalation``): the
    total improved < ``response_pct`` % from baseline, or (otherwise) the best earlier gain from week 22 fell
    by >= ``flare_pct`` %; a baseline total of 0 cannot be judged (neither)."""
    b, t, best = (np.asarray(x, np.int64) for x in (baseline, total, best_gain))
    lack = (b > 0) & _LESS_THAN(b, t, response_pct)
    flare = (b > 0) & ~lack & _LOST(best, b - t, flare_pct)
    return np.asarray(lack, bool), np.asarray(flare, bool)


def start_arm(models: Models, cohort: Cohort, regimen: str, grid: np.ndarray) -> ArmRun:
    """START (Rahman 2007, S5): +step mg/kg at infusions 5-8 for non-response on the assessed total joint count.

    The policy's own rules (``policies.escalation``: ``improved_less_than``, ``lost_at_least``, its step,
    thresholds and flare reference) on TJC28 + SJC28 assessed with their visit-to-visit error
    (:func:`start_joint_counts`). ``jc20@<day>``: the total improved by at least the policy's response % at
    week 54 (Rahman's "responded after escalation")."""
    policy: Any = get_policy("start-escalation")  # StartEscalation (its step and threshold fields)
    times, base = regimen_mg_per_kg(regimen, float(grid[-1]))
    mgkg = np.tile(base, (cohort.n, 1))
    ceiling = max_dose_mg_per_kg(8.0, policy.rules)
    escalated = np.zeros(cohort.n, bool)
    primary = np.zeros(cohort.n, bool)
    n_steps = np.zeros(cohort.n, int)
    best_gain = np.zeros(cohort.n, np.int64)
    run = fixed_arm(models, cohort, times, mgkg, grid)
    assessed: dict[str, np.ndarray] = {}
    tjc, sjc = start_joint_counts(models, run, 0.0, 0)
    assessed.update({"tjc28_assessed@0": tjc, "sjc28_assessed@0": sjc})
    baseline = tjc + sjc
    occasion = 0
    for number in policy.escalation_infusions:
        j = number - 1
        if j >= times.size:
            break
        occasion += 1
        run = fixed_arm(models, cohort, times, mgkg, grid)
        tjc, sjc = start_joint_counts(models, run, float(times[j]), occasion)
        assessed.update({f"tjc28_assessed@{times[j]:g}": tjc, f"sjc28_assessed@{times[j]:g}": sjc})
        gain = baseline - (tjc + sjc)
        lack, flare = start_non_response(baseline, tjc + sjc, best_gain, policy.response_pct, policy.flare_pct)
        wanted = mgkg[:, j] + policy.step_mg_per_kg
        esc = (lack | flare) & (wanted <= ceiling)
        primary |= esc & ~escalated & lack
        mgkg[esc, j:] = wanted[esc, None]
        escalated |= esc
        n_steps += esc
        if times[j] >= policy.flare_reference_from_day:
            best_gain = np.maximum(best_gain, gain)
    run = fixed_arm(models, cohort, times, mgkg, grid)
    end = float(grid[-1])
    tjc, sjc = start_joint_counts(models, run, end, occasion + 1)
    assessed.update({f"tjc28_assessed@{end:g}": tjc, f"sjc28_assessed@{end:g}": sjc})
    lack, _ = start_non_response(baseline, tjc + sjc, best_gain, policy.response_pct, policy.flare_pct)
    run.flags.update(
        escalated=escalated,
        escalated_primary=primary,
        escalated_secondary=escalated & ~primary,
        escalations=n_steps.astype(float),
        **{f"jc20@{end:g}": (baseline > 0) & ~lack},
        **assessed,
    )
    return run


def _step_all(fn: Callable[..., Any], dose: np.ndarray, interval: np.ndarray, mask: np.ndarray, **kw: Any) -> None:
    """Apply a scalar step rule to every (dose, interval) state present under ``mask``, in place."""
    for d, w in {(float(a), float(b)) for a, b in zip(dose[mask], interval[mask])}:
        s = fn(d, w, **kw)
        sel = mask & (dose == d) & (interval == w)
        dose[sel], interval[sel] = s.dose_mg_per_kg, s.interval_weeks


def nordrum_step(dose: np.ndarray, interval: np.ndarray, band: np.ndarray, due: np.ndarray, policy: Any) -> None:
    """NOR-DRUM B's step for every patient at once, in place: low -> one step up, high -> one
    step down (the policy's step sizes and preference; ``NordrumTdm._on_trough`` for one patient)."""
    _step_all(
        step_up,
        dose,
        interval,
        due & (band == "low"),
        rules=policy.rules,
        prefer=policy.prefer,
        dose_step_mg_per_kg=policy.dose_step_mg_per_kg,
        interval_step_weeks=policy.interval_step_weeks,
    )
    _step_all(
        step_down,
        dose,
        interval,
        due & (band == "high"),
        dose_step_mg_per_kg=policy.dose_step_mg_per_kg,
        interval_step_weeks=policy.interval_step_weeks,
        rules=policy.rules,
    )


def maintenance_arm(
    models: Models, cohort: Cohort, label_regimen: str, grid: np.ndarray, entry_day: float, end_day: float, tdm: bool
) -> ArmRun:
    """NOR-DRUM B: label dosing before entry, then standard care or proactive TDM to ``end_day``."""
    policy: Any = get_policy("nordrum-tdm")  # NordrumTdm (its band and step fields)
    P = cohort.n
    t_pre, d_pre = regimen_mg_per_kg(label_regimen, entry_day - 1.0)
    times = [np.full(P, t) for t in t_pre]
    doses = [np.full(P, d) for d in d_pre]
    dose = np.full(P, d_pre[-1])
    interval = np.full(P, 8.0)
    next_day = np.full(P, float(entry_day))
    active = np.ones(P, bool)
    switched = np.zeros(P, bool)
    visits = 0
    while True:
        due = active & (next_day <= end_day)
        if not due.any():
            break
        run = fixed_arm(models, cohort, np.column_stack(times), np.column_stack(doses), grid, entry_day)
        if tdm:
            idx = np.searchsorted(grid, next_day)
            c = run.exposure.conc_mg_l[np.arange(P), np.minimum(idx, grid.size - 1)]
            level = measured(models, c, cohort.residual_z[:, visits % cohort.residual_z.shape[1]])
            onset = run.exposure.onset_day < next_day
            stop = due & ada_switch_mask(onset, np.where(onset, ADA_STOP_UG_L, np.nan), np.zeros(P, bool))
            switched |= stop
            active &= ~stop
            due &= ~stop
            band = band_array(level, policy.low_mg_l, policy.high_mg_l, high_inclusive=True)
            nordrum_step(dose, interval, band, due, policy)
        times.append(np.where(due, next_day, np.nan))
        doses.append(np.where(due, dose, 0.0))
        next_day = np.where(due, next_day + 7.0 * interval, next_day)
        visits += 1
    run = fixed_arm(models, cohort, np.column_stack(times), np.column_stack(doses), grid, entry_day)
    run.flags.update(
        switched=switched,
        final_dose_mg_per_kg=np.where(switched, np.nan, dose),
        final_interval_weeks=np.where(switched, np.nan, interval),
        trough_end=conc_at(run, min(end_day, float(grid[-1]))),
    )
    return run


def programmed_arm(models: Models, cohort: Cohort, regimen: str, grid: np.ndarray) -> ArmRun:
    """RRRR programmed (S15): the standard schedule with mg/kg from week 14 by baseline TNF tier."""
    times, base = regimen_mg_per_kg(regimen, float(grid[-1]))
    first = int(np.searchsorted(times, 14 * 7.0))
    tiers = np.array([tnf_tier(float(x)) for x in cohort.covariates["tnf_pg_ml"]])
    mgkg = np.tile(base, (cohort.n, 1))
    for tier, (at_14, later) in TIER_DOSES.items():
        sel = tiers == tier
        mgkg[sel, first] = at_14
        mgkg[sel, first + 1 :] = later
    run = fixed_arm(models, cohort, times, mgkg, grid)
    run.flags.update(tnf_high=(tiers == "high"), tnf_low=(tiers == "low"))
    return run
