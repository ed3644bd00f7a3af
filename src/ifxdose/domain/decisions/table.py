"""The decision table: drug level (PK) x disease activity -> what to do, each row with its source.

Safety rows come first and override every policy (a protocol replay keeps its arm and is
flagged instead). ``docs/decisions.md`` prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ifxdose.domain.decisions.cite import Citation, cite

HIGH_TROUGH_MG_L = 8.0  # Mulleman 2009 Table 1: high C >= 8.0 mg/L (NOR-DRUM B window top: 8 mg/L, S13)
Band = Literal["low", "adequate", "high", "any"]
ActivityRow = Literal["remission", "low", "active", "unknown", "any"]
Kind = Literal["stop", "switch", "change_mechanism", "escalate", "keep", "reduce", "resample", "induction"]


@dataclass(frozen=True)
class Row:
    id: str
    condition: str
    band: Band
    activity: ActivityRow
    kind: Kind
    advice: str
    sources: tuple[str, ...]
    assumption: str = ""

    def citations(self) -> list[Citation]:
        return [cite(s) for s in self.sources]


ROWS: tuple[Row, ...] = (
    Row(
        "severe-reaction",
        "severe infusion reaction (any infusion so far)",
        "any",
        "any",
        "stop",
        "stop infliximab",
        ("label-jp-contraindication",),
    ),
    Row(
        "ada-high",
        "ADA >= 50 µg/L (µg/L or ng/mL assay)",
        "any",
        "any",
        "switch",
        "stop infliximab and switch to another biologic; never escalate",
        ("S13",),
    ),
    Row(
        "ada-undetectable",
        "ADA positive (any unit) + undetectable level",
        "any",
        "any",
        "switch",
        "switch; never escalate",
        ("S12", "S13"),
    ),
    Row(
        "remission-never-escalate",
        "remission (SDAI <= 3.3 / DAS28 < 2.6 / CDAI <= 2.8)",
        "low",
        "remission",
        "keep",
        "keep the current dose and interval; do not escalate",
        ("label-jp-stepwise", "felson-2011"),
        "Assumption: a low trough in remission is not a reason to escalate (the JP label allows increases only "
        "for inadequate or waning response)",
    ),
    Row("remission-adequate", "remission, trough in target", "adequate", "remission", "keep", "keep", ("felson-2011",)),
    Row(
        "remission-high",
        "remission, trough above target (> window or >= 8 mg/L)",
        "high",
        "remission",
        "reduce",
        "offer de-escalation to the label standard (3 mg/kg q8w) or stopping with monitoring",
        ("rrrr", "S15", "mulleman-2009"),
    ),
    Row(
        "active-low",
        "moderate/high activity, trough below target",
        "low",
        "active",
        "escalate",
        "escalate one step (+1.5 mg/kg or -2 weeks), re-check the trough",
        ("label-jp-stepwise", "S10", "S5"),
        "Assumption: one step = +1.5 mg/kg (START, S5) or -2 weeks (S10)",
    ),
    Row(
        "active-adequate",
        "moderate/high activity, trough in target",
        "adequate",
        "active",
        "change_mechanism",
        "adequate exposure with active disease: change mechanism (a non-TNF biologic or JAK inhibitor)",
        ("mulleman-2009", "S10"),
        "Assumption: Mulleman 2009's 'switch' for a high trough with inadequate control is extended to "
        "in-target troughs (exposure is not the limiting factor)",
    ),
    Row(
        "active-measured-low",
        "moderate/high activity, measured trough below target but predicted steady-state trough in target",
        "adequate",
        "active",
        "resample",
        "keep the current regimen and re-sample a pre-dose trough before choosing between escalation and a "
        "change of mechanism",
        ("S10", "S13"),
        "Assumption: a change of mechanism rests on measured, not only predicted, adequate exposure; when the "
        "latest measured trough is below target and the prediction (e.g. after CRP fell) says adequate, the "
        "disagreement is resolved by measuring again (NOR-DRUM B measures a trough at every infusion, S13)",
    ),
    Row(
        "active-high",
        "moderate/high activity, trough above target",
        "high",
        "active",
        "change_mechanism",
        "change mechanism",
        ("mulleman-2009",),
    ),
    Row(
        "low-activity",
        "low disease activity or activity unknown",
        "any",
        "low",
        "keep",
        "model-informed: the cheapest option reaching the PTA threshold, at most one step up",
        ("S10", "S11", "label-jp-stepwise"),
    ),
    Row(
        "uncertain",
        "no option reaches the PTA threshold but the predicted median is in target",
        "any",
        "any",
        "resample",
        "re-sample a trough before deciding: the uncertainty, not the drug, is the problem",
        ("S13",),
        "Assumption: 'uncertain' = the 80 % prediction interval is wider than the target window "
        "or straddles the lower bound while the median is in target",
    ),
)


def row(id_: str) -> Row:
    return next(r for r in ROWS if r.id == id_)


def lookup(band: Band, activity: str) -> Row:
    """The PK x activity row (after the safety rows, which callers check first)."""
    if activity == "remission":
        return row(
            {"low": "remission-never-escalate", "adequate": "remission-adequate", "high": "remission-high"}[band]
        )
    if activity in ("moderate", "high", "active"):
        return row({"low": "active-low", "adequate": "active-adequate", "high": "active-high"}[band])
    return row("low-activity")
