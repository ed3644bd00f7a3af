"""Sign-in, sign-out and the language switch (pages and API)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from ifxdose.adapters.web.deps import ApiUser, CurrentUser, Forbidden, FormUser, StoreDep, optional_user, session_of
from ifxdose.adapters.web.forms import FieldError
from ifxdose.adapters.web.i18n import LOCALES
from ifxdose.adapters.web.render import render
from ifxdose.adapters.web.schemas import LocaleIn, SessionOut, SignIn
from ifxdose.adapters.web.sessions import CSRF_FIELD, client_address, csrf_ok, sign_in_limits
from ifxdose.app import auth

router = APIRouter(include_in_schema=False)
api = APIRouter(tags=["session"])


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/patients"


def sign_in(request: Request, store: auth.Store, username: str, password: str) -> tuple[object | None, str | None]:
    """(user, None) or (None, message key): rate limited per client and user name (and per
    client overall when the client is known), in the database (``app.auth.sign_in``); on success
    the session is renewed. Blocking: call in a thread."""
    settings = request.app.state.settings
    client, known = client_address(
        request.client.host if request.client else "-", request.headers.get("x-forwarded-for"), settings.trusted_proxies
    )
    limits, own = sign_in_limits(client, known, username, settings.sign_in_attempts)
    user, error = auth.sign_in(store, username, password, limits=limits, clears=own, window_s=settings.sign_in_window_s)
    if user is None:
        return None, f"signin.{error}"
    session = session_of(request)
    session.clear()
    session.update(uid=user.id, epoch=user.session_epoch, csrf=secrets.token_urlsafe(32), lang=user.locale)
    return user, None


@router.get("/login")
def login_page(request: Request, next: str | None = None):
    if optional_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login")
async def login(request: Request, store: StoreDep):
    form = await request.form()
    if not csrf_ok(session_of(request), form.get(CSRF_FIELD)):
        raise Forbidden("csrf")
    username, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:256]
    target = _safe_next(str(form.get("next", "")))
    user, error = await run_in_threadpool(sign_in, request, store, username, password)
    if user is None:
        status = 429 if error == "signin.too_many" else 401
        return render(
            request,
            "login.html",
            status=status,
            next=target,
            values={"username": username},
            errors={"password": FieldError(field="password", allowed="", msg=error)},
        )
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
def logout(request: Request, store: StoreDep, user: FormUser):
    auth.sign_out(store, user.id)
    session_of(request).clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/locale")
async def switch_locale(request: Request, store: StoreDep):
    form = await request.form()
    if not csrf_ok(session_of(request), form.get(CSRF_FIELD)):
        raise Forbidden("csrf")
    locale = str(form.get("locale", ""))
    if locale in LOCALES:
        session_of(request)["lang"] = locale
        user = await run_in_threadpool(optional_user, request)
        if user is not None:
            await run_in_threadpool(auth.set_locale, store, user.id, locale)
    return RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)


def _session_out(request: Request, user) -> SessionOut:
    return SessionOut(
        username=user.username, role=user.role, locale=user.locale, csrf_token=session_of(request)["csrf"]
    )


@api.post(
    "/session",
    response_model=SessionOut,
    responses={401: {"description": "wrong credentials"}, 429: {"description": "too many failed sign-ins"}},
)
def api_sign_in(request: Request, body: SignIn, store: StoreDep):
    """Sign in; the session cookie is set and the CSRF token returned (send it as X-CSRF-Token)."""
    user, error = sign_in(request, store, body.username, body.password)
    if user is None:
        return JSONResponse({"detail": error}, status_code=429 if error == "signin.too_many" else 401)
    return _session_out(request, user)


@api.get("/session", response_model=SessionOut)
def api_me(request: Request, user: CurrentUser):
    return _session_out(request, user)


@api.delete("/session", status_code=204)
def api_sign_out(request: Request, store: StoreDep, user: ApiUser):
    auth.sign_out(store, user.id)
    session_of(request).clear()


@api.put("/session/locale", response_model=SessionOut)
def api_locale(request: Request, body: LocaleIn, store: StoreDep, user: ApiUser):
    user = auth.set_locale(store, user.id, body.locale)
    session_of(request)["lang"] = body.locale
    return _session_out(request, user)
