"""CDS Hooks 2.0 endpoints: ``GET /cds-services`` (discovery), ``POST /cds-services/{id}``
(a hook call), ``POST /cds-services/{id}/feedback``. Answers are JSON: 400 for a malformed
request (field and problem), 401 without the CDS token, 404 for an unknown service, 412
with an OperationOutcome when the patient's data is neither prefetched nor stored.

Authentication (CDS clients are EHRs, not signed-in browser sessions, so no app sign-in and
no CSRF token): with ``IFXDOSE_CDS_TOKEN`` set, every call must send
``Authorization: Bearer <token>``; production refuses to start without it unless
``IFXDOSE_CDS_NO_TOKEN=true``, and then only direct loopback clients (no proxy ``Forwarded``
headers, not a configured proxy) are answered; demo/test mode answer everyone. The spec's JWT (signed by the
client, keys from its JWKS URL) is not verified: a limitation documented in docs/fhir.md.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ifxdose.adapters.web.cds.request import CdsError, Feedback, HookRequest, openapi_body
from ifxdose.adapters.web.cds.respond import CallEnv, record_feedback, respond
from ifxdose.adapters.web.cds.services import SERVICES, Service, discovery
from ifxdose.adapters.web.sessions import _trusted

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
_RESPONSES = {
    400: {"description": "malformed request: field and problem"},
    401: {"description": "no or wrong bearer token (IFXDOSE_CDS_TOKEN)"},
    404: {"description": "no such service"},
}


def check_client(request: Request) -> None:
    settings = request.app.state.settings
    if settings.cds_token is not None:
        expected = f"Bearer {settings.cds_token.get_secret_value()}".encode()
        if not hmac.compare_digest(request.headers.get("authorization", "").encode(), expected):
            raise CdsError(401, {"error": "send Authorization: Bearer <IFXDOSE_CDS_TOKEN>"})
        return
    host = request.client.host if request.client else ""
    direct = not any(name in request.headers for name in _PROXY_HEADERS) and not _trusted(
        host, settings.trusted_proxies
    )  # a configured proxy is never "direct"
    if settings.mode == "production" and not (host in _LOOPBACK and direct):
        raise CdsError(401, {"error": "CDS Hooks answer only loopback clients until IFXDOSE_CDS_TOKEN is set"})


def _service(service_id: str) -> Service:
    if service_id not in SERVICES:
        raise CdsError(404, {"error": f"no CDS service {service_id[:64]!r}", "services": list(SERVICES)})
    return SERVICES[service_id]


def _error(exc: CdsError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


@router.get("", responses=_RESPONSES)
def services(request: Request):
    """The discovery document: services, hooks and prefetch templates."""
    try:
        check_client(request)
    except CdsError as exc:
        return _error(exc)
    return discovery()


@router.post(
    "/{service_id}",
    responses={**_RESPONSES, 412: {"description": "no prefetch, patient not stored"}},
    openapi_extra=openapi_body(HookRequest),
)
async def call(request: Request, service_id: str):
    """A hook call: ``{"cards": [...]}`` (order-select / order-sign: draftOrders in context)."""
    try:
        check_client(request)
        service = _service(service_id)
        state = request.app.state
        env = CallEnv(
            store=state.store,
            recommender=state.recommender,
            today=state.settings.current_date(),
            tz=state.settings.fhir_tz,
            base_url=str(request.base_url),
        )
        return await run_in_threadpool(respond, service, await request.body(), env)
    except CdsError as exc:
        return _error(exc)


@router.post("/{service_id}/feedback", responses=_RESPONSES, openapi_extra=openapi_body(Feedback))
async def feedback(request: Request, service_id: str):
    """What the clinician did with the cards (accepted / overridden): stored in the audit log."""
    try:
        check_client(request)
        service = _service(service_id)
        return await run_in_threadpool(record_feedback, service, await request.body(), request.app.state.store)
    except CdsError as exc:
        return _error(exc)
