"""Recommendations as stored: what the engine saw (input snapshot), what it said (the whole
Recommendation), and what the clinician did with it (accepted, or overridden with a reason)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from sqlalchemy import select

from ifxdose.adapters.store.audit import audit
from ifxdose.adapters.store.checks import check_value
from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.records import _patient
from ifxdose.adapters.store.tables import RecommendationRow
from ifxdose.core.errors import InputError

Decision = Literal["accept", "override"]


def save_recommendation(store: Store, code: str, payload: dict[str, Any], snapshot: dict[str, Any], *,
                        user: str) -> int:
    """Store a Recommendation (``.model_dump(mode="json")``) with the history it was computed from."""
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row = RecommendationRow(patient_id=patient.id, created_by=user, input_snapshot=snapshot,
                                model=str(payload.get("model", "")), model_version=str(payload.get("model_version", "")),
                                action=str(payload.get("action", "")), payload=payload, status="proposed")
        session.add(row)
        session.flush()
        audit(session, user, "create", "recommendation", row.id, code,
              {"action": row.action, "model": row.model, "model_version": row.model_version})
        return row.id


def _option_labels(row: RecommendationRow) -> list[str]:
    return [str(o.get("label")) for o in row.payload.get("options", [])]


def decide(store: Store, code: str, rec_id: int, decision: Decision, *, user: str, reason: str = "",
           option: str | None = None) -> RecommendationRow:
    """Accept the recommendation (its chosen option, or ``option``), or override it with a reason."""
    reason = (reason or "").strip()
    check_value("reason", reason)
    if decision not in ("accept", "override"):
        raise InputError("decision", decision, "allowed values are 'accept' or 'override'")
    if decision == "override" and not reason:
        raise InputError("reason", reason, "a reason is required to override a recommendation")
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row = session.scalars(select(RecommendationRow).where(
            RecommendationRow.id == rec_id, RecommendationRow.patient_id == patient.id)).first()
        if row is None:
            raise NotFound("recommendation", rec_id)
        if row.status != "proposed":
            raise Conflict("recommendation", rec_id, f"was already {row.status}")
        chosen = (row.payload.get("chosen") or {}).get("label")
        if option is not None and option != "" and option not in _option_labels(row):
            raise InputError("option", option, f"allowed options are {', '.join(_option_labels(row))}")
        row.status = "accepted" if decision == "accept" else "overridden"
        row.chosen_option = option or (chosen if decision == "accept" else None)
        row.decided_by, row.decided_at = user, datetime.now(timezone.utc)
        row.decision_reason = reason or None
        audit(session, user, row.status, "recommendation", row.id, code,
              {"option": row.chosen_option, "reason": row.decision_reason})
        return row


def recommendations(store: Store, code: str, limit: int = 20) -> list[RecommendationRow]:
    """Newest first."""
    with store.transaction() as session:
        patient = _patient(session, code)
        return list(session.scalars(select(RecommendationRow).where(RecommendationRow.patient_id == patient.id)
                                    .order_by(RecommendationRow.id.desc()).limit(limit)))


def accepted_plan(store: Store, code: str) -> RecommendationRow | None:
    """The newest accepted recommendation, whose chosen option plans the next infusion."""
    with store.transaction() as session:
        patient = _patient(session, code)
        return session.scalars(select(RecommendationRow).where(
            RecommendationRow.patient_id == patient.id, RecommendationRow.status == "accepted")
            .order_by(RecommendationRow.id.desc()).limit(1)).first()
