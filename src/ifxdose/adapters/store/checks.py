"""What storage needs beyond the domain's own validation: dates within the clinic's range
(date arithmetic stays far from year 1 and 9999), text without NUL characters (PostgreSQL
refuses them) and of bounded length. Every failure is an InputError (field, value, allowed).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from ifxdose.core.errors import InputError

EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)
MAX_TEXT_CHARS = 2000


def check_value(field: str, value: Any) -> None:
    if isinstance(value, (date, datetime)):
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(value, datetime) and value.tzinfo is not None:
            raise InputError(field, value.isoformat(), "a local clinic time without a UTC offset")
        if not EARLIEST <= day <= LATEST:
            raise InputError(field, value.isoformat(), f"allowed dates are {EARLIEST} to {LATEST}")
    elif isinstance(value, str):
        if "\x00" in value:
            raise InputError(field, value, "text may not contain NUL characters")
        if len(value) > MAX_TEXT_CHARS:
            raise InputError(field, f"{value[:20]}…", f"at most {MAX_TEXT_CHARS} characters")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_value(f"{field}[{i}]", item)
    elif isinstance(value, BaseModel):
        check_model(value, prefix=f"{field}.")


#: Patient codes that a URL can carry: letters, digits, '.', '_' and '-'.
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def check_code(field: str, code: str) -> None:
    if not re.fullmatch(CODE_PATTERN, code):
        raise InputError(
            field,
            code,
            "a pseudonymous code of letters, digits, '.', '_' and '-' "
            "(1 to 64 characters, starting with a letter or digit)",
        )


def check_model(model: BaseModel, prefix: str = "") -> None:
    """Check every field of ``model`` (recursively)."""
    for name in type(model).model_fields:
        check_value(prefix + name, getattr(model, name))
