"""The errors the use cases raise besides bad input (``ifxdose.core.errors.InputError``),
re-exported so adapters above ``app`` map them to 404/409 (or exit 2) without importing the
store: ``NotFound`` (no such patient, entry, recommendation or user) and ``Conflict`` (the
write contradicts what is stored, e.g. already decided or superseded)."""

from __future__ import annotations

from ifxdose.adapters.store.errors import Conflict, NotFound

__all__ = ["Conflict", "NotFound"]
