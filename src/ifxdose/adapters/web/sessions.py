"""Signed session cookies (itsdangerous), CSRF tokens, and sign-in rate limiting.

The cookie holds only the user id, the user's session epoch (bumped at sign-out, which
invalidates every older cookie), the CSRF token and the chosen language: no patient data.
It is HttpOnly and SameSite=Lax (Secure when ``secure_cookies``) and expires after
``session_max_age_s``. Every unsafe request must carry the CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "ifxdose_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SessionCodec:
    def __init__(self, secret: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="ifxdose-session")
        self.max_age_s = max_age_s

    def load(self, cookie: str | None) -> dict[str, Any]:
        """The session in the cookie, or a new anonymous one (with a fresh CSRF token)."""
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=self.max_age_s)
                if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                    return data
            except BadSignature:
                pass
        return {"csrf": secrets.token_urlsafe(32)}

    def dump(self, session: dict[str, Any]) -> str:
        return self._serializer.dumps(session)


def csrf_ok(session: dict[str, Any], token: str | None) -> bool:
    expected = session.get("csrf", "")
    return bool(token) and bool(expected) and hmac.compare_digest(str(token), str(expected))


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per (client, username) and per client in ``window_s``."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, client: str, username: str) -> list[tuple[str, str]]:
        return [(client, username.strip().lower()), (client, "*")]

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def blocked(self, client: str, username: str) -> bool:
        now = time.monotonic()
        with self._lock:
            per_user, per_client = (self._recent(k, now) for k in self._keys(client, username))
            return len(per_user) >= self.attempts or len(per_client) >= 4 * self.attempts

    def failed(self, client: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in self._keys(client, username):
                self._recent(key, now).append(now)

    def succeeded(self, client: str, username: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(client, username)[0], None)
