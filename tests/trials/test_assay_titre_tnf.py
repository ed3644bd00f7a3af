"""Issue 12 mechanisms against independent truths: the assay rule by hand, titre-dependent
clearance against the closed form of a 1-compartment washout, the TNF scaling of the response
as an EC50 shift, parameter uncertainty in the replication intervals, and the estimator's
covariates from the history."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.core.immunogenicity import reported_positive
from ifxdose.core.pk.parse import parse_model
from ifxdose.core.response import emax_logit_probability
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.timeline import CRP_FLOOR_MG_L, history_covariates
from ifxdose.domain.trials import engine as E
from ifxdose.domain.trials.models import AdaModel, Models, ResponseModel, load_models
from ifxdose.domain.trials.runner import replicate_models, run_trial


def test_drug_sensitive_assay_reports_only_below_its_tolerance_after_onset():
    onset = np.array([10.0, 10.0, 10.0, np.inf])
    days = np.array([0.0, 14.0, 28.0])
    conc = np.array(
        [
            [0.5, 5.0, 3.0],  # low only before onset -> missed
            [9.0, 0.5, 9.0],  # low after onset -> reported
            [9.0, 9.0, 9.0],  # drug always present -> missed
            [0.1, 0.1, 0.1],
        ]
    )  # no true ADA -> never reported
    assert reported_positive(onset, days, conc, 1.0).tolist() == [False, True, False, False]
    assert reported_positive(onset, days, conc, np.inf).tolist() == [True, True, True, False]


def _one_cmt_model(ada_theta: float) -> object:
    return parse_model(
        {
            "title": "t",
            "structure": "1cmt",
            "citation": "c",
            "population": "p",
            "parameters": {"CL": {"value": 0.3}, "V1": {"value": 3.0}},
            "covariate_effects": [
                {"parameter": "CL", "covariate": "ada", "form": "linear", "reference": 0.0, "theta": ada_theta}
            ],
            "variability": {"parameters": ["CL"], "omega": [[0.1]]},
        },
        "t",
    )


def test_titre_rise_gives_the_mature_clearance_after_titre_rise_days():
    """One 2-h infusion, then ADA from day 5: the level follows exp(-k t) with k switching at onset
    (x1.5) and at onset + TITRE_RISE_DAYS (x MATURE_ADA_CL_FACTOR), checked against the closed form."""
    pk = _one_cmt_model(0.5)
    cohort = E.Cohort(
        {"weight_kg": np.array([70.0]), "mtx": np.array([0.0])},
        np.zeros((1, 1)),
        np.array([1.0]),
        np.array([0.5]),
        np.zeros((1, 4)),
    )
    ada = AdaModel(h0_per_day=0.2, beta_low=0.0, threshold_mg_l=3.0, mtx_hazard_ratio=1.0)  # E = 1: onset day 5
    grid = E.daily_grid(120)
    doses = E.dose_table(np.array([0.0]), np.array([3.0]), cohort.weight_kg)
    exp = E.exposure(Models(pk, ada, None), cohort, doses, grid)  # type: ignore[arg-type]
    t0 = float(exp.onset_day[0])
    assert t0 == pytest.approx(5.0)
    k0 = 0.3 / 3.0
    dur = E.INFUSION_DAYS
    c_end = 210.0 / dur / 0.3 * (1 - np.exp(-k0 * dur))  # end of the 2-h infusion, before onset

    def closed(t):
        c_on = c_end * np.exp(-k0 * (t0 - dur))
        k1, k2 = 1.5 * k0, E.MATURE_ADA_CL_FACTOR * k0
        t1 = t0 + E.TITRE_RISE_DAYS
        return c_on * np.exp(-k1 * (min(t, t1) - t0)) * np.exp(-k2 * max(t - t1, 0.0))

    for day in (30, 70, 100):
        assert exp.conc_mg_l[0, day] == pytest.approx(closed(day), rel=1e-6)


def test_tnf_scaling_is_an_ec50_shift():
    """Ce/(TNF/0.8)^gamma in the Emax model equals EC50 x (TNF/0.8)^gamma (hill 1)."""
    cohort = E.Cohort(
        {"weight_kg": np.ones(3), "tnf_pg_ml": np.array([0.4, 0.8, 3.2])},
        np.zeros((3, 1)),
        np.zeros(3),
        np.zeros(3),
        np.zeros((3, 1)),
    )
    ce = np.array([2.0, 2.0, 2.0])
    eff = E.effective_ce(cohort, ce)
    scale = (cohort.covariates["tnf_pg_ml"] / E.TNF_REFERENCE_PG_ML) ** E.TNF_RESPONSE_GAMMA
    p_eff = emax_logit_probability(eff, -1.5, 2.0, 4.0)
    p_shift = np.array([emax_logit_probability(2.0, -1.5, 2.0, 4.0 * s) for s in scale])
    assert np.allclose(p_eff, p_shift)
    assert p_eff[0] > p_eff[1] > p_eff[2]  # TNF-high patients need more drug


def test_parameter_uncertainty_draws_differ_per_replicate_and_widen_nothing_when_off():
    models = load_models()
    variants = replicate_models(models, 4)
    assert len({v.pk.parameters["CL"].value for v in variants}) == 4
    assert len({v.ada.h0_per_day for v in variants}) > 1 and len({v.response.emax for v in variants}) > 1
    on = run_trial("elliott1994", n=40, replicates=3, seed=2, models=models)
    off = run_trial("elliott1994", n=40, replicates=3, seed=2, models=models, parameter_uncertainty=False)
    assert on.to_dict()["parameter_uncertainty"] and not off.to_dict()["parameter_uncertainty"]
    assert on.values != off.values


def test_replicate_models_without_stored_draws_is_the_same_model():
    models = load_models()
    other = replace(
        models,
        pk=parse_model(
            {
                "title": "t",
                "structure": "1cmt",
                "citation": "c",
                "population": "p",
                "parameters": {"CL": {"value": 0.3}, "V1": {"value": 3.0}},
                "variability": {"parameters": ["CL"], "omega": [[0.1]]},
            },
            "not_mbma",
        ),
    )
    assert all(v.pk is other.pk for v in replicate_models(other, 3))


def _history(**extra) -> PatientHistory:
    start = dt.date(2024, 1, 8)
    return PatientHistory.model_validate(
        {
            "patient": {"id": "T", "sex": "female", "birth_year": 1970},
            "weights": [{"date": start.isoformat(), "weight_kg": 55.0}],
            "infusions": [{"date": start.isoformat(), "dose_mg": 165.0, "dose_mg_per_kg": 3}],
            "labs": [
                {"date": start.isoformat(), "crp_mg_l": 0.0, "albumin_g_dl": 3.5},
                {"date": (start + dt.timedelta(days=14)).isoformat(), "crp_mg_l": 25.0},
            ],
            **extra,
        }
    )


def test_history_covariates_carry_tnf_from_day_0_and_floor_crp():
    series = history_covariates(_history(baseline_tnf_pg_ml=2.0))
    assert series["tnf_pg_ml"] == [(0.0, 2.0)]
    assert series["crp_mg_l"] == [(0.0, CRP_FLOOR_MG_L), (14.0, 25.0)]
    assert series["albumin_g_dl"] == [(0.0, 3.5)]


def test_zero_tnf_is_an_input_error_naming_the_field():
    with pytest.raises(InputError, match="baseline_tnf_pg_ml"):
        history_covariates(_history(baseline_tnf_pg_ml=0.0))


def test_response_model_probability_uses_the_endpoint_intercept():
    r = ResponseModel(0.1, 2.0, 4.0, 1.0, {"acr20": -1.5, "acr50": -2.7})
    assert r.probability("acr50", np.array(0.0)) == pytest.approx(1 / (1 + np.exp(2.7)))
