"""API request and response schemas that are not domain models (entries themselves are the
domain's ``ifxdose.domain.patient`` models). Kept apart from the database tables."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ifxdose.app.clinic import CODE_PATTERN
from ifxdose.domain.patient import Infusion, PatientInfo
from ifxdose.domain.recommend import Option, Recommendation

MAX_VIALS = 50


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    username: str
    role: str
    locale: str
    csrf_token: str


class LocaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locale: Literal["ja", "en"]


class PatientCreate(PatientInfo):
    id: str = Field(
        min_length=1,
        max_length=64,
        pattern=CODE_PATTERN,
        description="pseudonymous code: letters, digits, '.', '_' and '-', never a name",
    )
    baseline_tnf_pg_ml: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)


class InfusionIn(Infusion):
    """An infusion as recorded: the history's fields plus the vials used."""

    vials: int | None = Field(default=None, ge=1, le=MAX_VIALS, description="default: dose_mg in whole 100 mg vials")


class Created(BaseModel):
    kind: str
    id: int | str
    patient: str


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accept", "override"]
    reason: str = Field(default="", max_length=2000, description="required to override")
    option_index: int | None = Field(default=None, ge=0, le=100, description="the option taken (default: chosen)")


class RecommendationOut(BaseModel):
    """A stored recommendation: the domain's ``Recommendation`` as the engine returned it, and
    what the clinician did with it (``chosen_option``: the option taken, the domain's ``Option``)."""

    model_config = ConfigDict(protected_namespaces=())
    id: int
    superseded: bool = Field(False, description="computed before data were recorded or corrected: cannot be accepted")
    created_at: dt.datetime
    created_by: str
    model: str
    model_version: str
    action: str
    status: str
    recommendation: Recommendation
    chosen_option: Option | None
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None


class VoidIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="why the entry is wrong (required)")


class Voided(BaseModel):
    kind: str
    id: int
    patient: str


class EntryOut(BaseModel):
    """A recorded entry with its id (to amend or void it) and, if voided, who, when and why."""

    id: int
    entry: dict[str, Any]
    voided_at: dt.datetime | None = None
    voided_by: str | None = None
    void_reason: str | None = None
    amends_id: int | None = None
