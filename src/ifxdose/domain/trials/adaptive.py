"""Adaptive arms, vectorised over patients per decision point.

Each rule reads its numbers from the policy it replays (``get_policy(name)``), so a
policy's parameters and the trial simulation cannot drift apart. At each decision point
the arm is re-simulated with the doses decided so far (the past does not change: the
same patients and random draws), the rule is applied to every patient at once, and the
future doses are updated.

Assumptions (docs/trials.md):
- START: "TJC+SJC improved >= 20 %" is the latent ACR20 response state at the visit;
  a non-responder at a visit of weeks 22-46 is escalated. An escalated patient is a
  secondary non-responder if a responder at an earlier visit from week 22, else primary.
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

from ifxdose.domain.decisions.ada import ADA_STOP_UG_L, ada_switch_mask
from ifxdose.domain.decisions.dosing import step_down, step_up
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.policies import get_policy
from ifxdose.domain.policies.programmed import TIER_DOSES, tnf_tier
from ifxdose.domain.policies.troughs import band_array
from ifxdose.domain.trials.engine import ArmRun, Cohort, conc_at, fixed_arm, measured, regimen_mg_per_kg, responder
from ifxdose.domain.trials.models import Models


def start_arm(models: Models, cohort: Cohort, regimen: str, grid: np.ndarray) -> ArmRun:
    """START (Rahman 2007, S5): +step mg/kg at infusions 5-8 for non-responders."""
    policy: Any = get_policy("start-escalation")  # StartEscalation (its step fields)
    times, base = regimen_mg_per_kg(regimen, float(grid[-1]))
    mgkg = np.tile(base, (cohort.n, 1))
    ceiling = max_dose_mg_per_kg(8.0, policy.rules)
    escalated = np.zeros(cohort.n, bool)
    primary = np.zeros(cohort.n, bool)
    was_responder = np.zeros(cohort.n, bool)
    n_steps = np.zeros(cohort.n, int)
    for number in policy.escalation_infusions:
        j = number - 1
        if j >= times.size:
            break
        run = fixed_arm(models, cohort, times, mgkg, grid)
        resp = responder(models, run, "acr20", times[j])
        wanted = mgkg[:, j] + policy.step_mg_per_kg
        esc = ~resp & (wanted <= ceiling)
        primary |= esc & ~escalated & ~was_responder
        mgkg[esc, j:] = wanted[esc, None]
        escalated |= esc
        n_steps += esc
        was_responder |= resp
    run = fixed_arm(models, cohort, times, mgkg, grid)
    run.flags.update(
        escalated=escalated,
        escalated_primary=primary,
        escalated_secondary=escalated & ~primary,
        escalations=n_steps.astype(float),
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
