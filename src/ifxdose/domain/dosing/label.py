"""The infliximab label for RA as rules with citations, and checks of a regimen against them.

Two rule sets live in ``data/label_rules.toml``: ``jp`` (Remicade 添付文書, seed S0) and
``us`` (REMICADE US prescribing information). Each rule carries its text, citation and
grade; a breach becomes a :class:`Flag`. Severity: ``violation`` = the label forbids it
(dose ceiling, shortest interval, the JP dose limit when the interval is shortened, route);
``warning`` = not the labelled way (induction not 3 mg/kg at 0/2/6, infusion under 2 h,
no MTX). The JP label's "stepwise" (段階的に) escalation is not a per-infusion check: the
decision engine (``ifxdose.domain.decisions``) proposes one step at a time.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.regimen import Regimen

RULE_SETS = ("jp", "us")
Severity = Literal["violation", "warning", "info"]
#: Open-ended regimens are checked over this horizon (Assumption: 54 weeks, the seed's
#: one-year trial horizon, covers induction and the repeating maintenance pattern).
DEFAULT_CHECK_HORIZON_DAYS = 54 * 7
_EPS = 1e-9


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    value: float
    unit: str
    severity: Severity
    text: str
    citation: str
    grade: str
    first_infusions: int | None = None


@dataclass(frozen=True)
class RuleSet:
    key: str
    name: str
    source: str
    standard_interval_weeks: float
    induction_weeks: tuple[float, ...]
    induction_mg_per_kg: float
    rules: tuple[Rule, ...]

    def rule(self, kind: str) -> Rule | None:
        return next((r for r in self.rules if r.kind == kind), None)

    def limit(self, kind: str, default: float) -> float:
        rule = self.rule(kind)
        return rule.value if rule is not None else default


class Flag(BaseModel):
    """One label rule a dose (or a decision) breaks, with the rule's citation."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str
    severity: Severity
    message: str
    citation: str
    infusions: list[int] = []


@cache
def load_rules(key: str = "jp") -> RuleSet:
    """The rule set ``jp`` or ``us``."""
    if key not in RULE_SETS:
        raise InputError("rules", key, f"allowed rule sets are {', '.join(RULE_SETS)}")
    text = resources.files("ifxdose.domain").joinpath("data/label_rules.toml").read_text("utf-8")
    data = tomllib.loads(text)[key]
    rules = tuple(Rule(**r) for r in data["rules"])
    return RuleSet(
        key,
        data["name"],
        data["source"],
        float(data["standard_interval_weeks"]),
        tuple(float(w) for w in data["induction_weeks"]),
        float(data["induction_mg_per_kg"]),
        rules,
    )


def as_rules(rules: str | RuleSet) -> RuleSet:
    return load_rules(rules) if isinstance(rules, str) else rules


def max_dose_mg_per_kg(interval_weeks: float, rules: str | RuleSet = "jp") -> float:
    """The label's per-infusion ceiling at this maintenance interval (JP: 6 mg/kg if shortened)."""
    rs = as_rules(rules)
    ceiling = rs.limit("max_dose_mg_per_kg", float("inf"))
    if interval_weeks < rs.standard_interval_weeks - _EPS:
        ceiling = min(ceiling, rs.limit("max_dose_shortened_interval_mg_per_kg", float("inf")))
    return ceiling


def min_interval_weeks(rules: str | RuleSet = "jp") -> float:
    return as_rules(rules).limit("min_interval_weeks", 0.0)


def _flag(rule: Rule, message: str, number: int | None = None) -> Flag:
    return Flag(
        rule_id=rule.id,
        severity=rule.severity,
        message=message,
        citation=rule.citation,
        infusions=[] if number is None else [number],
    )


def _num(x: float) -> str:
    return f"{x:g}" if abs(x - round(x, 2)) < _EPS else f"{x:.2f}"


def check_infusion(
    number: int,
    dose_mg_per_kg: float,
    gap_weeks: float | None,
    rules: str | RuleSet = "jp",
    *,
    duration_min: float = 120.0,
    route: str = "iv",
) -> list[Flag]:
    """Flags for one infusion: its 1-based ``number``, dose, and weeks since the previous one."""
    rs = as_rules(rules)
    out: list[Flag] = []
    n_induction = len(rs.induction_weeks)
    maintenance = number > n_induction
    for rule in rs.rules:
        if rule.kind == "max_dose_mg_per_kg" and dose_mg_per_kg > rule.value + _EPS:
            out.append(
                _flag(
                    rule, f"{_num(dose_mg_per_kg)} mg/kg exceeds the label ceiling of {_num(rule.value)} mg/kg", number
                )
            )
        elif (
            rule.kind == "min_interval_weeks"
            and maintenance
            and gap_weeks is not None
            and gap_weeks < rule.value - _EPS
        ):
            out.append(
                _flag(
                    rule,
                    f"interval {_num(gap_weeks)} weeks is shorter than the label's shortest, {_num(rule.value)} weeks",
                    number,
                )
            )
        elif (
            rule.kind == "max_dose_shortened_interval_mg_per_kg"
            and maintenance
            and gap_weeks is not None
            and gap_weeks < rs.standard_interval_weeks - _EPS
            and dose_mg_per_kg > rule.value + _EPS
        ):
            out.append(
                _flag(
                    rule,
                    f"{_num(dose_mg_per_kg)} mg/kg at a shortened interval "
                    f"({_num(gap_weeks)} weeks < {_num(rs.standard_interval_weeks)}) "
                    f"exceeds {_num(rule.value)} mg/kg",
                    number,
                )
            )
        elif rule.kind == "induction" and not maintenance and abs(dose_mg_per_kg - rule.value) > 1e-6:
            out.append(
                _flag(
                    rule,
                    f"induction infusion at {_num(dose_mg_per_kg)} mg/kg; the label "
                    f"gives {_num(rule.value)} mg/kg at weeks 0, 2, 6",
                    number,
                )
            )
        elif (
            rule.kind == "min_induction_gap_weeks"
            and not maintenance
            and gap_weeks is not None
            and gap_weeks < rule.value - _EPS
        ):
            out.append(
                _flag(
                    rule,
                    f"induction infusions {_num(gap_weeks)} weeks apart; the label "
                    f"spaces them at least {_num(rule.value)} weeks",
                    number,
                )
            )
        elif (
            rule.kind == "min_infusion_min"
            and route == "iv"
            and duration_min < rule.value - _EPS
            and (rule.first_infusions is None or number <= rule.first_infusions)
        ):
            out.append(
                _flag(
                    rule,
                    f"infusion over {_num(duration_min)} min; the label asks for at least {_num(rule.value)} min",
                    number,
                )
            )
        elif rule.kind == "route" and route != "iv":
            out.append(_flag(rule, f"route {route!r}: the label covers intravenous infusion only", number))
    return out


def mtx_flags(on_mtx: bool, rules: str | RuleSet = "jp") -> list[Flag]:
    """The label's MTX co-administration rule as a flag when the patient is not on MTX."""
    rule = as_rules(rules).rule("mtx_required")
    if on_mtx or rule is None:
        return []
    return [_flag(rule, "no current methotrexate: the label gives infliximab with methotrexate")]


def merge_flags(flags: list[Flag]) -> list[Flag]:
    """One flag per (rule, message), listing every infusion it applies to."""
    merged: dict[tuple[str, str], Flag] = {}
    for f in flags:
        key = (f.rule_id, f.message)
        if key in merged:
            merged[key].infusions.extend(f.infusions)
        else:
            merged[key] = f.model_copy(deep=True)
    return list(merged.values())


def check_regimen(
    regimen: Regimen,
    weight_kg: float,
    rules: str | RuleSet = "jp",
    *,
    horizon_days: float | None = None,
) -> list[Flag]:
    """Check every dose of ``regimen`` (mg doses converted at ``weight_kg``) against the label.

    Open-ended regimens are checked up to ``horizon_days`` (default 54 weeks).
    """
    from ifxdose.core.errors import check_range

    check_range("weight_kg", weight_kg, 0, 350, low_inclusive=False, unit="kg")
    rs = as_rules(rules)
    horizon = horizon_days if horizon_days is not None else DEFAULT_CHECK_HORIZON_DAYS
    flags: list[Flag] = []
    previous: float | None = None
    for number, dose in enumerate(regimen.doses(horizon), start=1):
        gap = None if previous is None else (dose.time_days - previous) / 7.0
        flags += check_infusion(
            number,
            dose.amount_mg(weight_kg) / weight_kg,
            gap,
            rs,
            duration_min=dose.duration_days * 1440.0,
            route=dose.route,
        )
        previous = dose.time_days
    return merge_flags(flags)
