"""Answering a hook call: parse, gather the patient's data, call the engine, write cards.

- order-select / order-sign: no draft infliximab MedicationRequest -> no cards; else one
  card from ``recommend(history, today=...)`` (via the app's recommender) with the
  exporter's MedicationRequest as a ``create`` suggestion (stop/switch: a ``delete`` of the
  draft order instead). Data ifxdose cannot read, or a history the engine cannot use
  (e.g. no infusion yet), gives one card saying why instead of silence.
- patient-view: one card when ``due_status`` says a trough level is due, else none (and
  none for records ifxdose cannot read: this hook fires on every chart).
- feedback: one audit row per outcome (card uuid, outcome, suggestion ids, override
  reason code); no patient identifier and no free-text comment is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ifxdose.adapters.web.cds.cards import dose_card, level_card, notice_card, patient_link
from ifxdose.adapters.web.cds.prefetch import patient_data
from ifxdose.adapters.web.cds.request import HookRequest, parse_feedback, parse_request
from ifxdose.adapters.web.cds.services import Service
from ifxdose.app import clinic
from ifxdose.app.clinic import Store
from ifxdose.app.engine import Recommender
from ifxdose.app.exchange import infliximab_orders, proposed_request
from ifxdose.core.errors import InputError
from ifxdose.domain.clinic import due_status

Json = dict[str, Any]
FEEDBACK_USER = "cds-client"


@dataclass
class CallEnv:
    """What a call needs from the app."""

    store: Store
    recommender: Recommender
    today: date
    tz: str
    base_url: str


def order_cards(req: HookRequest, env: CallEnv) -> Json:
    drafts = infliximab_orders(req.context.draftOrders)  # type: ignore[attr-defined]
    if not drafts:
        return {"cards": []}
    try:
        data = patient_data(req, env.store, tz=env.tz)
    except InputError as exc:
        return {
            "cards": [
                notice_card("ifxdose could not read this patient's record for infliximab dosing", f"`{exc}`", "warning")
            ]
        }
    try:
        rec = env.recommender.recommend(data.history, today=env.today)
    except InputError as exc:
        return {"cards": [notice_card("ifxdose has no infliximab dose advice for this patient", f"`{exc}`")]}
    proposal = proposed_request(rec, req.context.patientId) if rec.chosen else None
    return {
        "cards": [
            dose_card(
                rec, drafts, proposal=proposal, links=patient_link(env.base_url, data.stored_code), skipped=data.skipped
            )
        ]
    }


def level_cards(req: HookRequest, env: CallEnv) -> Json:
    try:
        data = patient_data(req, env.store, tz=env.tz)
    except InputError:
        return {"cards": []}
    due = due_status(data.history, env.today, data.planned_date)
    if not due.level_due:
        return {"cards": []}
    return {"cards": [level_card(due, patient_link(env.base_url, data.stored_code))]}


def respond(service: Service, raw: bytes, env: CallEnv) -> Json:
    """The hook response for a request body (CdsError for 400 and 412)."""
    req = parse_request(service, raw)
    return order_cards(req, env) if service.orders else level_cards(req, env)


def record_feedback(service: Service, raw: bytes, store: Store) -> Json:
    """Each card's outcome (accepted, overridden with a reason) in the audit log."""
    feedback = parse_feedback(raw)
    events = []
    for item in feedback.feedback:
        reason = (item.overrideReason.reason if item.overrideReason else None) or {}
        detail = {
            "service": service.id,
            "card": str(item.card),
            "outcome": item.outcome,
            "accepted_suggestions": [s.id for s in item.acceptedSuggestions],
            "override_reason": {k: reason.get(k) for k in ("system", "code", "display")} if reason else None,
            "outcome_timestamp": item.outcomeTimestamp,
        }
        events.append((f"cds-{item.outcome}", "cds-card", detail))
    clinic.record_events(store, FEEDBACK_USER, events)
    return {"received": len(feedback.feedback)}
