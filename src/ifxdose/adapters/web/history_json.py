"""A patient history from uploaded JSON text, shared by the HTML import form and the JSON API
(neither router imports the other)."""

from __future__ import annotations

import json

from pydantic import ValidationError

from ifxdose.adapters.web.forms import describe_errors, refuse_bool_numbers
from ifxdose.core.errors import InputError
from ifxdose.domain.patient import PatientHistory


def parse_history(raw: bytes | str) -> PatientHistory:
    """A history from JSON text; every failure is an InputError (422), never a 500."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        document = None  # not JSON: reported by the validation below
    refuse_bool_numbers(PatientHistory, document)
    try:
        return PatientHistory.model_validate_json(raw)
    except ValidationError as exc:
        first = describe_errors(exc)[0]
        raise InputError(first.field, first.value, f"{first.allowed} ({first.msg})") from None
    except (TypeError, ValueError) as exc:  # e.g. mixing dates with and without a UTC offset
        raise InputError("history", "(document)", f"a valid patient history: {exc}") from None
