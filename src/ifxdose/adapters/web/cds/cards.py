"""CDS Hooks cards written from a Recommendation or a DueStatus (presentation only: the
numbers and the decision come from ``ifxdose.domain``).

Card attributes follow CDS Hooks 2.0: ``uuid``, ``summary`` (one sentence, < 140
characters), ``indicator`` (info | warning | critical), ``detail`` (GitHub Markdown),
``source`` (``label`` and a ``topic`` Coding), ``suggestions`` (with ``selectionBehavior``),
``overrideReasons`` (Codings with ``display``) and ``links`` (``absolute``).

Indicator: ``critical`` when the engine says stop or switch; ``warning`` when a draft
order asks for another dose or interval than recommended, the chosen option has label
flags, or no option reaches the PTA threshold; ``info`` otherwise.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from ifxdose.app.exchange import LOCAL_BASE, DraftOrder
from ifxdose.domain.clinic import DueStatus
from ifxdose.domain.recommend import Option, Recommendation

Json = dict[str, Any]
MAX_SUMMARY_CHARS = 139  # the spec: "<140 characters"
TOPICS = f"{LOCAL_BASE}/CodeSystem/cds-topic"  # Assumption: local code systems, like codes.LOCAL
OVERRIDE = f"{LOCAL_BASE}/CodeSystem/cds-override-reason"
TOPIC_DOSE = {"system": TOPICS, "code": "infliximab-dose", "display": "Infliximab dose and interval"}
TOPIC_LEVEL = {"system": TOPICS, "code": "infliximab-level-due", "display": "Infliximab trough level due"}
OVERRIDE_REASONS = [
    {"system": OVERRIDE, "code": code, "display": display}
    for code, display in (
        ("clinical-judgement", "Clinical judgement: factors the model does not know"),
        ("recent-data-missing", "Recent level, weight or antibody result not in the record"),
        ("patient-preference", "Patient preference"),
        ("cost-or-supply", "Cost, insurance or vial supply"),
    )
]
NOT_A_DEVICE = "Research software; not a medical device. The prescriber decides."


def _summary(text: str) -> str:
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"


def _target(rec: Recommendation) -> str:
    return rec.target.text().replace(">=", "≥")


def card(summary: str, indicator: str, detail: str, topic: Json, **extra: Any) -> Json:
    return {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(summary),
        "indicator": indicator,
        "detail": detail,
        "source": {"label": "ifxdose", "topic": topic},
        **{k: v for k, v in extra.items() if v},
    }


def patient_link(base_url: str, code: str | None) -> list[Json] | None:
    if code is None:
        return None
    return [{"label": f"ifxdose: patient {code}", "url": f"{base_url.rstrip('/')}/patients/{code}", "type": "absolute"}]


def differs(draft: DraftOrder, chosen: Option) -> bool:
    return (
        (draft.dose_mg is not None and abs(draft.dose_mg - chosen.dose_mg) > 0.5)
        or (
            draft.dose_mg_per_kg is not None
            and abs(draft.dose_mg_per_kg - (chosen.prescribed_mg_per_kg or chosen.dose_mg_per_kg)) > 0.05
        )
        or (draft.interval_weeks is not None and abs(draft.interval_weeks - chosen.interval_weeks) > 0.01)
    )


def indicator(rec: Recommendation, drafts: Iterable[DraftOrder]) -> str:
    chosen = rec.chosen
    if rec.action in ("stop", "switch") or chosen is None:
        return "critical"
    if (
        chosen.label_flags
        or chosen.pta < rec.pta_threshold
        or rec.decision in ("resample", "reduce")
        or any(differs(d, chosen) for d in drafts)
    ):
        return "warning"
    return "info"


def _draft_text(draft: DraftOrder) -> str:
    dose = (
        f"{draft.dose_mg:g} mg"
        if draft.dose_mg is not None
        else f"{draft.dose_mg_per_kg:g} mg/kg"
        if draft.dose_mg_per_kg is not None
        else "no dose stated"
    )
    every = f"every {draft.interval_weeks:g} weeks" if draft.interval_weeks is not None else "no interval stated"
    return f"{draft.reference or 'draft order'}: {dose}, {every}"


def _bullets(title: str, items: Iterable[str]) -> str:
    lines = [f"- {item}" for item in items]
    return f"**{title}:**\n" + "\n".join(lines) if lines else ""


def _option_table(rec: Recommendation, o: Option) -> str:
    rows = [
        ("Dose", f"{o.dose_mg:g} mg ({o.dose_mg_per_kg:.2f} mg/kg, {o.vials} × 100 mg vials) IV"),
        ("Interval", f"every {o.interval_weeks:g} weeks, next on {o.next_date.isoformat()}"),
        ("Predicted steady-state trough, median", f"{o.predicted_trough_median_mg_l:.2f} mg/L"),
        ("Predicted trough, 80% interval", f"{o.predicted_trough_p10_mg_l:.2f}–{o.predicted_trough_p90_mg_l:.2f} mg/L"),
        (f"Probability of target attainment (trough {_target(rec)})", f"{o.pta:.0%}"),
        ("Cost per year", "price unknown" if o.cost_per_year_jpy is None else f"{o.cost_per_year_jpy:,} JPY"),
        ("Label flags", "; ".join(o.label_flags) or "none"),
    ]
    if o.pct_change_mg_per_kg is not None:
        rows.insert(1, ("Change in mg/kg vs current", f"{o.pct_change_mg_per_kg:+.1f}%"))
    rows += [
        (
            f"Trough under {m.model}",
            "—"
            if m.predicted_trough_median_mg_l is None
            else f"{m.predicted_trough_median_mg_l:.2f} mg/L {m.note}".strip(),
        )
        for m in rec.model_spread
    ]
    return "| | |\n|---|---|\n" + "\n".join(f"| {name} | {value} |" for name, value in rows)


def dose_detail(rec: Recommendation, drafts: list[DraftOrder], skipped: list[str]) -> str:
    parts = [
        _option_table(rec, rec.chosen) if rec.chosen is not None else f"**Action: {rec.action}**",
        f"**Why:** {rec.rationale}",
        f"**理由:** {rec.rationale_ja}" if rec.rationale_ja else "",  # Japanese clinicians read this line
        _bullets(
            "Draft order",
            [
                _draft_text(d)
                + (" — differs from the recommendation" if rec.chosen is not None and differs(d, rec.chosen) else "")
                for d in drafts
            ],
        ),
        _bullets("Warnings", rec.warnings),
        _bullets("Next visit", rec.next_visit.advice if rec.next_visit else []),
        _bullets("Sources", rec.citations),
        _bullets("Not read from the record", skipped[:20]),
        f"Model: {rec.model} {rec.model_version} ({rec.model_grade}). {NOT_A_DEVICE}",
    ]
    return "\n\n".join(p for p in parts if p)


def dose_summary(rec: Recommendation) -> str:
    """One line from the engine's decision (no clinical rule here)."""
    o = rec.chosen
    if rec.decision == "change_mechanism":
        return "Change mechanism: adequate infliximab level with active disease; do not escalate"
    if rec.action == "switch":
        return "Switch from infliximab: anti-drug antibodies (high titre or undetectable level); do not escalate"
    if o is None:
        return "Stop infliximab: " + rec.rationale.split(":")[0]
    if rec.decision == "resample":
        return f"Re-sample a trough before deciding; meanwhile {o.dose_mg:g} mg every {o.interval_weeks:g} weeks"
    if rec.decision == "reduce":
        return f"Remission, high trough: offer {o.dose_mg:g} mg every {o.interval_weeks:g} weeks, or stopping"
    return f"Infliximab {o.dose_mg:g} mg every {o.interval_weeks:g} weeks: {o.pta:.0%} chance of trough {_target(rec)}"


def dose_card(
    rec: Recommendation,
    drafts: list[DraftOrder],
    *,
    proposal: Json | None,
    links: list[Json] | None,
    skipped: list[str],
) -> Json:
    """The card for an infliximab order; ``proposal`` is the exporter's MedicationRequest."""
    suggestion: Json | None = None
    if rec.chosen is not None and proposal is not None:
        o = rec.chosen
        suggestion = {
            "label": f"Order {o.dose_mg:g} mg every {o.interval_weeks:g} weeks instead",
            "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [
                {"type": "create", "description": "Create the MedicationRequest ifxdose proposes", "resource": proposal}
            ],
        }
    elif rec.chosen is None:
        removable = [d.reference for d in drafts if d.reference]
        if removable:
            suggestion = {
                "label": "Remove the draft infliximab order",
                "uuid": str(uuid.uuid4()),
                "isRecommended": True,
                "actions": [{"type": "delete", "description": f"Remove {ref}", "resourceId": ref} for ref in removable],
            }
    return card(
        dose_summary(rec),
        indicator(rec, drafts),
        dose_detail(rec, drafts, skipped),
        TOPIC_DOSE,
        suggestions=[suggestion] if suggestion else None,
        selectionBehavior="at-most-one" if suggestion else None,
        overrideReasons=OVERRIDE_REASONS,
        links=links,
    )


def level_card(due: DueStatus, links: list[Json] | None) -> Json:
    when = due.next_infusion_date.isoformat() if due.next_infusion_date else "soon"
    detail = (
        f"Infusion {due.next_infusion_number} is due on {when} ({due.reason}) and no infliximab level has "
        "been measured since the last infusion. A trough drawn just before the infusion lets ifxdose "
        "individualise the next dose and interval.\n\n" + NOT_A_DEVICE
    )
    return card(
        f"Infliximab trough level due before infusion {due.next_infusion_number} on {when}",
        "info",
        detail,
        TOPIC_LEVEL,
        links=links,
    )


def notice_card(summary: str, detail: str, level: str = "info") -> Json:
    """A card saying why there is no advice (data ifxdose could not read or use)."""
    return card(summary, level, detail + "\n\n" + NOT_A_DEVICE, TOPIC_DOSE)
