"""Anti-drug antibodies (ADA) by assay: thresholds per unit and assay type, with citations.

- µg/L (= ng/mL, the same number): NOR-DRUM B (Syversen 2021, seed S13) stopped infliximab
  at ADA >= 50 µg/L. The same threshold applies to every policy and to ``recommend``.
- AU/mL (arbitrary units, e.g. drug-tolerant assays): no conversion to µg/L exists, so
  the 50 µg/L rule cannot be applied; the result counts as positive and a warning asks
  for a titre in µg/L. Assumption: nothing else is inferred from an AU/mL number.
- ADA positive with an undetectable drug level means treatment failure by antibodies
  (Bendtzen 2006, seed S12): switch, never escalate — for every policy and unit.
- A drug-sensitive assay is blind to ADA while drug is present (S12): a negative result
  with a measurable level may be a false negative (a warning, not a decision).
- Assumption: "undetectable" = below the assay's LLOQ, in a level drawn from 7 days before
  the ADA sample onwards (same visit).
- Assumption: a *negative* result reported with a titre at or above the stop threshold
  (50 µg/L) contradicts itself: an input error (see ``plausibility``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

from ifxdose.domain.decisions.cite import Citation, cite
from ifxdose.domain.patient import AdaResult, PatientHistory, as_date

ADA_STOP_UG_L = 50.0  # Syversen 2021 (S13): ADA >= 50 ug/L -> stop infliximab and switch
SAME_VISIT_DAYS = 7  # Assumption (module docstring)
Unit = Literal["ug/L", "AU/mL", "unknown"]


def titre_unit(ada: AdaResult) -> Unit:
    if ada.titre_unit is None:
        return "unknown"
    unit = ada.titre_unit.replace("µ", "u").replace("μ", "u").replace(" ", "").lower()
    if unit in ("ug/l", "ng/ml"):
        return "ug/L"
    if unit in ("au/ml", "au/l", "u/ml"):
        return "AU/mL"
    return "unknown"


def titre_ug_l(ada: AdaResult) -> float | None:
    return ada.titre if ada.titre is not None and titre_unit(ada) == "ug/L" else None


@dataclass
class AdaStatus:
    """What the latest ADA result means for a decision today."""

    result: AdaResult | None = None
    positive: bool = False
    high: bool = False  # titre >= 50 ug/L
    undetectable_level: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def switch(self) -> bool:
        """Stop infliximab and switch (S13 high titre; S12 ADA with an undetectable level)."""
        return self.positive and (self.high or self.undetectable_level)

    def reason(self) -> str:
        a = self.result
        assert a is not None
        if self.high:
            return (
                f"anti-drug antibodies {a.titre:g} {a.titre_unit} on {a.date} are at or above "
                f"{ADA_STOP_UG_L:g} µg/L: stop infliximab and switch to another biologic rather than escalate"
            )
        return (
            f"anti-drug antibodies on {a.date} with an undetectable infliximab level: the drug is being "
            "cleared by antibodies; switch rather than escalate"
        )

    def reason_ja(self) -> str:
        a = self.result
        assert a is not None
        if self.high:
            return (
                f"{a.date}の抗薬物抗体 {a.titre:g} {a.titre_unit} は {ADA_STOP_UG_L:g} µg/L 以上です。増量ではなく、"
                "インフリキシマブを中止して他の生物学的製剤へ切り替えてください。"
            )
        return (
            f"{a.date}に抗薬物抗体が陽性で、インフリキシマブ濃度は検出限界未満です。抗体により薬剤が除去されて"
            "いるため、増量ではなく切り替えを推奨します。"
        )

    def citations(self) -> list[Citation]:
        return [cite("S13")] if self.high else [cite("S12"), cite("S13")]


def ada_status(history: PatientHistory, today: date) -> AdaStatus:
    known = [a for a in history.ada if a.date <= today]
    if not known:
        return AdaStatus()
    last = known[-1]
    status = AdaStatus(result=last, positive=last.result == "positive")
    if not status.positive:
        return status
    unit = titre_unit(last)
    ug = titre_ug_l(last)
    status.high = ug is not None and ug >= ADA_STOP_UG_L
    start = last.date - timedelta(days=SAME_VISIT_DAYS)
    status.undetectable_level = any(lv.below_lloq for lv in history.levels if start <= as_date(lv.date) <= today)
    if unit == "AU/mL":
        status.warnings.append(
            f"ADA positive on {last.date} in AU/mL ({last.titre:g} {last.titre_unit}): the "
            f"{ADA_STOP_UG_L:g} µg/L stop rule (S13) cannot be applied to arbitrary units; "
            "retest with a titre in µg/L"
        )
    elif last.titre is None:
        status.warnings.append(
            f"ADA positive on {last.date} without a titre: the {ADA_STOP_UG_L:g} µg/L stop "
            "rule (S13) cannot be applied; retest with a titre in µg/L"
        )
    return status


def ada_switch_mask(positive: np.ndarray, titre_ug_l_: np.ndarray, level_below_lloq: np.ndarray) -> np.ndarray:
    """Vectorised :attr:`AdaStatus.switch` for trial arms (NaN titre = not in µg/L)."""
    high = np.nan_to_num(np.asarray(titre_ug_l_, float), nan=-1.0) >= ADA_STOP_UG_L
    switch: np.ndarray = np.asarray(positive, bool) & (high | np.asarray(level_below_lloq, bool))
    return switch
