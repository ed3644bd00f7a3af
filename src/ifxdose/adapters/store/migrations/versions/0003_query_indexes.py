"""Indexes for what the clinic pages filter and sort on (issue 13, clinic scale): a
patient's current (not voided) entries by day; the newest audit row per patient (the
worklist's data versions); a patient's newest (accepted) recommendation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ENTRY_TABLES = ("weights", "infusions", "levels", "ada_results", "labs", "mtx", "assessments")


def upgrade() -> None:
    for table in ENTRY_TABLES:
        op.create_index(f"ix_{table}_patient_current", table, ["patient_id", "voided_at", "day"])
    op.create_index("ix_audit_log_patient_code_id", "audit_log", ["patient_code", "id"])
    op.create_index("ix_recommendations_patient_status_id", "recommendations", ["patient_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_recommendations_patient_status_id", "recommendations")
    op.drop_index("ix_audit_log_patient_code_id", "audit_log")
    for table in ENTRY_TABLES:
        op.drop_index(f"ix_{table}_patient_current", table)
