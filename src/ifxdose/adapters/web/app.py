"""``create_app(settings)``: the clinic web app (FastAPI, server-rendered Jinja2 pages and a
JSON API under /api/v1; OpenAPI at /api/openapi.json, read as a page at /api/docs). Built by a factory, never at import."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from ifxdose.adapters.web.deps import Forbidden, SignInRequired
from ifxdose.adapters.web.forms import describe_errors, from_input_error
from ifxdose.adapters.web.guard import BodyGuard
from ifxdose.adapters.web.render import render
from ifxdose.adapters.web.sessions import COOKIE, SessionCodec
from ifxdose.adapters.web.settings import WebSettings
from ifxdose.app import clinic
from ifxdose.app.auth import Store, open_clinic
from ifxdose.app.engine import Recommender, default_recommender
from ifxdose.app.errors import Conflict, NotFound
from ifxdose.core.errors import InputError

log = logging.getLogger("ifxdose.web")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_middleware(app: FastAPI, settings: WebSettings) -> None:
    codec = SessionCodec(settings.secret_key.get_secret_value(), settings.session_max_age_s)

    @app.middleware("http")
    async def sessions_and_headers(request: Request, call_next):
        started = time.perf_counter()
        cookie = request.cookies.get(COOKIE)
        request.state.session = codec.load(cookie)
        original = dict(request.state.session)
        precompute = request.app.state.store.memo.get("precompute")  # the start job waits while requests run
        if precompute is not None:
            precompute.request_begins()
        try:
            response = await call_next(request)
        finally:
            if precompute is not None:
                precompute.request_ends()
        if request.state.session != original or cookie is None:
            response.set_cookie(
                COOKIE,
                codec.dump(request.state.session),
                max_age=settings.session_max_age_s,
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                path="/",
            )
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")  # patient data: never cached
        # No patient data in logs: the route's template (/patients/{code}), never the URL.
        route = request.scope.get("route")
        log.info(
            "%s %s %s %.0fms",
            request.method,
            getattr(route, "path", "-"),
            response.status_code,
            1000 * (time.perf_counter() - started),
        )
        return response


def _error_page(request: Request, status: int, message: str):
    return render(request, "error.html", status=status, status_code=status, message=message)


def _server_error(request: Request, exc: Exception):
    """Any unexpected error: a plain 500 with the security headers (it is answered outside
    the middleware that adds them), logged without request data."""
    log.error("unhandled %s on %s", type(exc).__name__, getattr(request.scope.get("route"), "path", "-"))
    body = {"detail": "internal error"} if _is_api(request) else None
    response = (
        JSONResponse(body, status_code=500)
        if body is not None
        else PlainTextResponse("internal error (logged); please retry or report it", status_code=500)
    )
    response.headers.update({**_SECURITY_HEADERS, "Cache-Control": "no-store"})
    return response


def _install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _server_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        detail = [e.model_dump() for e in describe_errors(list(exc.errors()))]
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=422)
        return _error_page(request, 422, "; ".join(f"{d['field']}: {d['allowed']}" for d in detail))

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError):
        if _is_api(request):
            return JSONResponse({"detail": [from_input_error(exc).model_dump()]}, status_code=422)
        return _error_page(request, 422, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        if _is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return _error_page(request, 404, str(exc))

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict):
        if _is_api(request):
            return JSONResponse(
                {
                    "detail": [
                        {
                            "field": exc.field,
                            "value": str(exc.value),
                            "msg": str(exc),
                            "allowed": "a value not already used",
                        }
                    ]
                },
                status_code=409,
            )
        return _error_page(request, 409, str(exc))

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired):
        if _is_api(request):
            return JSONResponse({"detail": "sign in first (POST /api/v1/session)"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":  # e.g. the session expired before "Compute": back to the page it was on
            referer = urlsplit(request.headers.get("referer", ""))
            same_site = not referer.netloc or referer.netloc == request.url.netloc
            target = referer.path if same_site and referer.path.startswith("/") else "/patients"
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        message = "missing or wrong CSRF token (reload the page)" if exc.reason == "csrf" else "your role may only read"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=403)
        return _error_page(request, 403, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return _error_page(request, exc.status_code, str(exc.detail))


def fill_worklist_cache(store: Store, settings: WebSettings) -> None:
    """At start, before the first request is served: every patient's due basis into the
    database cache, computed by one of the processes sharing the database (on a new database
    or after an upgrade ~4 s per 1,000; the others wait for it, then read), so no clinician's
    first worklist view pays it."""
    started = time.perf_counter()
    try:
        computed = clinic.fill_worklist_at_start(store, settings.current_date())
    except Exception as exc:  # the worklist page computes on demand (and shows the error) instead
        log.warning("worklist cache not filled at start: %s", type(exc).__name__)
        return
    log.info(
        "worklist cache %s at start in %.0f ms",
        "filled" if computed else "read",
        1000 * (time.perf_counter() - started),
    )


def queue_precompute_at_start(store: Store, settings: WebSettings) -> None:
    """After the fill: the first ``precompute_at_start`` patients in worklist order with no
    stored profile go to the background precompute (one process per data state does it)."""
    try:
        codes = clinic.precompute_at_start(store, settings.current_date(), settings.precompute_at_start)
    except Exception as exc:  # the pages compute on demand
        log.warning("precompute at start not queued: %s", type(exc).__name__)
        return
    if codes:
        log.info("precompute at start queued for %d patients", len(codes))


def compile_templates() -> None:
    """Compile every page template before serving (~0.5 s): the first view of each page no
    longer pays its compilation (the next day's first worklist view was ~150 ms, then 45)."""
    from ifxdose.adapters.web.render import TEMPLATES

    for name in TEMPLATES.env.list_templates(extensions=["html"]):
        TEMPLATES.env.get_template(name)


def _start(store: Store, settings: WebSettings) -> None:
    compile_templates()
    fill_worklist_cache(store, settings)
    queue_precompute_at_start(store, settings)
    if settings.settle_heap:
        settle_heap()


def settle_heap() -> None:
    """Collect the start's garbage, then move every object alive after the start (modules,
    templates, the worklist memo) out of the collector's generations (``gc.freeze``): the
    first request no longer pays a full collection of that heap. Measured on a real server
    process (the benchmark's next-day database): the first worklist view 284 ms, of which one
    generation-2 collection (361 ms under cProfile), later views ~50 ms; with this, 77 ms.
    Objects created later are collected as usual; shutdown unfreezes."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(_start, app.state.store, app.state.settings)
    yield
    if app.state.settings.settle_heap:
        gc.unfreeze()
    precompute = app.state.store.memo.get("precompute")
    if precompute is not None:
        await run_in_threadpool(precompute.close)


def create_app(
    settings: WebSettings | None = None, *, recommender: Recommender | None = None, store: Store | None = None
) -> FastAPI:
    """The app for ``settings`` (default: from IFXDOSE_* environment variables)."""
    from ifxdose.adapters.web.routes import include_routes

    settings = settings or WebSettings()
    app = FastAPI(
        title="ifxdose clinic",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
        description="Infliximab dosing for rheumatoid arthritis: the clinic's JSON API. "
        "Sign in with POST /api/v1/session; send the returned csrf_token as "
        "X-CSRF-Token on every write. Research software; not a medical device.",
    )
    app.state.settings = settings
    app.state.store = store or open_clinic(settings.database_url)
    app.state.recommender = recommender or default_recommender()
    if settings.precompute:
        clinic.enable_precompute(app.state.store, app.state.recommender)
    if settings.mode == "production" and settings.cds_token is None:
        log.warning(
            "IFXDOSE_CDS_NO_TOKEN: CDS Hooks run without a bearer token and answer direct loopback "
            "clients only; a reverse proxy on this machine that adds no X-Forwarded-For would expose them"
        )
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static")
    # Innermost first: the body guard runs inside the header middleware (its answers get the headers).
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)
    _install_middleware(app, settings)
    _install_handlers(app)
    include_routes(app)
    return app
