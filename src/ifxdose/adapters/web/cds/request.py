"""Parsing a CDS Hooks request: malformed requests are a :class:`CdsError` with HTTP 400
and a body naming each field and its problem (the same ``FieldError`` shape as the API's 422).

Checked: ``hook`` is the service's hook; ``hookInstance`` is a UUID; ``fhirServer`` is
given when ``fhirAuthorization`` is; ``context`` has ``userId`` and ``patientId`` and, for
order-select / order-sign, ``draftOrders`` as a FHIR Bundle (validated with
``fhir.resources`` R4B); ``prefetch`` is an object of resources (or null, as the spec allows).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal
from uuid import UUID

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from ifxdose.adapters.web.cds.services import Service
from ifxdose.adapters.web.forms import FieldError, describe_errors
from ifxdose.app.exchange import validate_bundle
from ifxdose.core.errors import InputError

Json = dict[str, Any]
MAX_BODY_BYTES = 10_000_000


class CdsError(Exception):
    """An answer other than 200: ``status`` with a JSON ``body``."""

    def __init__(self, status: int, body: Json) -> None:
        self.status = status
        self.body = body
        super().__init__(status, body)


def bad_request(errors: list[FieldError]) -> CdsError:
    message = "; ".join(f"{e.field}: {e.msg}" for e in errors)
    return CdsError(
        400, {"error": "invalid CDS Hooks request", "message": message, "detail": [e.model_dump() for e in errors]}
    )


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")  # CDS Hooks allows extensions


class FhirAuthorization(_Open):
    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str


class Context(_Open):
    userId: str = Field(min_length=1, max_length=256, description="e.g. Practitioner/123")
    patientId: str = Field(min_length=1, max_length=64, description="the FHIR id of the patient")
    encounterId: str | None = Field(default=None, max_length=256)


class OrderContext(Context):
    selections: list[str] | None = None
    draftOrders: Any = Field(description="a FHIR Bundle of draft orders")

    @field_validator("draftOrders")
    @classmethod
    def _bundle(cls, value: Any) -> Json:
        kind = value.get("resourceType") if isinstance(value, dict) else type(value).__name__
        if kind != "Bundle":
            raise ValueError(f"must be a FHIR Bundle (an object with resourceType 'Bundle'; got {kind!r})")
        try:
            validate_bundle(value)
        except InputError as exc:
            raise ValueError(f"not a valid FHIR R4B Bundle: {exc}") from None
        return value


class HookRequest(_Open):
    hook: str
    hookInstance: UUID = Field(description="a UUID for this hook call")
    fhirServer: AnyHttpUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: Context
    prefetch: dict[str, Json | None] | None = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> "HookRequest":
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return self


@cache
def _model_for(service: Service) -> type[HookRequest]:
    hook = Literal[service.hook]  # type: ignore[valid-type]
    context = OrderContext if service.orders else Context
    return create_model(
        f"HookRequest_{service.hook}",
        __base__=HookRequest,
        hook=(hook, Field(description=f"must be {service.hook!r} for this service")),
        context=(context, ...),
    )


def parse_json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY_BYTES:
        raise bad_request(
            [
                FieldError(
                    field="(body)",
                    value=f"{len(raw)} bytes",
                    allowed=f"at most {MAX_BODY_BYTES}",
                    msg="request too large",
                )
            ]
        )
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_request(
            [FieldError(field="(body)", value=None, allowed="a JSON object", msg=f"the body is not JSON ({exc})")]
        ) from None


def parse_request(service: Service, raw: bytes) -> HookRequest:
    """The validated request for ``service``, or a 400 :class:`CdsError`."""
    data = parse_json(raw)
    try:
        return _model_for(service).model_validate(data)
    except ValidationError as exc:
        raise bad_request(describe_errors(exc, ())) from None


class AcceptedSuggestion(_Open):
    id: str = Field(min_length=1, max_length=64)


class OverrideReason(_Open):
    reason: Json | None = Field(default=None, description="one of the card's overrideReasons (a Coding)")
    userComment: str | None = None


class FeedbackItem(_Open):
    card: UUID
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] = Field(default_factory=list)
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str = Field(min_length=1, max_length=64)


class Feedback(_Open):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


def parse_feedback(raw: bytes) -> Feedback:
    try:
        return Feedback.model_validate(parse_json(raw))
    except ValidationError as exc:
        raise bad_request(describe_errors(exc, ())) from None


def openapi_body(model: type[BaseModel]) -> Json:
    """``openapi_extra`` documenting ``model`` as the JSON body (its ``$defs`` inlined)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        return [inline(item) for item in node] if isinstance(node, list) else node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}
