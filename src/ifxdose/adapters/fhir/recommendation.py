"""What the FHIR exporter needs from a dosing recommendation.

The domain's recommendation object is being built elsewhere; any object or dict with
these attributes is accepted (``RecommendationExport.of(obj)``; extra attributes are
ignored):

- ``action``: the policy's decision, e.g. ``"continue"``, ``"escalate"``, ``"stop"``;
- ``chosen``: the proposed next infusion, or ``None`` when nothing is to be given
  (``dose_mg``, ``dose_mg_per_kg``, ``interval_weeks``, ``next_date``,
  ``predicted_trough_median_mg_l``, ``predicted_trough_p10_mg_l``,
  ``predicted_trough_p90_mg_l``, ``pta`` — probability of target attainment, 0-1);
- ``model``, ``model_version``: the PK model used (named in the Provenance);
- ``rationale``: one paragraph; ``citations``: short references, one string each.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Input(BaseModel):
    model_config = ConfigDict(extra="ignore", from_attributes=True, protected_namespaces=())


class ChosenRegimen(_Input):
    dose_mg: float = Field(gt=0, le=5000, allow_inf_nan=False)
    dose_mg_per_kg: float | None = Field(default=None, gt=0, le=20, allow_inf_nan=False)
    interval_weeks: float = Field(gt=0, le=52, allow_inf_nan=False)
    next_date: date
    predicted_trough_median_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predicted_trough_p10_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predicted_trough_p90_mg_l: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    pta: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)


class RecommendationExport(_Input):
    action: str = Field(min_length=1)
    chosen: ChosenRegimen | None = None
    model: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    citations: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, obj: Any) -> "RecommendationExport":
        """From a dict, a pydantic model or any object with the attributes above."""
        if isinstance(obj, cls):
            return obj
        if isinstance(obj, BaseModel):
            obj = obj.model_dump()
        return cls.model_validate(obj, from_attributes=not isinstance(obj, dict))
