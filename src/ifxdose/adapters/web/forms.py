"""Bad input, described the same way on a form and in the API: the field, the value, and
what is allowed (the full range with its unit, read off the domain model's constraints).

- :func:`parse_form` validates submitted form fields with a domain model and returns the
  entry or ``{field: FieldError}`` to show next to each field;
- :func:`describe_errors` turns a pydantic ValidationError (API body, query, path) into
  the 422 body ``{"detail": [{"field", "value", "allowed", "msg", "loc"}]}``.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Literal, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError

from ifxdose.core.errors import InputError
from ifxdose.domain.patient import (
    AdaResult,
    Infusion,
    JointAssessment,
    LabEntry,
    Level,
    MtxEntry,
    PatientHistory,
    PatientInfo,
    WeightEntry,
)

#: Models whose field constraints describe a field of the same name anywhere (units in names).
KNOWN_MODELS: tuple[type[BaseModel], ...] = (
    WeightEntry,
    Infusion,
    Level,
    AdaResult,
    LabEntry,
    MtxEntry,
    JointAssessment,
    PatientInfo,
    PatientHistory,
)
_UNITS = (
    ("_mg_per_kg", "mg/kg"),
    ("_mg_week", "mg/week"),
    ("_mg_l", "mg/L"),
    ("_mm_h", "mm/h"),
    ("_g_dl", "g/dL"),
    ("_pg_ml", "pg/mL"),
    ("_kg", "kg"),
    ("_mg", "mg"),
    ("_min", "min"),
    ("_mm", "mm"),
    ("_weeks", "weeks"),
    ("_year", ""),
)


class FieldError(BaseModel):
    field: str
    value: Any = None
    allowed: str
    msg: str
    loc: list[str | int] = []


def unit_of(name: str) -> str:
    return next((unit for suffix, unit in _UNITS if name.endswith(suffix)), "")


def _literal_values(annotation: Any) -> list[str] | None:
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    for arg in get_args(annotation):
        values = _literal_values(arg)
        if values:
            return values
    return None


def allowed_for(name: str, models: Iterable[type[BaseModel]] = KNOWN_MODELS) -> str | None:
    """'allowed range is (0, 350] kg', 'allowed values are iv, sc', ... or None if unknown."""
    for model in models:
        info = model.model_fields.get(name)
        if info is None:
            continue
        values = _literal_values(info.annotation)
        if values:
            return "allowed values are " + ", ".join(values)
        low = high = None
        low_open = high_open = False
        for item in info.metadata:
            if isinstance(item, (at.Gt, at.Ge)):
                low, low_open = getattr(item, "gt", getattr(item, "ge", None)), isinstance(item, at.Gt)
            elif isinstance(item, (at.Lt, at.Le)):
                high, high_open = getattr(item, "lt", getattr(item, "le", None)), isinstance(item, at.Lt)
            elif isinstance(item, at.MaxLen):
                return f"text of at most {item.max_length} characters"
        if low is None and high is None:
            return None
        unit = unit_of(name)
        interval = (
            ("(" if low_open or low is None else "[")
            + ("-inf" if low is None else f"{low:g}")
            + ", "
            + ("inf" if high is None else f"{high:g}")
            + (")" if high_open or high is None else "]")
        )
        return f"allowed range is {interval}" + (f" {unit}" if unit else "")
    return None


def _from_ctx(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    for key, word in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if key in ctx:
            return f"allowed: {word} {ctx[key]}"
    if "expected" in ctx:
        return f"allowed values are {ctx['expected']}"
    return err.get("msg", "invalid")


def _jsonable(value: Any) -> Any:
    """The value as echoed in a 422: JSON-writable always (NaN and infinities as text)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if not isinstance(value, str) else value[:200]
    return repr(value)[:200]


_DATE_ALLOWED = "a date YYYY-MM-DD (or date and time YYYY-MM-DDTHH:MM), 1900-01-01 to 2100-12-31"


def _field_path(loc: tuple, msg: str, known: set[str]) -> tuple[str, str]:
    """(dotted path for the API, field name for the form and the range look-up)."""
    parts = [p for p in loc if p not in ("body", "query", "path", "form")]
    named = [i for i, p in enumerate(parts) if isinstance(p, str) and p in known]
    if named:
        last = named[-1]
        return ".".join(str(p) for p in parts[: last + 1]), str(parts[last])
    if parts:
        return ".".join(str(p) for p in parts), str(parts[-1])
    # a model-level rule: attach it to the first field the message names
    found = sorted((msg.index(n), -len(n), n) for n in known if n in msg)
    name = found[0][2] if found else "__all__"
    return name, name


def describe_errors(
    exc: ValidationError | list[dict[str, Any]],
    models: Iterable[type[BaseModel]] = KNOWN_MODELS,
) -> list[FieldError]:
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    models = tuple(models)
    known = {name for model in models for name in model.model_fields}
    out: dict[str, FieldError] = {}
    for err in errors:
        loc = tuple(err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        path, name = _field_path(loc, msg, known)
        if path in out:
            continue  # a union reports each alternative: keep the first
        if not loc:  # a rule across fields: its message says what is allowed
            allowed = msg
        elif err.get("type") == "time_zone":  # PatientHistory entries are clinic-local times
            allowed = "a local date and time without a UTC offset (the clinic's own time)"
        elif name == "date":
            allowed = _DATE_ALLOWED
        else:
            allowed = allowed_for(name, models) or _from_ctx(err)
        if err.get("type") == "missing":
            allowed = "required; " + allowed
        value = err.get("input") if loc else None
        out[path] = FieldError(
            field=path,
            value=_jsonable(value),
            allowed=allowed,
            msg=msg,
            loc=[p if isinstance(p, (str, int)) else str(p) for p in loc],
        )
    return list(out.values())


def from_input_error(exc: InputError) -> FieldError:
    return FieldError(field=exc.field, value=_jsonable(exc.value), allowed=exc.allowed, msg=str(exc), loc=[exc.field])


FormErrors = dict[str, FieldError]


def form_values(form, list_fields: Iterable[str] = ()) -> dict[str, Any]:
    """Submitted fields, blanks dropped; ``list_fields`` collected as lists (checkbox groups)."""
    lists = set(list_fields)
    values: dict[str, Any] = {}
    for key in form.keys():
        if key == "csrf_token":
            continue
        if key in lists:
            values[key] = [v for v in form.getlist(key) if v]
        elif (value := str(form.get(key, "")).strip()) != "":
            values[key] = value
    return values


def parse_form(model: type[BaseModel], values: dict[str, Any]) -> tuple[BaseModel | None, FormErrors]:
    data = {k: v for k, v in values.items() if k in model.model_fields}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, {e.field.split(".")[-1]: e for e in describe_errors(exc, (model, *KNOWN_MODELS))}
    except InputError as exc:
        return None, {exc.field: from_input_error(exc)}


def _allows(annotation: Any, kind: type) -> bool:
    return annotation is kind or any(_allows(arg, kind) for arg in get_args(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _nested_model(arg)) is not None), None)


def refuse_bool_numbers(model: type[BaseModel], data: Any, prefix: str = "") -> None:
    """JSON ``true``/``false`` where a number is expected is an InputError, not 1 or 0
    (pydantic's lax mode would store ``weight_kg: true`` as 1 kg); nested models and lists
    of them are checked too."""
    if not isinstance(data, dict):
        return
    for name, info in model.model_fields.items():
        if name not in data:
            continue
        value, where = data[name], f"{prefix}{name}"
        if isinstance(value, bool) and not _allows(info.annotation, bool):
            raise InputError(where, value, allowed_for(name, (model,)) or "a number, not true or false")
        nested = _nested_model(info.annotation)
        if nested is not None:
            for i, item in enumerate(value if isinstance(value, list) else [value]):
                refuse_bool_numbers(nested, item, f"{where}[{i}]." if isinstance(value, list) else f"{where}.")


class FieldSpec(BaseModel):
    """How the amend page shows one field of an entry: an input of the right type with the
    model's own range (``min``/``max`` for the browser, ``allowed`` for the reader), a list
    of choices, a checkbox or the joint picker."""

    name: str
    widget: Literal["number", "text", "select", "checkbox", "joints"]
    unit: str = ""
    min: float | None = None
    max: float | None = None
    step: str = "any"
    options: list[str] = []
    optional: bool = True
    allowed: str | None = None


def field_specs(model: type[BaseModel], names: Iterable[str]) -> list[FieldSpec]:
    """One :class:`FieldSpec` per field, read from the pydantic model (types and ranges are
    the model's, so the page cannot drift from what the store accepts)."""
    specs = []
    for name in names:
        info = model.model_fields[name]
        annotation = info.annotation
        args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
        optional = not info.is_required()
        choices = _literal_values(annotation)
        low = high = None
        for item in info.metadata:
            if isinstance(item, (at.Gt, at.Ge)):
                low = getattr(item, "gt", getattr(item, "ge", None))
            elif isinstance(item, (at.Lt, at.Le)):
                high = getattr(item, "lt", getattr(item, "le", None))
        if choices:
            specs.append(FieldSpec(name=name, widget="select", options=choices, optional=optional))
        elif bool in args:
            widget = "select" if type(None) in get_args(annotation) else "checkbox"  # yes / no / not known
            specs.append(FieldSpec(name=name, widget=widget, options=["true", "false"], optional=optional))
        elif any(get_origin(a) is list for a in args):
            specs.append(FieldSpec(name=name, widget="joints", optional=optional))
        elif int in args or float in args:
            specs.append(
                FieldSpec(
                    name=name,
                    widget="number",
                    unit=unit_of(name),
                    min=low,
                    max=high,
                    step="1" if int in args else "any",
                    optional=optional,
                    allowed=allowed_for(name, (model,)),
                )
            )
        else:
            specs.append(FieldSpec(name=name, widget="text", optional=optional))
    return specs
