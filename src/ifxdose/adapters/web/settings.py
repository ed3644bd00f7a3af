"""Settings of the clinic web app (pydantic-settings; environment variables IFXDOSE_*).

Outside ``demo`` and ``test`` mode the app refuses to start with the default secret key:
session cookies signed with a published key could be forged.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "changethis"
MIN_SECRET_CHARS = 32


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IFXDOSE_", extra="ignore")

    mode: Literal["production", "demo", "test"] = "production"
    database_url: str = Field("sqlite:///ifxdose-data/clinic.sqlite3",
                              description="SQLAlchemy URL; postgresql://user@host/db for PostgreSQL")
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    session_max_age_s: int = Field(8 * 3600, ge=60, le=7 * 86400)
    secure_cookies: bool = Field(False, description="set true when served over HTTPS")
    sign_in_attempts: int = Field(5, ge=1, le=100, description="failed sign-ins allowed per window")
    sign_in_window_s: int = Field(300, ge=1, le=86400)
    default_locale: Literal["ja", "en"] = "ja"
    today: dt.date | None = Field(None, description="fix 'today' (demo and tests); default: the real date")
    cds_token: SecretStr | None = Field(None, description="bearer token CDS Hooks clients must send; unset: "
                                        "CDS endpoints answer only loopback clients (and demo/test mode)")
    fhir_tz: str = Field("UTC", description="zone of the history's naive times in FHIR import and export")

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "WebSettings":
        secret = self.secret_key.get_secret_value()
        if self.mode == "production" and (secret == DEFAULT_SECRET or len(secret) < MIN_SECRET_CHARS):
            raise ValueError(
                f"IFXDOSE_SECRET_KEY: set a random secret of at least {MIN_SECRET_CHARS} characters "
                "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'); "
                "the default is only allowed in demo and test mode")
        return self

    def current_date(self) -> dt.date:
        return self.today or dt.date.today()
