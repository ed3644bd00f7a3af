"""A cache of derived results in the database (shared by every worker process): the value
for ``key`` is computed once and read back until the inputs change (the key holds a hash
of the history, so new or corrected data miss the cache by construction)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.tables import AuditRow, EstimateCache, Patient, RecommendationRow


def cached(store: Store, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The stored payload for ``key``, else ``compute()`` stored (a concurrent store of the
    same key is harmless: both computed the same thing)."""
    with store.transaction() as session:
        row = session.get(EstimateCache, key)
        if row is not None:
            return row.payload
    payload = compute()
    try:
        with store.transaction() as session:
            if session.get(EstimateCache, key) is None:
                session.add(EstimateCache(key=key, payload=payload))
    except IntegrityError:
        pass
    return payload


#: Keys per ``IN (...)`` list (one query each).
KEYS_PER_QUERY = 500


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    return (keys[i : i + KEYS_PER_QUERY] for i in range(0, len(keys), KEYS_PER_QUERY))


def cached_many(store: Store, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The stored payloads of those ``keys`` that are cached (one query per KEYS_PER_QUERY keys)."""
    found: dict[str, dict[str, Any]] = {}
    with store.transaction() as session:
        for chunk in _chunks(keys):
            found.update(
                session.execute(
                    select(EstimateCache.key, EstimateCache.payload).where(EstimateCache.key.in_(chunk))
                ).all()
            )
    return found


def put_cached(store: Store, items: dict[str, dict[str, Any]]) -> None:
    """Store payloads (keys already present are left as they are)."""
    if not items:
        return
    try:
        with store.transaction() as session:
            present: set[str] = set()
            for chunk in _chunks(list(items)):  # in this transaction (not a second connection)
                present.update(session.scalars(select(EstimateCache.key).where(EstimateCache.key.in_(chunk))))
            session.add_all(EstimateCache(key=k, payload=v) for k, v in items.items() if k not in present)
    except IntegrityError:
        pass


def data_versions(store: Store, codes: list[str] | None = None) -> dict[str, tuple[int, int | None]]:
    """{patient code: (its newest audit row id, its newest accepted recommendation id)} in two
    grouped queries, for every patient or only those ``codes`` (at most 500). Every write to a
    patient adds an audit row in the same transaction, so the first number changes exactly
    when the patient's data (or a decision) change."""
    if codes is not None and len(codes) > 500:
        raise ValueError(f"data_versions: at most 500 codes at once, got {len(codes)}")
    with store.transaction() as session:
        patients = select(Patient.code) if codes is None else select(Patient.code).where(Patient.code.in_(codes))
        listed = list(session.scalars(patients))
        in_audit = AuditRow.patient_code.is_not(None) if codes is None else AuditRow.patient_code.in_(codes)
        audit = dict(
            session.execute(
                select(AuditRow.patient_code, func.max(AuditRow.id)).where(in_audit).group_by(AuditRow.patient_code)
            ).all()
        )
        accepted_rows = RecommendationRow.status == "accepted"
        if codes is not None:
            accepted_rows = accepted_rows & Patient.code.in_(codes)
        accepted = dict(
            session.execute(
                select(Patient.code, func.max(RecommendationRow.id))
                .join(RecommendationRow, RecommendationRow.patient_id == Patient.id)
                .where(accepted_rows)
                .group_by(Patient.code)
            ).all()
        )
    return {code: (audit.get(code, 0), accepted.get(code)) for code in listed}


def claim(store: Store, key: str, detail: dict[str, Any] | None = None) -> bool:
    """True for the one caller (of every process sharing the database) whose row for ``key``
    was stored first; False for every later caller. The row is an ``estimate_cache`` row whose
    primary key makes the insert atomic on SQLite and PostgreSQL alike: a once-per-state job at
    server start (the worklist fill, the precompute queue) runs in one worker process, not in
    each."""
    try:
        with store.transaction() as session:
            if session.get(EstimateCache, key) is not None:
                return False
            session.add(EstimateCache(key=key, payload=detail or {}))
    except IntegrityError:
        return False
    return True


def data_state(store: Store) -> tuple[int, int]:
    """(newest audit row id of any patient, number of patients): changes whenever a patient's
    data change (every write adds an audit row in its transaction) or a database is restored
    or loaded with other data; the key of the jobs a server runs once per state at start."""
    with store.transaction() as session:
        newest = session.scalar(select(func.max(AuditRow.id)).where(AuditRow.patient_code.is_not(None))) or 0
        patients = session.scalar(select(func.count()).select_from(Patient)) or 0
    return int(newest), int(patients)
