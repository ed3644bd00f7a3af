"""A cache of derived results in the database (shared by every worker process): the value
for ``key`` is computed once and read back until the inputs change (the key holds a hash
of the history, so new or corrected data miss the cache by construction)."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.exc import IntegrityError

from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.tables import EstimateCache


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
