"""Corrections and shared state: entries can be voided (kept, with who, when and why) and
amended (the new row names the one it corrects); sign-in attempts for the rate limiter in
the database (shared by worker processes); idempotent write requests; a cache of
estimates keyed by the history's hash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
ENTRY_TABLES = ("weights", "infusions", "levels", "ada_results", "labs", "mtx", "assessments")


def _correction_columns() -> list[sa.Column]:
    return [sa.Column("voided_at", _TS, nullable=True), sa.Column("voided_by", sa.String(64), nullable=True),
            sa.Column("void_reason", sa.Text(), nullable=True), sa.Column("amends_id", sa.Integer(), nullable=True)]


def upgrade() -> None:
    for table in ENTRY_TABLES:
        for column in _correction_columns():
            op.add_column(table, column)
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, index=True),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_table(
        "write_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("patient_code", sa.String(64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
    )
    op.create_table(
        "estimate_cache",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    for name in ("estimate_cache", "write_requests", "sign_in_attempts"):
        op.drop_table(name)
    for table in ENTRY_TABLES:
        with op.batch_alter_table(table) as batch:
            for column in ("amends_id", "void_reason", "voided_by", "voided_at"):
                batch.drop_column(column)
