"""The append-only audit log: one row per write, in the same transaction as the write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.tables import AuditRow


def audit(
    session: Session,
    username: str,
    action: str,
    entity: str,
    entity_id: int | None = None,
    patient_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditRow(
            username=username,
            action=action,
            entity=entity,
            entity_id=entity_id,
            patient_code=patient_code,
            detail=detail or {},
        )
    )


def audit_trail(store: Store, patient_code: str | None = None, limit: int = 200) -> list[AuditRow]:
    """Newest first; only one patient's when ``patient_code`` is given."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if patient_code is not None:
        query = query.where(AuditRow.patient_code == patient_code)
    with store.transaction() as session:
        return list(session.scalars(query))
