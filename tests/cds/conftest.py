"""CDS Hooks test fixtures: the web tests' app (fresh SQLite database per test, today fixed
at 2024-08-26) and an EHR-side client that is not signed in (CDS clients never are)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    shared_app,
    template_db,
    with_example,
    with_underexposed_example,
)


@pytest.fixture
def ehr(app):  # noqa: F811
    with TestClient(app, base_url="https://ifxdose.clinic.example") as c:
        yield c
