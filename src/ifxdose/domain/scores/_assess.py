"""``assess``: every measure computable from one visit, and from a baseline if given."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping

from pydantic import BaseModel, ConfigDict, model_validator

from ifxdose.core.errors import InputError
from ifxdose.domain.scores._fields import (
    CrpMgDl,
    CrpMgL,
    EsrMmH,
    HaqDi,
    Mtss,
    Sjc28,
    Sjc66,
    Tjc28,
    Tjc68,
    VasCm,
    VasMm,
    reject_unitless,
)
from ifxdose.domain.scores.acr import AcrResponse, CoreSet, acr_n, acr_response
from ifxdose.domain.scores.boolean import BooleanRemission, boolean_remission
from ifxdose.domain.scores.das28 import CutoffName, das28_crp, das28_esr
from ifxdose.domain.scores.eular import EularResponse, eular_response
from ifxdose.domain.scores.joints import joint_counts
from ifxdose.domain.scores.results import Score
from ifxdose.domain.scores.sdai_cdai import cdai, sdai
from ifxdose.domain.scores.sharp import SharpChange, mtss_change

_CRP = ("crp_mg_l", "crp_mg_dl")
_PTGA = ("ptga_mm", "ptga_cm")
_PHGA = ("phga_mm", "phga_cm")


class Visit(BaseModel):
    """What was measured at one visit; every field optional, units in the names.

    ``tender_joints`` / ``swollen_joints`` (28-joint ids) may replace ``tjc28`` / ``sjc28``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tjc28: Tjc28 | None = None
    sjc28: Sjc28 | None = None
    tjc68: Tjc68 | None = None
    sjc66: Sjc66 | None = None
    esr_mm_h: EsrMmH | None = None
    crp_mg_l: CrpMgL | None = None
    crp_mg_dl: CrpMgDl | None = None
    ptga_mm: VasMm | None = None
    ptga_cm: VasCm | None = None
    phga_mm: VasMm | None = None
    phga_cm: VasCm | None = None
    pain_mm: VasMm | None = None
    pain_cm: VasCm | None = None
    haq_di: HaqDi | None = None
    mtss: Mtss | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_joint_lists(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        reject_unitless(data)
        counts = joint_counts(
            tender=data.pop("tender_joints", None) or (), swollen=data.pop("swollen_joints", None) or ()
        )
        for field, listed, count in (("tjc28", "tender", counts.tjc28), ("sjc28", "swollen", counts.sjc28)):
            if getattr(counts, listed) and data.get(field) not in (None, count):
                raise InputError(field, data[field], f"must equal the {count} {listed} joints listed")
            if getattr(counts, listed):
                data[field] = count
        return data


class Assessment(BaseModel):
    """All measures that the given data allow; the others are None."""

    model_config = ConfigDict(frozen=True)

    das28_esr: Score | None = None
    das28_crp: Score | None = None
    sdai: Score | None = None
    cdai: Score | None = None
    boolean_2011: BooleanRemission | None = None
    boolean_2022: BooleanRemission | None = None
    eular_esr: EularResponse | None = None
    eular_crp: EularResponse | None = None
    acr: AcrResponse | None = None
    acr_n: Score | None = None
    mtss_change: SharpChange | None = None


def _single_visit(cutoffs: CutoffName) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """measure -> (function, groups of alternative keys; every group must be given)."""
    return {
        "das28_esr": (partial(das28_esr, cutoffs=cutoffs), (("tjc28",), ("sjc28",), ("esr_mm_h",))),
        "das28_crp": (partial(das28_crp, cutoffs=cutoffs), (("tjc28",), ("sjc28",), _CRP)),
        "sdai": (sdai, (("tjc28",), ("sjc28",), _CRP, _PTGA, _PHGA)),
        "cdai": (cdai, (("tjc28",), ("sjc28",), _PTGA, _PHGA)),
        "boolean_2011": (partial(boolean_remission, version="2011"), (("tjc28",), ("sjc28",), _CRP, _PTGA)),
        "boolean_2022": (partial(boolean_remission, version="2022"), (("tjc28",), ("sjc28",), _CRP, _PTGA)),
    }


#: DAS28 takes the patient global when given (4-variable), else uses the 3-variable form.
_OPTIONAL = {"das28_esr": _PTGA, "das28_crp": _PTGA}


def _compute(name: str, func: Callable[..., Any], groups: tuple[Any, ...], given: dict[str, Any]) -> Any:
    if not all(any(key in given for key in group) for group in groups):
        return None
    keys = {key for group in groups for key in group} | set(_OPTIONAL.get(name, ()))
    return func(**{key: given[key] for key in keys if key in given})


def _visit_measures(visit: Visit, cutoffs: CutoffName) -> dict[str, Any]:
    given = visit.model_dump(exclude_none=True)
    return {name: _compute(name, func, groups, given) for name, (func, groups) in _single_visit(cutoffs).items()}


def _eular(base: Score | None, now: Score | None) -> EularResponse | None:
    if base is None or now is None or base.measure != now.measure:
        return None  # Assumption: EULAR compares the same DAS28 variant only.
    return eular_response(baseline_das28=base.value, current_das28=now.value)


def _core_set(visit: Visit) -> CoreSet | None:
    given = visit.model_dump(include=set(CoreSet.model_fields), exclude_none=True)
    return CoreSet(**given) if {"tjc68", "sjc66"} <= given.keys() else None


def _responses(baseline: Visit, visit: Visit, now: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "eular_esr": _eular(base["das28_esr"], now["das28_esr"]),
        "eular_crp": _eular(base["das28_crp"], now["das28_crp"]),
    }
    core_base, core_now = _core_set(baseline), _core_set(visit)
    if core_base is not None and core_now is not None:
        out["acr"] = acr_response(baseline=core_base, followup=core_now)
        if not out["acr"].missing and all(c.improvement_pct is not None for c in out["acr"].components):
            out["acr_n"] = acr_n(baseline=core_base, followup=core_now)
    if baseline.mtss is not None and visit.mtss is not None:
        out["mtss_change"] = mtss_change(baseline_mtss=baseline.mtss, followup_mtss=visit.mtss)
    return out


def assess(
    visit: Visit | Mapping[str, Any],
    baseline: Visit | Mapping[str, Any] | None = None,
    *,
    das28_cutoffs: CutoffName = "acr-eular-2011",
) -> Assessment:
    """Every measure computable from ``visit`` (and response measures vs ``baseline``)."""
    visit = visit if isinstance(visit, Visit) else Visit.model_validate(dict(visit))
    measures = _visit_measures(visit, das28_cutoffs)
    if baseline is not None:
        baseline = baseline if isinstance(baseline, Visit) else Visit.model_validate(dict(baseline))
        measures |= _responses(baseline, visit, measures, _visit_measures(baseline, das28_cutoffs))
    return Assessment(**measures)
