"""The database: engine, transactions, migrations.

SQLite (default) runs in WAL mode with ``synchronous=FULL``: a commit that returned is on
disk, and a process killed mid-write leaves the last committed state. Every SQLite
transaction starts with ``BEGIN IMMEDIATE`` so concurrent writers queue on the write lock
(``busy_timeout``) instead of failing on a lock upgrade. PostgreSQL needs nothing special;
writes to one patient are serialised by locking the patient row (``repo.lock_patient``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised by every test
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str) -> Engine:
    """An engine for ``url``; ``postgresql://`` URLs use psycopg 3."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(url, pool_pre_ping=True)


class Store:
    """One database. ``with store.transaction() as s:`` is one atomic unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: Per-process memos of derived results keyed by the data versions they were derived
        #: from (the database stays the source of truth; see ``ifxdose.app.clinic.worklist``).
        self.memo: dict[str, Any] = {}
        self.memo_lock = threading.Lock()
        self._reading = threading.local()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception. Inside :meth:`reading` (this thread),
        the reading's transaction (joined: it commits or rolls back at the reading's end)."""
        joined: Session | None = getattr(self._reading, "session", None)
        if joined is not None:
            yield joined
            return
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Several reads as one transaction: every :meth:`transaction` this thread opens inside
        the block joins it (one pooled connection, one liveness ping, one BEGIN/COMMIT instead
        of one each). On PostgreSQL every round trip to the server costs; the patient page's
        reads took six transactions (issue 13). Keep the block short and free of computation
        (on SQLite every transaction holds the write lock: ``BEGIN IMMEDIATE``) and of code that
        catches a database error and goes on (a failed statement aborts the joined
        transaction). Nested readings join the outermost."""
        if getattr(self._reading, "session", None) is not None:
            yield
            return
        with self._sessions.begin() as session:
            self._reading.session = session
            try:
                yield
            finally:
                self._reading.session = None

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (creates the database on first run)."""
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()


def alembic_config():
    """Alembic configuration pointing at the migrations shipped inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return config


def open_store(url: str, *, migrate: bool = True) -> Store:
    store = Store(url)
    if migrate:
        store.migrate()
    return store
