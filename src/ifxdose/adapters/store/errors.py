"""Errors of the store that are not bad input (bad input is ``InputError``)."""

from __future__ import annotations


class NotFound(LookupError):
    """No such patient, recommendation or user."""

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key!r} not found")


class Conflict(ValueError):
    """The write contradicts what is stored (e.g. a patient code that exists)."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field = field
        self.value = value
        super().__init__(f"{field}: {value!r} {message}")
