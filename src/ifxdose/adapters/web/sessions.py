"""Signed session cookies (itsdangerous), CSRF tokens, and sign-in rate limiting.

The cookie holds only the user id, the user's session epoch (bumped at sign-out, which
invalidates every older cookie), the CSRF token and the chosen language: no patient data.
It is HttpOnly and SameSite=Lax (Secure when ``secure_cookies``) and expires after
``session_max_age_s``. Every unsafe request must carry the CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
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


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: list[str]) -> tuple[str, bool]:
    """(the client's address, whether it is known). Proxy headers count only when the peer is
    one of the configured ``proxies``: then the rightmost address in X-Forwarded-For that is
    not itself a trusted proxy. A trusted proxy that sends no X-Forwarded-For leaves the
    client unknown (its own address stands for the whole clinic)."""
    if not _trusted(peer, proxies):
        return peer, True
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:64], True
    return peer, False


def sign_in_limits(client: str, known: bool, username: str, attempts: int) -> tuple[dict[str, int], list[str]]:
    """({limiter key: attempts allowed per window}, the keys a success clears): per client and
    user name; per client overall (4 x) only when the client is known, so an unknown client
    behind a proxy never locks out the whole clinic."""
    name = username.strip().lower()[:64]
    user_key = f"user:{client if known else '*'}|{name}"
    limits = {user_key: attempts}
    if known:
        limits[f"client:{client}"] = 4 * attempts
    return limits, [user_key]
