"""Settings every adapter reads the same way (no I/O at import; the web app's other settings
are ``ifxdose.adapters.web.settings.WebSettings``)."""

from __future__ import annotations

import os

#: The clinic database when ``IFXDOSE_DATABASE_URL`` is not set (the web app and the CLI alike).
DEFAULT_DATABASE_URL = "sqlite:///ifxdose-data/clinic.sqlite3"


def database_url() -> str:
    """``IFXDOSE_DATABASE_URL`` or :data:`DEFAULT_DATABASE_URL`."""
    return os.environ.get("IFXDOSE_DATABASE_URL", DEFAULT_DATABASE_URL)
