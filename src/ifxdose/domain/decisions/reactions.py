"""Infusion reactions: the ``reaction`` field of every infusion is read.

- A severe (anaphylactic) reaction: stop infliximab. The JP label contraindicates the drug
  after hypersensitivity to it or to murine proteins (禁忌).
- A mild or moderate reaction: continue with premedication and a slower infusion rate
  (Mitsubishi Tanabe medical Q&A: slow or interrupt the infusion; antihistamine,
  acetaminophen; premedication lowers the risk).

Assumption: the free text is classified by keywords (English and Japanese, below); any
other non-empty text that is not a "none" word is a mild reaction. A clinician who means
"severe" should write one of the severe words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ifxdose.domain.decisions.cite import Citation, cite
from ifxdose.domain.patient import PatientHistory, as_date

SEVERE_WORDS = (
    "severe",
    "anaphyla",
    "shock",
    "grade 3",
    "grade 4",
    "bronchospasm",
    "hypotension",
    "serious",
    "重篤",
    "重度",
    "アナフィラキシー",
    "ショック",
    "血圧低下",
)
NONE_WORDS = ("", "none", "no", "nil", "-", "—", "なし", "無", "特になし", "no reaction")
Severity = Literal["none", "mild", "severe"]


def reaction_severity(text: str | None) -> Severity:
    if text is None or text.strip().lower() in NONE_WORDS:
        return "none"
    low = text.lower()
    return "severe" if any(w in low for w in SEVERE_WORDS) else "mild"


@dataclass(frozen=True)
class ReactionStatus:
    severity: Severity
    index: int | None = None
    when: date | None = None
    text: str = ""

    def stop_reason(self) -> str:
        return (
            f"severe infusion reaction at infusions[{self.index}] ({self.when}: {self.text!r}): stop infliximab; "
            "hypersensitivity to infliximab is a contraindication (JP label 禁忌)"
        )

    def stop_reason_ja(self) -> str:
        return (
            f"{self.when}の投与（infusions[{self.index}]）で重篤な投与時反応（{self.text}）がありました。"
            "インフリキシマブを中止してください（本剤に対する過敏症の既往は禁忌）。"
        )

    def premedication(self) -> str:
        return (
            f"infusion reaction at infusions[{self.index}] ({self.when}: {self.text!r}): premedicate "
            "(antihistamine, acetaminophen; a corticosteroid if there was wheezing) and infuse more slowly, "
            "over at least 2 hours; have emergency treatment ready"
        )

    def premedication_ja(self) -> str:
        return (
            f"{self.when}の投与（infusions[{self.index}]）で投与時反応（{self.text}）がありました。前投与"
            "（抗ヒスタミン薬、アセトアミノフェン。喘鳴があれば副腎皮質ステロイド）を行い、投与速度を遅くして"
            "2時間以上かけて点滴してください。緊急処置の準備をしてください。"
        )

    def citations(self) -> list[Citation]:
        return [cite("label-jp-contraindication")] if self.severity == "severe" else [cite("infusion-reaction")]


def reaction_status(history: PatientHistory, today: date) -> ReactionStatus:
    """The worst reaction so far (a severe one anywhere wins; else the latest mild one)."""
    worst = ReactionStatus("none")
    for i, inf in enumerate(history.infusions):
        if as_date(inf.date) > today:
            break
        sev = reaction_severity(inf.reaction)
        if sev == "severe" or (sev == "mild" and worst.severity != "severe"):
            worst = ReactionStatus(sev, i, as_date(inf.date), inf.reaction or "")
    return worst
