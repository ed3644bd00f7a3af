"""Feedback: 200, one audit row per outcome, nothing patient-identifying stored."""

from __future__ import annotations

import uuid

from cds.hooks import ORDER_SELECT, example_prefetch, hook_request
from ifxdose.adapters import store as st


def test_feedback_is_audited_without_patient_data(ehr, app):
    card = ehr.post(ORDER_SELECT, json=hook_request(prefetch=example_prefetch())).json()["cards"][0]
    reason = card["overrideReasons"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "outcomeTimestamp": "2024-08-26T10:15:00+09:00",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2024-08-26T10:16:00+09:00",
                "overrideReason": {"reason": reason, "userComment": "Patient RA-0001 prefers 8 weeks"},
            },
        ]
    }
    r = ehr.post("/cds-services/ifxdose-infliximab-order-select/feedback", json=body)
    assert r.status_code == 200 and r.json() == {"received": 2}
    rows = st.audit_trail(app.state.store)[:2]
    assert [row.action for row in rows] == ["cds-overridden", "cds-accepted"]
    assert all(row.patient_code is None and row.entity == "cds-card" for row in rows)
    assert rows[1].detail["accepted_suggestions"] == [card["suggestions"][0]["uuid"]]
    assert rows[0].detail["override_reason"]["code"] == reason["code"]
    assert "RA-0001" not in str([row.detail for row in rows])  # free-text comments are not kept


def test_malformed_feedback_is_400(ehr):
    path = "/cds-services/ifxdose-level-due/feedback"
    for body, field in (
        ({}, "feedback"),
        ({"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2024-08-26"}]}, "feedback.0.card"),
        (
            {"feedback": [{"card": str(uuid.uuid4()), "outcome": "ignored", "outcomeTimestamp": "2024-08-26"}]},
            "feedback.0.outcome",
        ),
    ):
        r = ehr.post(path, json=body)
        assert r.status_code == 400 and field in [d["field"] for d in r.json()["detail"]], r.text
