"""The one error type for bad input, shared by every layer.

Every message names the field, the offending value and what is allowed, so that the CLI
can print it as one line (exit 2) and the web API can return it as a 422.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input, with the field that is wrong and the allowed range or values."""

    def __init__(self, field: str, value: object, allowed: str, hint: str = "") -> None:
        self.field = field
        self.value = value
        self.allowed = allowed
        self.hint = hint
        message = f"{field}: {value!r} is not allowed; {allowed}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


def check_range(
    field: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
) -> float:
    """Return ``value`` if it is finite and within [low, high]; else raise InputError.

    The message states the interval with its open/closed ends and the unit.
    """
    import math

    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "expected a number") from None
    lo_ok = low is None or (number >= low if low_inclusive else number > low)
    hi_ok = high is None or (number <= high if high_inclusive else number < high)
    if math.isfinite(number) and lo_ok and hi_ok:
        return number
    left = "-inf" if low is None else f"{low:g}"
    right = "inf" if high is None else f"{high:g}"
    interval = (
        ("[" if low_inclusive and low is not None else "(")
        + f"{left}, {right}"
        + ("]" if high_inclusive and high is not None else ")")
    )
    suffix = f" {unit}" if unit else ""
    raise InputError(field, value, f"allowed range is {interval}{suffix}")


#: Optional dependency groups (pyproject ``[project.optional-dependencies]``): the top-level
#: module a feature imports -> the extra that installs it.
EXTRA_OF_MODULE = {
    "fastapi": "clinic",
    "starlette": "clinic",
    "uvicorn": "clinic",
    "jinja2": "clinic",
    "sqlalchemy": "clinic",
    "alembic": "clinic",
    "psycopg": "clinic",
    "argon2": "clinic",
    "itsdangerous": "clinic",
    "multipart": "clinic",
    "python_multipart": "clinic",
    "pydantic_settings": "clinic",
    "fhir": "fhir",
    "matplotlib": "plot",
    "dask": "scale",
    "distributed": "scale",
    "pharmpy": "nonmem",
}


class MissingExtraError(ImportError):
    """A feature needs an optional dependency that is not installed; names the extra to install."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"this needs the optional package '{module}': pip install 'ifxdose[{extra}]' (or 'ifxdose[all]')"
        )


def missing_extra(exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The :class:`MissingExtraError` for an import that failed on an optional package, else None."""
    top = (exc.name or "").split(".")[0]
    return MissingExtraError(top, EXTRA_OF_MODULE[top]) if top in EXTRA_OF_MODULE else None
