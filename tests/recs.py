"""Hand-built domain ``Recommendation`` values for adapter tests (stand-in engines, the store,
FHIR and CDS mapping): every number is written here, so a test checks the mapping against
these, not against what the engine printed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ifxdose.domain.estimation import EstimateSummary
from ifxdose.domain.recommend import Option, Recommendation, Target

CITATION = "Bendtzen 2006, Arthritis Rheum 54:3782 [S13-bendtzen-2006]"


def make_option(**changes: Any) -> Option:
    """165 mg (3 mg/kg at 55 kg, 2 vials) every 8 weeks from 2024-09-02."""
    fields: dict[str, Any] = {
        "label": "current",
        "dose_mg_per_kg": 3.0,
        "dose_mg": 165.0,
        "vials": 2,
        "interval_weeks": 8.0,
        "next_date": dt.date(2024, 9, 2),
        "predicted_trough_median_mg_l": 2.0,
        "predicted_trough_p10_mg_l": 1.0,
        "predicted_trough_p90_mg_l": 3.0,
        "predicted_trough_p2_5_mg_l": 0.5,
        "predicted_trough_p97_5_mg_l": 4.0,
        "pta": 0.9,
        "cost_per_year_jpy": 750090,
        "prescribed_mg_per_kg": 3.0,
        "wasted_mg": 35.0,
        "vials_per_year": 13.04,
        "change": "keep",
    }
    return Option.model_validate({**fields, **changes})


def make_estimate(**changes: Any) -> EstimateSummary:
    """A two-eta estimate from one level of 0.8 mg/L at day 98 (prediction 0.9 mg/L), SIR of 300 draws."""
    fields: dict[str, Any] = {
        "model": "fake",
        "model_version": "0",
        "eta_parameters": ["CL", "V1"],
        "eta_map": [0.25, -0.1],
        "eta_sd_posterior": [0.2, 0.15],
        "eta_sd_prior": [0.3, 0.2],
        "individual_parameters": {"CL": {"value": 0.37, "unit": "L/day"}, "V1": {"value": 3.1, "unit": "L"}},
        "objective": {"ofv": 3.2, "ofv_prior_mode": 5.0, "gradient_norm": 1e-6, "evaluations": 40, "starts": []},
        "posterior": {"kind": "sir", "n": 300, "proposals": 1500, "effective_sample_size": 1000.0, "max_weight": 0.01},
        "samples": [{"day": 98.0, "observed_mg_l": 0.8, "below_lloq": False, "lloq_mg_l": 0.1, "ipred_mg_l": 0.9}],
        "warnings": [],
    }
    return EstimateSummary.model_validate({**fields, **changes})


def make_recommendation(**changes: Any) -> Recommendation:
    """An 'infuse' recommendation with :func:`make_option` chosen, unless ``changes`` say otherwise
    (``action="stop", chosen=None, options=[]`` for a stop)."""
    option = changes.pop("option", None) or make_option()
    fields: dict[str, Any] = {
        "action": "infuse",
        "chosen": option,
        "options": [option],
        "target": Target.lower(1.0, source="fake"),
        "pta_threshold": 0.9,
        "rationale": "stand-in engine",
        "citations": [CITATION],
        "model": "fake",
        "model_version": "0",
        "estimation": make_estimate(),
        "warnings": ["stand-in engine"],
        "inputs_sha256": "0" * 64,
        "today": dt.date(2024, 8, 26),
        "generated_at": dt.datetime(2024, 8, 26, 9, 0, tzinfo=dt.timezone.utc),
        "decision": "keep",
    }
    return Recommendation.model_validate({**fields, **changes})
