"""Settings of the clinic web app (pydantic-settings; environment variables IFXDOSE_*).

The app refuses to start with the published default secret key, or one shorter than 32
characters, in every mode (session cookies signed with a published key could be forged);
``ifxdose serve --demo`` generates a random one. Production also refuses to start without
a CDS Hooks token unless ``IFXDOSE_CDS_NO_TOKEN=true`` says so explicitly (logged at start).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ifxdose.app.settings import DEFAULT_DATABASE_URL

DEFAULT_SECRET = "changethis"
MIN_SECRET_CHARS = 32


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IFXDOSE_", extra="ignore")

    mode: Literal["production", "demo", "test"] = "production"
    database_url: str = Field(
        DEFAULT_DATABASE_URL, description="SQLAlchemy URL; postgresql://user@host/db for PostgreSQL"
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    session_max_age_s: int = Field(8 * 3600, ge=60, le=7 * 86400)
    secure_cookies: bool = Field(False, description="set true when served over HTTPS")
    sign_in_attempts: int = Field(5, ge=1, le=100, description="failed sign-ins allowed per window")
    sign_in_window_s: int = Field(300, ge=1, le=86400)
    default_locale: Literal["ja", "en"] = "ja"
    today: dt.date | None = Field(None, description="fix 'today' (demo and tests); default: the real date")
    cds_token: SecretStr | None = Field(
        None,
        description="bearer token CDS Hooks clients must send; unset: "
        "CDS endpoints answer only loopback clients (and demo/test mode)",
    )
    cds_no_token: bool = Field(
        False,
        description="production without IFXDOSE_CDS_TOKEN: CDS answers direct loopback clients only (logged at start)",
    )
    fhir_tz: str = Field("UTC", description="zone of the history's naive times in FHIR import and export")
    clinic_tz: str = Field(
        "UTC", description="the clinic's IANA time zone (e.g. Asia/Tokyo): 'today' and every time shown"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses of reverse proxies whose "
        "X-Forwarded-For is believed (JSON list); others' headers are ignored",
    )
    max_body_bytes: int = Field(6_000_000, ge=1024, le=100_000_000, description="larger request bodies: 413")
    max_json_depth: int = Field(64, ge=8, le=512, description="deeper JSON bodies: 422 (CDS: 400)")
    precompute: bool = Field(
        True, description="compute a patient's plot profile in the background after each write (the page reads it)"
    )
    precompute_at_start: int = Field(
        250,
        ge=0,
        le=1_000_000,
        description="at start, queue this many patients (worklist order: next infusion soonest first) "
        "whose profile is not stored to the background precompute; 0: none",
    )
    settle_heap: bool = Field(
        True,
        description="after the start work, collect garbage once and exempt the objects alive then from "
        "later collections (gc.freeze): the first request pays no full collection of that heap",
    )

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "WebSettings":
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_CHARS:
            raise ValueError(
                f"IFXDOSE_SECRET_KEY: set a random secret of at least {MIN_SECRET_CHARS} characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'); "
                "only 'ifxdose serve --demo' runs without one (it makes a random one)"
            )
        if self.mode == "production" and self.cds_token is None and not self.cds_no_token:
            raise ValueError(
                "IFXDOSE_CDS_TOKEN: set the bearer token CDS Hooks clients must send, or "
                "IFXDOSE_CDS_NO_TOKEN=true to answer only direct loopback clients without one"
            )
        try:
            ZoneInfo(self.clinic_tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"IFXDOSE_CLINIC_TZ: {self.clinic_tz[:64]!r} is not an IANA time zone "
                "(e.g. Asia/Tokyo, Europe/Berlin, UTC)"
            ) from None
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"IFXDOSE_TRUSTED_PROXIES: {proxy[:64]!r} is not an IP address or network") from None
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_tz)

    def current_date(self) -> dt.date:
        """Today in the clinic's time zone (a Tokyo clinic at 08:00 JST is not on yesterday's UTC date)."""
        return self.today or dt.datetime.now(self.zone).date()
