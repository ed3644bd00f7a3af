"""The canonical patient history: one JSON document read by the CLI, the web API,
estimation, policies and FHIR import (DESIGN.md). Its JSON Schema is committed as
``schemas/patient-history.schema.json``.

Conventions:
- Units are in the field names; ISO dates; a ``datetime`` where time of day matters
  (infusions and drug levels).
- Lists may come in any order; they are stored sorted by date.
- An infliximab level in µg/mL is given as mg/L (the same number).
- Time in days: :meth:`PatientHistory.day_of` counts from midnight of the first infusion
  date (:attr:`PatientHistory.reference_date`), the one clinic-to-core time conversion.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ifxdose.domain.scores.joints import JOINT_IDS

DateOrTime = date | datetime
_DAY_S = 86400.0


def as_datetime(when: DateOrTime) -> datetime:
    """A date is midnight of that day."""
    return when if isinstance(when, datetime) else datetime.combine(when, time())


def as_date(when: DateOrTime) -> date:
    return when.date() if isinstance(when, datetime) else when


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _local_times_only(self) -> "_Entry":
        """Times are the clinic's local times: an offset would make entries incomparable."""
        when = getattr(self, "date", None)
        if isinstance(when, datetime) and when.tzinfo is not None:
            raise PydanticCustomError(
                "time_zone",
                "date: {d} carries a time-zone offset; give the clinic's local time without one",
                {"d": when.isoformat()},
            )
        return self


class PatientInfo(_Entry):
    id: str = Field(min_length=1, max_length=64, description="pseudonymous code, never a name")
    sex: Literal["female", "male"]
    birth_year: int = Field(ge=1900, le=2100)


class WeightEntry(_Entry):
    date: date
    weight_kg: float = Field(gt=0, le=350, allow_inf_nan=False)


class Infusion(_Entry):
    date: DateOrTime
    dose_mg: float = Field(gt=0, le=5000, allow_inf_nan=False, description="amount given, mg")
    dose_mg_per_kg: float | None = Field(
        default=None, gt=0, le=20, description="prescribed dose in mg/kg, when prescribed per kg"
    )
    route: Literal["iv", "sc"] = "iv"
    duration_min: float = Field(default=120, ge=0, le=1440, description="infusion time; label: >= 120 min")
    product: str = Field(default="Remicade", min_length=1)
    lot: str | None = None
    reaction: str | None = Field(default=None, description="infusion reaction, free text")


class Level(_Entry):
    """An infliximab serum level (mg/L = µg/mL); a trough when taken before a dose."""

    date: DateOrTime
    value_mg_l: float | None = Field(default=None, ge=0, le=1000, allow_inf_nan=False)
    below_lloq: bool = False
    lloq_mg_l: float | None = Field(default=None, gt=0, le=100, allow_inf_nan=False)
    assay: str | None = None

    @model_validator(mode="after")
    def _value_or_lloq(self) -> "Level":
        if self.below_lloq and (self.lloq_mg_l is None or self.value_mg_l is not None):
            raise ValueError("below_lloq: true needs lloq_mg_l and no value_mg_l")
        if not self.below_lloq and self.value_mg_l is None:
            raise ValueError("value_mg_l is required unless below_lloq is true")
        return self


class AdaResult(_Entry):
    date: date
    result: Literal["negative", "positive"]
    titre: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    titre_unit: str | None = Field(default=None, description='e.g. "ug/L", "AU/mL"')
    drug_tolerant: bool | None = None

    @model_validator(mode="after")
    def _unit_with_titre(self) -> "AdaResult":
        if self.titre is not None and not self.titre_unit:
            raise ValueError("titre needs titre_unit (e.g. 'ug/L')")
        return self

    def titre_ug_l(self) -> float | None:
        """The titre in µg/L when it was reported in µg/L (or ng/mL, the same number)."""
        if self.titre is None or self.titre_unit is None:
            return None
        unit = self.titre_unit.replace("µ", "u").replace("μ", "u").lower()
        return self.titre if unit in ("ug/l", "ng/ml") else None


class LabEntry(_Entry):
    date: date
    crp_mg_l: float | None = Field(default=None, ge=0, le=500, allow_inf_nan=False)
    esr_mm_h: float | None = Field(default=None, ge=1, le=200, allow_inf_nan=False)
    albumin_g_dl: float | None = Field(default=None, ge=1, le=6.5, allow_inf_nan=False)


class MtxEntry(_Entry):
    date: date
    dose_mg_week: float = Field(ge=0, le=30, allow_inf_nan=False, description="0 = stopped")


class JointAssessment(_Entry):
    """A 28-joint assessment; joint names are those of ``ifxdose.domain.scores.JOINTS_28``."""

    date: date
    tjc28: int = Field(ge=0, le=28)
    sjc28: int = Field(ge=0, le=28)
    ptga_mm: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    phga_mm: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    pain_mm: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    haq_di: float | None = Field(default=None, ge=0, le=3, allow_inf_nan=False)
    crp_mg_l: float | None = Field(default=None, ge=0, le=500, allow_inf_nan=False)
    esr_mm_h: float | None = Field(default=None, ge=1, le=200, allow_inf_nan=False)
    tender_joints: list[str] | None = None
    swollen_joints: list[str] | None = None

    @model_validator(mode="after")
    def _joints_match_counts(self) -> "JointAssessment":
        for name, joints, count in (
            ("tender_joints", self.tender_joints, self.tjc28),
            ("swollen_joints", self.swollen_joints, self.sjc28),
        ):
            if joints is None:
                continue
            unknown = sorted(set(joints) - JOINT_IDS)
            if unknown:
                raise ValueError(
                    f"{name}: unknown joints {unknown}; allowed are "
                    "<left|right>_<shoulder|elbow|wrist|mcp1..5|pip1..5|knee>"
                )
            if len(set(joints)) != count:
                raise ValueError(f"{name} lists {len(set(joints))} joints but the count is {count}")
        return self

    @property
    def tjc_sjc(self) -> int:
        return self.tjc28 + self.sjc28


def _dated(entry: BaseModel) -> datetime:
    return as_datetime(entry.date)  # type: ignore[attr-defined]


class PatientHistory(_Entry):
    """Everything known about one patient on infliximab, in the clinic's units."""

    patient: PatientInfo
    weights: list[WeightEntry] = Field(default_factory=list)
    infusions: list[Infusion] = Field(default_factory=list)
    levels: list[Level] = Field(default_factory=list)
    ada: list[AdaResult] = Field(default_factory=list)
    labs: list[LabEntry] = Field(default_factory=list)
    mtx: list[MtxEntry] = Field(default_factory=list)
    assessments: list[JointAssessment] = Field(default_factory=list)
    baseline_tnf_pg_ml: float | None = Field(
        default=None, ge=0, le=1000, allow_inf_nan=False, description="serum TNF-alpha before the first infusion"
    )

    @model_validator(mode="after")
    def _sorted_and_consistent(self) -> "PatientHistory":
        if self.infusions:
            first_day = min(as_date(i.date) for i in self.infusions)
            for i, level in enumerate(self.levels):
                if as_date(level.date) < first_day:
                    raise PydanticCustomError(
                        "before_first_infusion",
                        "levels[{i}].date: {d} is before the first infusion {f}; "
                        "allowed are levels on or after the first infusion date",
                        {"i": i, "d": as_date(level.date).isoformat(), "f": first_day.isoformat()},
                    )
        for name in ("weights", "infusions", "levels", "ada", "labs", "mtx", "assessments"):
            entries = getattr(self, name)
            object.__setattr__(self, name, sorted(entries, key=_dated))
        return self

    # ------------------------------------------------------------------ time
    @property
    def reference_date(self) -> date:
        """The first infusion's date: day 0 of the core's time axis."""
        if not self.infusions:
            from ifxdose.core.errors import InputError

            raise InputError("infusions", [], "at least one infusion is needed to set day 0")
        return as_date(self.infusions[0].date)

    def day_of(self, when: DateOrTime) -> float:
        """Days since midnight of :attr:`reference_date` (fractional for a datetime)."""
        delta = as_datetime(when) - as_datetime(self.reference_date)
        return delta.total_seconds() / _DAY_S

    # --------------------------------------------------------- core boundary
    # ------------------------------------------------------------ look-ups
    def weight_on(self, when: DateOrTime) -> float | None:
        """Last weight on or before ``when``; before the first weight, the first (DESIGN.md)."""
        if not self.weights:
            return None
        day = as_date(when)
        known = [w.weight_kg for w in self.weights if w.date <= day]
        return known[-1] if known else self.weights[0].weight_kg

    def infusions_until(self, when: DateOrTime) -> list[Infusion]:
        """Infusions given on or before ``when`` (a date includes that whole day)."""
        day = as_date(when)
        return [i for i in self.infusions if as_date(i.date) <= day]

    def on_mtx(self, when: DateOrTime) -> bool:
        """True if the last MTX entry on or before ``when`` has a dose > 0."""
        day = as_date(when)
        known = [m for m in self.mtx if m.date <= day]
        return bool(known) and known[-1].dose_mg_week > 0
