"""Recommendations as stored: what the engine saw (input snapshot), what it said (the whole
Recommendation), and what the clinician did with it (accepted, or overridden with a reason)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from ifxdose.adapters.store.audit import audit
from ifxdose.adapters.store.checks import check_value
from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.records import ENTRY_KINDS, _history_data, _history_from_rows, _patient, _rows
from ifxdose.adapters.store.tables import RecommendationRow
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import PatientHistory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ifxdose.domain.recommend import Option, Recommendation

SUPERSEDED = (
    "was computed before data were recorded or corrected for this patient (superseded); compute a new recommendation"
)


def history_hash(history: PatientHistory | dict[str, Any]) -> str:
    """SHA-256 of the history's canonical JSON: equal exactly when the engine would see the same data."""
    if not isinstance(history, PatientHistory):
        history = PatientHistory.model_validate(history)
    text = json.dumps(history.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def is_superseded(row: RecommendationRow, current_hash: str) -> bool:
    """Data were recorded or corrected since ``row`` was computed (its input snapshot differs)."""
    try:
        return history_hash(row.input_snapshot) != current_hash
    except ValueError:  # a snapshot the current model no longer reads
        return True


Decision = Literal["accept", "override"]


def save_recommendation(
    store: Store, code: str, recommendation: Recommendation, snapshot: dict[str, Any], *, user: str
) -> int:
    """Store a Recommendation (as ``.model_dump(mode="json")``) with the history it was computed from."""
    payload = recommendation.model_dump(mode="json")
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row = RecommendationRow(
            patient_id=patient.id,
            created_by=user,
            input_snapshot=snapshot,
            model=str(payload.get("model", "")),
            model_version=str(payload.get("model_version", "")),
            action=str(payload.get("action", "")),
            payload=payload,
            status="proposed",
        )
        session.add(row)
        session.flush()
        audit(
            session,
            user,
            "create",
            "recommendation",
            row.id,
            code,
            {"action": row.action, "model": row.model, "model_version": row.model_version},
        )
        return row.id


def chosen_option(row: RecommendationRow) -> dict[str, Any] | None:
    """The option the clinician went with (None for an override without one, or stop/switch),
    as stored JSON; :func:`taken_option` gives it as the domain's ``Option``."""
    return json.loads(row.chosen_option) if row.chosen_option else None


def stored_recommendation(row: RecommendationRow) -> Recommendation:
    """The stored payload rehydrated: the same ``Recommendation`` the engine returned
    (``model_dump(mode="json")`` then ``model_validate`` gives an equal value)."""
    from ifxdose.domain.recommend import Recommendation

    return Recommendation.model_validate(row.payload)


def taken_option(row: RecommendationRow) -> Option | None:
    """:func:`chosen_option` as the domain's ``Option``."""
    from ifxdose.domain.recommend import Option

    data = chosen_option(row)
    return Option.model_validate(data) if data else None


def decide(
    store: Store,
    code: str,
    rec_id: int,
    decision: Decision,
    *,
    user: str,
    reason: str = "",
    option_index: int | None = None,
) -> RecommendationRow:
    """Accept the recommendation (its chosen option, or option ``option_index``), or override
    it with a reason (optionally naming the option used instead)."""
    reason = (reason or "").strip()
    check_value("reason", reason)
    if decision not in ("accept", "override"):
        raise InputError("decision", decision, "allowed values are 'accept' or 'override'")
    if decision == "override" and not reason:
        raise InputError("reason", reason, "a reason is required to override a recommendation")
    with store.transaction() as session:
        patient = _patient(session, code, lock=True)
        row = session.scalars(
            select(RecommendationRow).where(RecommendationRow.id == rec_id, RecommendationRow.patient_id == patient.id)
        ).first()
        if row is None:
            raise NotFound("recommendation", rec_id)
        if row.status != "proposed":
            raise Conflict("recommendation", rec_id, f"was already {row.status}")
        if decision == "accept" and is_superseded(row, history_hash(_history_data(session, patient))):
            raise Conflict("recommendation", rec_id, SUPERSEDED)
        options = row.payload.get("options") or []
        if option_index is not None and not 0 <= option_index < len(options):
            raise InputError(
                "option_index",
                option_index,
                f"allowed are 0 to {len(options) - 1}" if options else "this recommendation has no options",
            )
        option = (
            options[option_index]
            if option_index is not None
            else (row.payload.get("chosen") if decision == "accept" else None)
        )
        row.status = "accepted" if decision == "accept" else "overridden"
        row.chosen_option = json.dumps(option) if option else None
        row.decided_by, row.decided_at = user, datetime.now(timezone.utc)
        row.decision_reason = reason or None
        audit(
            session,
            user,
            row.status,
            "recommendation",
            row.id,
            code,
            {"option_index": option_index, "reason": row.decision_reason},
        )
        return row


def recommendations(store: Store, code: str, limit: int = 20) -> list[RecommendationRow]:
    """Newest first."""
    with store.transaction() as session:
        patient = _patient(session, code)
        return list(
            session.scalars(
                select(RecommendationRow)
                .where(RecommendationRow.patient_id == patient.id)
                .order_by(RecommendationRow.id.desc())
                .limit(limit)
            )
        )


def accepted_rows(store: Store, ids: list[int]) -> dict[int, RecommendationRow]:
    """Recommendations by id (the accepted plans of many patients in one query)."""
    with store.transaction() as session:
        return {row.id: row for row in session.scalars(select(RecommendationRow).where(RecommendationRow.id.in_(ids)))}


def accepted_plan(store: Store, code: str) -> RecommendationRow | None:
    """The newest accepted recommendation, whose chosen option plans the next infusion."""
    with store.transaction() as session:
        return _newest_accepted(session, _patient(session, code).id)


def _newest_accepted(session: Session, patient_id: int) -> RecommendationRow | None:
    return session.scalars(
        select(RecommendationRow)
        .where(RecommendationRow.patient_id == patient_id, RecommendationRow.status == "accepted")
        .order_by(RecommendationRow.id.desc())
        .limit(1)
    ).first()


@dataclass
class PageRecords:
    """What the patient page reads from the database (:func:`page_records`)."""

    history: PatientHistory
    rows: dict[str, list[Any]]  # the stored rows the history was built from, by kind, oldest first
    recommendations: list[RecommendationRow]  # newest first, at most ``limit``
    accepted: RecommendationRow | None  # the newest accepted one (its plan), if any


def page_records(store: Store, code: str, limit: int = 20) -> PageRecords:
    """The patient's history with its rows (derived columns: vials, scores), the newest
    ``limit`` recommendations and the newest accepted one, in one transaction with one look-up
    of the patient: 1 + 7 + 1 statements (one more only when none of the newest ``limit`` is
    accepted and older ones exist). The same values as :func:`~ifxdose.adapters.store.records.patient_records`,
    :func:`recommendations` and :func:`accepted_plan` read apart (tested)."""
    with store.transaction() as session:
        patient = _patient(session, code)
        rows = {kind: _rows(session, kind, patient) for kind in ENTRY_KINDS}
        newest = list(
            session.scalars(
                select(RecommendationRow)
                .where(RecommendationRow.patient_id == patient.id)
                .order_by(RecommendationRow.id.desc())
                .limit(limit)
            )
        )
        accepted = next((row for row in newest if row.status == "accepted"), None)
        if accepted is None and len(newest) == limit:  # an older accepted one may still plan
            accepted = _newest_accepted(session, patient.id)
        data = _history_from_rows(patient, rows)
    return PageRecords(PatientHistory.model_validate(data), rows, newest, accepted)
