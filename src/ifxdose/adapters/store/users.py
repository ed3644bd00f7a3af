"""Local accounts: argon2id password hashes (argon2-cffi), roles, the user's language."""

from __future__ import annotations

from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from ifxdose.adapters.store.audit import audit
from ifxdose.adapters.store.checks import check_value
from ifxdose.adapters.store.db import Store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.tables import User
from ifxdose.core.errors import InputError

Role = Literal["physician", "pharmacist", "readonly"]
ROLES: tuple[str, ...] = get_args(Role)
#: Roles that may record data and decide on recommendations.
WRITER_ROLES = frozenset({"physician", "pharmacist"})
LOCALES = ("ja", "en")
MIN_PASSWORD_CHARS = 10

_hasher = PasswordHasher()
#: Verified against when the user does not exist, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def create_user(
    store: Store, username: str, password: str, role: str, *, locale: str = "ja", by: str = "system"
) -> int:
    check_value("username", username)
    if not 1 <= len(username) <= 64:
        raise InputError("username", username, "1 to 64 characters")
    if role not in ROLES:
        raise InputError("role", role, f"allowed roles are {', '.join(ROLES)}")
    if locale not in LOCALES:
        raise InputError("locale", locale, f"allowed locales are {', '.join(LOCALES)}")
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError("password", "(hidden)", f"at least {MIN_PASSWORD_CHARS} characters")
    with store.transaction() as session:
        if session.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise Conflict("username", username, "exists")
        user = User(username=username, password_hash=_hasher.hash(password), role=role, locale=locale, session_epoch=0)
        session.add(user)
        session.flush()
        audit(session, by, "create", "user", user.id, None, {"username": username, "role": role})
        return user.id


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password matches, else None (constant work whether or not the user exists)."""
    with store.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        return user


def get_user(store: Store, user_id: int) -> User | None:
    with store.transaction() as session:
        return session.get(User, user_id)


def _update(store: Store, user_id: int, what: str, **values) -> User:
    with store.transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("user", user_id)
        for key, value in values.items():
            setattr(user, key, value)
        audit(session, user.username, "update", "user", user.id, None, {"changed": what})
        return user


def set_locale(store: Store, user_id: int, locale: str) -> User:
    if locale not in LOCALES:
        raise InputError("locale", locale, f"allowed locales are {', '.join(LOCALES)}")
    return _update(store, user_id, "locale", locale=locale)


def end_sessions(store: Store, user_id: int) -> None:
    """Invalidate every session cookie of the user (sign-out)."""
    user = get_user(store, user_id)
    if user is not None:
        _update(store, user_id, "session_epoch", session_epoch=user.session_epoch + 1)


def record_sign_in(store: Store, username: str, ok: bool) -> None:
    with store.transaction() as session:
        audit(
            session,
            username[:64] if ok else "-",
            "sign-in" if ok else "sign-in-failed",
            "session",
            None,
            None,
            {"username": username[:64]} if not ok else {},
        )
