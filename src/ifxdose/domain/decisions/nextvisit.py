"""The next visit: when to draw the next trough, when to retest ADA, how to infuse, and
premedication after a reaction — in English and Japanese.

- Trough: pre-dose, on the day of the next infusion, before it starts (S13 measured troughs
  at every infusion in the TDM arm).
- ADA: Assumption: retest with the next trough when ADA were positive, or the last level
  was below 1 mg/L or undetectable (ADA are what makes a level low, S12); otherwise with
  the trough at least once a year (Assumption: local practice).
- Infusion time: the label's 2 hours for infusions 1-3; from the 4th, shorter if earlier
  2-hour infusions were uneventful (Mitsubishi Tanabe patient information); never
  shortened after a reaction.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from ifxdose.domain.decisions.cite import Citation, cite
from ifxdose.domain.decisions.reactions import ReactionStatus

ADA_ROUTINE_DAYS = 365  # Assumption: local practice
LOW_LEVEL_MG_L = 1.0  # S10/S11: >= 1 mg/L goes with response


class NextVisit(BaseModel):
    trough_date: date | None = None
    ada_retest_date: date | None = None
    advice: list[str] = []
    advice_ja: list[str] = []
    citations: list[Citation] = []


def next_visit(
    next_infusion: date | None,
    infusion_number: int | None,
    reaction: ReactionStatus,
    ada_positive: bool,
    last_level_low: bool,
    last_ada: date | None,
) -> NextVisit:
    v = NextVisit(citations=[cite("label-jp-infusion")])
    if next_infusion is None:
        v.advice.append("no further infliximab: no trough is needed; follow disease activity")
        v.advice_ja.append("インフリキシマブは継続しないため、トラフ測定は不要です。疾患活動性を経過観察してください。")
        return v
    v.trough_date = next_infusion
    v.advice.append(f"draw a pre-dose trough on {next_infusion}, before the infusion starts")
    v.advice_ja.append(f"{next_infusion}の投与開始前にトラフ（投与前）濃度を採血してください。")
    if ada_positive or last_level_low:
        v.ada_retest_date = next_infusion
        why = "ADA were positive" if ada_positive else "the last level was low or undetectable"
        v.advice.append(f"retest anti-drug antibodies with that trough ({why})")
        v.advice_ja.append(
            "そのトラフと同時に抗薬物抗体を再検査してください（"
            + ("抗体陽性のため" if ada_positive else "前回濃度が低値または検出限界未満のため")
            + "）。"
        )
    else:
        due = (last_ada + timedelta(days=ADA_ROUTINE_DAYS)) if last_ada else next_infusion
        v.ada_retest_date = max(due, next_infusion)
        v.advice.append(f"anti-drug antibodies: with the trough on or after {v.ada_retest_date} (yearly)")
        v.advice_ja.append(f"抗薬物抗体：{v.ada_retest_date}以降のトラフと同時に測定してください（年1回）。")
    if reaction.severity == "mild":
        v.advice.append(reaction.premedication())
        v.advice_ja.append(reaction.premedication_ja())
        v.citations.append(cite("infusion-reaction"))
    elif infusion_number is not None and infusion_number <= 3:
        v.advice.append("infuse over at least 2 hours (label, infusions 1-3)")
        v.advice_ja.append("2時間以上かけて点滴してください（添付文書、1〜3回目）。")
    else:
        v.advice.append(
            "infuse over 2 hours; from the 4th infusion the time may be shortened if earlier 2-hour "
            "infusions were uneventful"
        )
        v.advice_ja.append("2時間かけて点滴します。2時間の点滴で異常がなければ、4回目以降は点滴時間を短縮できます。")
    return v
