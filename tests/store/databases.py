"""Database fixtures shared by the store and web tests: every storage test runs against
SQLite (a temp file) and PostgreSQL (a throwaway database on the server named by
IFXDOSE_TEST_POSTGRES_URL, which ``make test`` starts on loopback)."""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ENV = "IFXDOSE_TEST_POSTGRES_URL"


def _postgres_database() -> tuple[str, str]:
    """Create an empty database; return (its URL, its name)."""
    import psycopg

    server = os.environ[POSTGRES_ENV]
    name = f"ifx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server.rpartition("/")
    return f"{base}/{name}", name


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(os.environ[POSTGRES_ENV], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_db_url(kind: str, tmp_path) -> tuple[str, object]:
    """(URL, cleanup) for a fresh database of ``kind`` ('sqlite' or 'postgresql')."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'clinic.sqlite3'}", lambda: None
    if not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set (make test starts a PostgreSQL server and sets it)")
    url, name = _postgres_database()
    return url, lambda: _drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    url, cleanup = make_db_url(request.param, tmp_path)
    yield url
    cleanup()


@pytest.fixture
def store(db_url):
    from ifxdose.adapters.store import open_store

    s = open_store(db_url)
    yield s
    s.close()
