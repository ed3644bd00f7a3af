"""Initial schema: users, patients and their entries, recommendations, append-only audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ENTRY_TABLES = {
    "weights": [sa.Column("weight_kg", sa.Float(), nullable=False)],
    "infusions": [
        sa.Column("dose_mg", sa.Float(), nullable=False),
        sa.Column("dose_mg_per_kg", sa.Float(), nullable=True),
        sa.Column("route", sa.String(8), nullable=False),
        sa.Column("duration_min", sa.Float(), nullable=False),
        sa.Column("product", sa.Text(), nullable=False),
        sa.Column("lot", sa.Text(), nullable=True),
        sa.Column("reaction", sa.Text(), nullable=True),
        sa.Column("vials", sa.Integer(), nullable=True),
    ],
    "levels": [
        sa.Column("value_mg_l", sa.Float(), nullable=True),
        sa.Column("below_lloq", sa.Boolean(), nullable=False),
        sa.Column("lloq_mg_l", sa.Float(), nullable=True),
        sa.Column("assay", sa.Text(), nullable=True),
    ],
    "ada_results": [
        sa.Column("result", sa.String(8), nullable=False),
        sa.Column("titre", sa.Float(), nullable=True),
        sa.Column("titre_unit", sa.Text(), nullable=True),
        sa.Column("drug_tolerant", sa.Boolean(), nullable=True),
    ],
    "labs": [
        sa.Column("crp_mg_l", sa.Float(), nullable=True),
        sa.Column("esr_mm_h", sa.Float(), nullable=True),
        sa.Column("albumin_g_dl", sa.Float(), nullable=True),
    ],
    "mtx": [sa.Column("dose_mg_week", sa.Float(), nullable=False)],
    "assessments": [
        sa.Column("tjc28", sa.Integer(), nullable=False),
        sa.Column("sjc28", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Float(), nullable=True)
          for name in ("ptga_mm", "phga_mm", "pain_mm", "haq_di", "crp_mg_l", "esr_mm_h")),
        sa.Column("tender_joints", sa.JSON(), nullable=True),
        sa.Column("swollen_joints", sa.JSON(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
    ],
}

_APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_APPEND_ONLY_POSTGRES = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def _patient_fk() -> sa.Column:
    return sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patients.id", ondelete="CASCADE"),
                     nullable=False, index=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("sex", sa.String(8), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("baseline_tnf_pg_ml", sa.Float(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    for name, columns in _ENTRY_TABLES.items():
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), primary_key=True),
            _patient_fk(),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("when_iso", sa.String(40), nullable=False),
            sa.Column("created_at", _TS, nullable=False),
            *columns,
        )
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), primary_key=True),
        _patient_fk(),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("input_snapshot", sa.JSON(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("chosen_option", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("patient_code", sa.String(64), nullable=True, index=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _APPEND_ONLY_POSTGRES if dialect == "postgresql" else _APPEND_ONLY_SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.drop_table("audit_log")
    for name in ["recommendations", *reversed(_ENTRY_TABLES), "patients", "users"]:
        op.drop_table(name)
