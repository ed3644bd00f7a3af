"""What routes depend on, as ``Annotated`` aliases: the store, the signed-in user (pages
redirect to sign-in, the API answers 401), writer roles (403), CSRF checks, the locale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import timezone, tzinfo
from typing import Annotated, Any, Callable

from fastapi import Depends, Path, Request

from ifxdose.adapters.web import i18n
from ifxdose.adapters.web.sessions import CSRF_FIELD, CSRF_HEADER, csrf_ok
from ifxdose.app import auth
from ifxdose.app.auth import Store, User
from ifxdose.app.clinic import CODE_PATTERN, WRITER_ROLES
from ifxdose.app.errors import NotFound
from ifxdose.core.errors import InputError
from ifxdose.domain.evidence import Study, get_study

PatientCode = Annotated[str, Path(pattern=CODE_PATTERN, max_length=64, description="pseudonymous patient code")]
RecId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StudyId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


def find_study(study_id: str) -> Study:
    """The evidence study, or 404 (a page and the JSON API look studies up the same way)."""
    try:
        return get_study(study_id)
    except InputError:
        raise NotFound("study", study_id) from None


class SignInRequired(Exception):
    """Not signed in (pages: redirect to the sign-in page; API: 401)."""


class Forbidden(Exception):
    """Signed in, but the role may not do this, or the CSRF token is missing or wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def session_of(request: Request) -> dict[str, Any]:
    return request.state.session


def optional_user(request: Request) -> User | None:
    if hasattr(request.state, "user"):
        return request.state.user
    session = session_of(request)
    user = None
    if isinstance(session.get("uid"), int):
        user = auth.get_user(get_store(request), session["uid"])
        if user is not None and user.session_epoch != session.get("epoch"):
            user = None  # signed out elsewhere
    request.state.user = user
    return user


def current_user(request: Request) -> User:
    user = optional_user(request)
    if user is None:
        raise SignInRequired()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def _writer(user: User) -> User:
    if user.role not in WRITER_ROLES:
        raise Forbidden("role")
    return user


async def form_writer(request: Request, user: CurrentUser) -> User:
    """A writer posting a form with the session's CSRF token."""
    form = await request.form()
    if not csrf_ok(session_of(request), form.get(CSRF_FIELD)):
        raise Forbidden("csrf")
    return _writer(user)


async def form_user(request: Request, user: CurrentUser) -> User:
    """Any signed-in user posting a form (e.g. language, sign-out) with the CSRF token."""
    form = await request.form()
    if not csrf_ok(session_of(request), form.get(CSRF_FIELD)):
        raise Forbidden("csrf")
    return user


def api_user(request: Request, user: CurrentUser) -> User:
    """A signed-in user calling the API with the session's CSRF token in X-CSRF-Token."""
    if not csrf_ok(session_of(request), request.headers.get(CSRF_HEADER)):
        raise Forbidden("csrf")
    return user


def api_writer(user: Annotated[User, Depends(api_user)]) -> User:
    return _writer(user)


FormWriter = Annotated[User, Depends(form_writer)]
FormUser = Annotated[User, Depends(form_user)]
ApiUser = Annotated[User, Depends(api_user)]
ApiWriter = Annotated[User, Depends(api_writer)]


def locale_of(request: Request) -> str:
    user = optional_user(request)
    if user is not None and user.locale in i18n.LOCALES:
        return user.locale
    chosen = session_of(request).get("lang")
    if chosen in i18n.LOCALES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en") or accept.startswith("ja"):
        return accept[:2]
    return request.app.state.settings.default_locale


@dataclass
class Locale:
    code: str
    t: Callable[..., str]
    zone: tzinfo = timezone.utc

    def date(self, value) -> str:
        """A clinic date or local clinic time as recorded (entries are clinic-local already)."""
        return i18n.format_date(value, self.code)

    def stamp(self, value) -> str:
        """A moment the app recorded (created, decided, voided: stored in UTC; SQLite gives
        them back without zone) as date and time in the clinic's time zone."""
        if value is None:
            return "—"
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        local = value.astimezone(self.zone).replace(tzinfo=None)
        return i18n.format_date(
            local.replace(second=0, microsecond=0)
            if (local.hour or local.minute)
            else local.replace(minute=0, second=0, microsecond=0),
            self.code,
        ) + ("" if (local.hour or local.minute) else " 00:00")

    def num(self, value, digits: int = 1) -> str:
        return i18n.format_number(value, self.code, digits)

    def fixed(self, value, digits: int = 1) -> str:
        """Exactly ``digits`` decimals (a table column lines up), "—" for none."""
        return "—" if value is None else f"{value:,.{digits}f}"

    def pct(self, value) -> str:
        return i18n.format_percent(value, self.code)

    def yen(self, value) -> str:
        return i18n.format_yen(value, self.code)


def get_locale(request: Request) -> Locale:
    code = locale_of(request)
    return Locale(code=code, t=i18n.translator(code), zone=request.app.state.settings.zone)


LocaleDep = Annotated[Locale, Depends(get_locale)]


def today(request: Request):
    return request.app.state.settings.current_date()


def actor(user: User) -> str:
    return user.username
