"""Inflammation over time (issue 12): CRP falling under drug, and clearance following it.

Independent truths: the CRP suppression by hand; the engine's two-pass profile against a closed-form
1-compartment washout with week-wise clearance computed here from the same rule; a patient whose CRP
cannot fall keeps the baseline profile; and the S10 direction emerging from the mechanism (troughs rise
more in ACR20 responders than in non-responders when CRP follows the drug)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.pk.parse import parse_model
from ifxdose.core.response import crp_course_mg_l
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.models import AdaModel, load_models, models_from
from ifxdose.domain.trials.population import virtual_population


def test_crp_course_by_hand():
    crp0 = np.array([20.0, 0.2])
    conc = np.array([[0.0, 1.0, 9.0], [0.0, 1.0, 9.0]])
    got = crp_course_mg_l(crp0, conc, imax=0.9, ec50_mg_l=1.0, floor_mg_l=0.3)
    # 20 (1 - 0.9 C / (1 + C)): C = 1 -> 11, C = 9 -> 3.8; a baseline below the floor stays as it is
    np.testing.assert_allclose(got[0], [20.0, 11.0, 3.8])
    np.testing.assert_allclose(got[1], [0.2, 0.2, 0.2])
    assert crp_course_mg_l(np.array([1.0]), np.array([[1e6]]), 0.9, 1.0, 0.3)[0, 0] == pytest.approx(0.3)


@pytest.mark.parametrize("imax, ec50", [(1.5, 1.0), (-0.1, 1.0), (0.9, 0.0)])
def test_crp_course_rejects_bad_parameters(imax, ec50):
    with pytest.raises(InputError):
        crp_course_mg_l(np.array([10.0]), np.array([[1.0]]), imax, ec50, 0.3)


CL, V, THETA, REF = 0.3, 3.0, 0.12, 6.5


def _one_cmt_crp_model() -> object:
    return parse_model(
        {
            "title": "t",
            "structure": "1cmt",
            "citation": "c",
            "population": "p",
            "parameters": {"CL": {"value": CL}, "V1": {"value": V}},
            "covariate_effects": [
                {"parameter": "CL", "covariate": "crp_mg_l", "form": "power", "reference": REF, "theta": THETA},
                {"parameter": "CL", "covariate": "ada", "form": "linear", "reference": 0.0, "theta": 0.0},
            ],
            "variability": {"parameters": ["CL"], "omega": [[0.1]]},
        },
        "t",
    )


def _cohort(crp0: float) -> E.Cohort:
    return E.Cohort(
        {"weight_kg": np.array([70.0]), "mtx": np.array([0.0]), "crp_mg_l": np.array([crp0])},
        np.zeros((1, 1)),
        np.array([50.0]),  # no ADA in 120 days
        np.array([0.5]),
        np.zeros((1, 4)),
    )


def _washout(k_of_day: np.ndarray, grid: np.ndarray, dose_mg: float) -> np.ndarray:
    """1-cmt: a 2-h infusion then exponential decay with a rate constant per day (closed form)."""
    t_inf = E.INFUSION_DAYS
    k0 = k_of_day[0]
    c_end = dose_mg / (k0 * V * t_inf) * (1 - np.exp(-k0 * t_inf))
    out = np.zeros(grid.size)
    for i, t in enumerate(grid):
        if t == 0:
            continue
        # integral of k from the end of the infusion to t, k constant on [d, d+1)
        days = np.arange(0, int(np.ceil(t)))
        lo, hi = np.maximum(days, t_inf), np.minimum(days + 1.0, t)
        out[i] = c_end * np.exp(-np.sum(k_of_day[days] * np.clip(hi - lo, 0, None)))
    return out


def test_two_pass_profile_matches_a_closed_form_with_weekly_clearance():
    pk = _one_cmt_crp_model()
    grid = E.daily_grid(84)
    cohort = _cohort(30.0)
    doses = E.dose_table(np.array([0.0]), np.array([5.0]), cohort.weight_kg)
    got = E.ada_free_concentrations(pk, cohort, doses, grid, inflammation=True)[0]
    # pass 1: baseline CRP for the whole course
    k_base = CL * (30.0 / REF) ** THETA / V
    c1 = _washout(np.full(grid.size, k_base), grid, 350.0)
    # CRP under drug by the documented rule (TNF absent: scale 1), weekly means, CL from the CRP power
    crp = 30.0 * (1 - E.CRP_IMAX * c1 / (E.CRP_EC50_MG_L + c1))
    weeks = (grid // 7).astype(int)
    weekly = np.array([crp[weeks == w].mean() for w in range(weeks.max() + 1)])
    k_day = CL * (weekly[np.minimum(np.arange(grid.size) // 7, len(weekly) - 1)] / REF) ** THETA / V
    want = _washout(k_day, grid, 350.0)
    np.testing.assert_allclose(got[1:], want[1:], rtol=2e-3)
    assert got[-1] > c1[-1] * 1.05  # CRP fell, clearance fell, the level at day 84 is higher


def test_without_inflammation_or_with_crp_that_cannot_fall_the_profile_is_unchanged():
    pk = _one_cmt_crp_model()
    grid = E.daily_grid(60)
    doses = E.dose_table(np.array([0.0]), np.array([5.0]), np.array([70.0]))
    high = _cohort(30.0)
    base = E.ada_free_concentrations(pk, high, doses, grid, inflammation=False)
    np.testing.assert_allclose(
        base[0, 1:], _washout(np.full(grid.size, CL * (30 / REF) ** THETA / V), grid, 350)[1:], 2e-3
    )
    low = _cohort(0.2)  # below the 0.3 mg/L floor: CRP cannot fall
    np.testing.assert_allclose(
        E.ada_free_concentrations(pk, low, doses, grid, inflammation=True),
        E.ada_free_concentrations(pk, low, doses, grid, inflammation=False),
        rtol=1e-12,
    )


def test_models_read_the_inflammation_flag_the_calibration_wrote():
    from ifxdose.domain.trials.models import calibration_data

    doc = calibration_data()
    assert models_from({**doc, "inflammation_feedback": True}).inflammation is True
    assert models_from({k: v for k, v in doc.items() if k != "inflammation_feedback"}).inflammation is False
    assert load_models().inflammation is bool(doc.get("inflammation_feedback", False))


def test_s10_direction_emerges_troughs_rise_more_in_responders():
    """S10 (St Clair 2002): higher troughs go with response and with a greater CRP fall. With CRP on
    clearance, the week-54 trough at 3 mg/kg q8w rises (CRP falls under drug) and rises more in the
    patients who are ACR20 responders at week 54 than in non-responders."""
    models = replace(load_models(), ada=AdaModel(1e-12, 0.0, 3.0, 1.0))  # no ADA: the mechanism alone
    rng = np.random.default_rng(3)
    cohort = E.make_cohort(virtual_population("attract", 3000, rng), models, rng)
    grid = E.daily_grid(378)
    times, mgkg = E.regimen_mg_per_kg("3 mg/kg at weeks 0,2,6 then every 8 weeks until week 46", 378.0)
    doses = E.dose_table(times, mgkg, cohort.weight_kg)
    off = E.exposure(replace(models, inflammation=False), cohort, doses, grid).conc_mg_l
    on = E.exposure(replace(models, inflammation=True), cohort, doses, grid).conc_mg_l
    trough = int(np.searchsorted(grid, 377.0))
    ratio = on[:, trough] / off[:, trough]
    run = E.ArmRun(cohort, E.Exposure(grid, on, np.full(cohort.n, np.inf)), doses, {})
    resp = E.responder(models, run, "acr20", 378.0)
    assert np.median(ratio) > 1.05
    assert np.median(ratio[resp]) > np.median(ratio[~resp])
    crp = E.crp_course(cohort, on)[:, trough]
    fall = 1 - crp / cohort.covariates["crp_mg_l"]
    assert np.corrcoef(on[:, trough], fall)[0, 1] > 0


def test_elliott_1993_crp_normalisation_is_predicted_not_fitted():
    """S1 (Elliott 1993): CRP normalised in 17 of 19 patients with high CRP (weeks 0-8). Nothing was fitted
    to it; the stored calibration runs with inflammation over time."""
    from ifxdose.domain.trials import run_trial

    models = load_models()
    assert models.inflammation
    # 20 replicates, the project's replication setting (docs/trials.md): with the within-patient CRP
    # variability the interval's lower end is 89.1 % against the published 17/19 = 89.5 %
    rows = {r["quantity"]: r for r in run_trial("elliott1993", replicates=20, seed=1, models=models).rows()}
    row = rows["CRP normalised (of patients with high CRP)"]
    assert row["role"] == "prediction" and row["inside_95"]
