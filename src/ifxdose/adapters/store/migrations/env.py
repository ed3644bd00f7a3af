"""Alembic environment: the connection comes from ``Store.migrate`` (config.attributes),
or, for ``alembic`` on the command line, from IFXDOSE_DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from ifxdose.adapters.store.tables import Base

target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # pragma: no cover - developer use: alembic revision --autogenerate
    from ifxdose.adapters.store.db import make_engine

    engine = make_engine(os.environ.get("IFXDOSE_DATABASE_URL", "sqlite:///ifxdose.sqlite3"))
    with engine.begin() as conn:
        _run(conn)
