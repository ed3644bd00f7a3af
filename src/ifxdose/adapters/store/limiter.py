"""The sign-in rate limiter, in the database so that it holds across worker processes and
cannot be raced: checking and counting an attempt is one transaction (SQLite: BEGIN
IMMEDIATE serialises it; PostgreSQL: a transaction-level advisory lock per key), and an
attempt counts *before* the password is verified, so 30 concurrent wrong passwords let at
most ``attempts`` through to the check and the rest are refused.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, text

from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.tables import SignInAttempt


def _lock(session, keys: list[str]) -> None:
    if session.bind.dialect.name == "postgresql":
        for key in sorted(keys):  # same order everywhere: no deadlock
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})


def reserve_attempt(store: Store, limits: dict[str, int], window_s: float) -> list[int] | None:
    """Count one attempt under every key of ``limits`` ({key: attempts allowed per window})
    and return the rows' ids, unless a key is already at its limit: then None (refused) and
    nothing is counted."""
    now = datetime.now(timezone.utc)
    since = now - timedelta(seconds=window_s)
    with store.transaction() as session:
        _lock(session, list(limits))
        session.execute(delete(SignInAttempt).where(SignInAttempt.key.in_(list(limits)), SignInAttempt.at < since))
        for key, allowed in limits.items():
            used = session.scalar(select(func.count()).select_from(SignInAttempt).where(SignInAttempt.key == key))
            if used >= allowed:
                return None
        rows = [SignInAttempt(key=key, at=now) for key in limits]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def forget_attempts(store: Store, keys: list[str], ids: list[int]) -> None:
    """A successful sign-in: every count under ``keys`` (the user's) is cleared, and its own
    attempt (``ids``) no longer counts anywhere (the client's count keeps earlier failures)."""
    with store.transaction() as session:
        _lock(session, keys)
        session.execute(delete(SignInAttempt).where(SignInAttempt.key.in_(keys) | SignInAttempt.id.in_(ids)))
