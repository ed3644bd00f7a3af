"""Accounts, sign-in and sessions, and opening the clinic database: the use cases the web's
sign-in routes and the CLI (``ifxdose serve``, ``clinic-user``, ``fhir --into-db``) share, so
neither adapter reads the store itself.

Sign-in is rate limited in the database (``adapters/store/limiter.py``): the adapter names the
limiter keys (per client and user name, per client; ``adapters/web/sessions.py``), this use case
counts the attempt, checks the password, audits the sign-in and clears the user's count after a
success — in that order, so a refused attempt never reaches the password check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ifxdose.adapters import store as st
from ifxdose.adapters.store import Store as Store
from ifxdose.adapters.store.tables import User as User
from ifxdose.app.settings import database_url
from ifxdose.core.errors import InputError

#: Why a sign-in was refused: too many attempts in the window, or a wrong name or password.
SignInError = Literal["too_many", "failed"]


def sign_in(
    store: Store, username: str, password: str, *, limits: dict[str, int], clears: list[str], window_s: float
) -> tuple[User | None, SignInError | None]:
    """``(user, None)``, or ``(None, why)``. ``limits``: {limiter key: attempts allowed per window};
    ``clears``: the keys a success resets (the user's). Blocking (password hashing): call in a thread."""
    reserved = st.reserve_attempt(store, limits, window_s)
    if reserved is None:
        return None, "too_many"
    user = st.authenticate(store, username, password)
    st.record_sign_in(store, username, user is not None)
    if user is None:
        return None, "failed"
    st.forget_attempts(store, clears, reserved)
    return user, None


def get_user(store: Store, user_id: int) -> User | None:
    """The account with this id, or None (a session naming a deleted user)."""
    return st.get_user(store, user_id)


def sign_out(store: Store, user_id: int) -> None:
    """End every session of the user (the session cookies carry an epoch the store advances)."""
    st.end_sessions(store, user_id)


def set_locale(store: Store, user_id: int, locale: str) -> User:
    """The user's language (``ja`` or ``en``); InputError naming ``locale`` otherwise."""
    return st.set_locale(store, user_id, locale)


def create_user(
    store: Store, username: str, password: str, role: str, *, locale: str = "ja", by: str = "system"
) -> int:
    """A local account (role physician | pharmacist | readonly); audited as written ``by``."""
    return st.create_user(store, username, password, role, locale=locale, by=by)


def open_clinic(url: str | None = None, *, create: bool = True) -> Store:
    """The clinic database at ``url`` (default ``IFXDOSE_DATABASE_URL``, else the app's), migrated.
    With ``create=False`` a SQLite file that does not exist is an InputError naming
    ``IFXDOSE_DATABASE_URL`` (an export never creates an empty database)."""
    from sqlalchemy.engine import make_url

    url = url or database_url()
    database = make_url(url).database
    if (
        url.startswith("sqlite")
        and database not in (None, "", ":memory:")
        and not create
        and not Path(database).expanduser().is_file()
    ):
        raise InputError("IFXDOSE_DATABASE_URL", url, "an existing clinic database (or a history JSON file)")
    return st.open_store(url)
