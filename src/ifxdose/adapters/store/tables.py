"""Database tables (SQLAlchemy 2). Kept apart from the API schemas, which are the domain's
pydantic models (``ifxdose.domain.patient``) and ``ifxdose.adapters.web.schemas``.

Entry tables mirror the canonical patient history (``PatientHistory``) field for field, so
export and import are a generic copy (``history.py``). Each entry keeps the date exactly as
given (``when_iso``: a date or a datetime, with its offset if any) and the calendar day
(``day``) for queries and ordering.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # physician | pharmacist | readonly
    locale: Mapped[str] = mapped_column(String(8), default="ja")
    #: Bumped at sign-out: every session cookie issued before becomes invalid.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # pseudonymous, never a name
    sex: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int] = mapped_column(Integer)
    baseline_tnf_pg_ml: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class _Entry:
    """Columns every dated entry of a patient has."""

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    when_iso: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Voided entries are kept (never deleted) and left out of the history; who, when, why.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: An amendment: the id of the (now voided) row of the same table it corrects.
    amends_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        """What the history, patient list and worklist filter and sort on: a patient's
        current (not voided) entries by day (migration 0003)."""
        return (Index(f"ix_{cls.__tablename__}_patient_current", "patient_id", "voided_at", "day"),)


class WeightRow(_Entry, Base):
    __tablename__ = "weights"
    weight_kg: Mapped[float] = mapped_column(Float)


class InfusionRow(_Entry, Base):
    __tablename__ = "infusions"
    dose_mg: Mapped[float] = mapped_column(Float)
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    route: Mapped[str] = mapped_column(String(8))
    duration_min: Mapped[float] = mapped_column(Float)
    product: Mapped[str] = mapped_column(Text)
    lot: Mapped[str | None] = mapped_column(Text, nullable=True)
    reaction: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Vials used (not part of the canonical history; computed from dose_mg when not entered).
    vials: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LevelRow(_Entry, Base):
    __tablename__ = "levels"
    value_mg_l: Mapped[float | None] = mapped_column(Float, nullable=True)
    below_lloq: Mapped[bool] = mapped_column(Boolean)
    lloq_mg_l: Mapped[float | None] = mapped_column(Float, nullable=True)
    assay: Mapped[str | None] = mapped_column(Text, nullable=True)


class AdaRow(_Entry, Base):
    __tablename__ = "ada_results"
    result: Mapped[str] = mapped_column(String(8))
    titre: Mapped[float | None] = mapped_column(Float, nullable=True)
    titre_unit: Mapped[str | None] = mapped_column(Text, nullable=True)
    drug_tolerant: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class LabRow(_Entry, Base):
    __tablename__ = "labs"
    crp_mg_l: Mapped[float | None] = mapped_column(Float, nullable=True)
    esr_mm_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    albumin_g_dl: Mapped[float | None] = mapped_column(Float, nullable=True)


class MtxRow(_Entry, Base):
    __tablename__ = "mtx"
    dose_mg_week: Mapped[float] = mapped_column(Float)


class AssessmentRow(_Entry, Base):
    __tablename__ = "assessments"
    tjc28: Mapped[int] = mapped_column(Integer)
    sjc28: Mapped[int] = mapped_column(Integer)
    ptga_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    phga_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    pain_mm: Mapped[float | None] = mapped_column(Float, nullable=True)
    haq_di: Mapped[float | None] = mapped_column(Float, nullable=True)
    crp_mg_l: Mapped[float | None] = mapped_column(Float, nullable=True)
    esr_mm_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    tender_joints: Mapped[list | None] = mapped_column(JSON, nullable=True)
    swollen_joints: Mapped[list | None] = mapped_column(JSON, nullable=True)
    #: Every measure computable at entry time (``ifxdose.domain.scores.assess``), as JSON.
    scores: Mapped[dict] = mapped_column(JSON)


class RecommendationRow(Base):
    __tablename__ = "recommendations"
    #: A patient's newest (accepted) recommendation (migration 0003).
    __table_args__ = (Index("ix_recommendations_patient_status_id", "patient_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    input_snapshot: Mapped[dict] = mapped_column(JSON)  # the history the engine saw
    model: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict] = mapped_column(JSON)  # the whole Recommendation (options, target, ...)
    status: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed|accepted|overridden
    chosen_option: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditRow(Base):
    """Append-only (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    #: The worklist's data versions: the newest audit row per patient (migration 0003).
    __table_args__ = (Index("ix_audit_log_patient_code_id", "patient_code", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    patient_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    detail: Mapped[dict] = mapped_column(JSON)


class SignInAttempt(Base):
    """A sign-in attempt counted by the rate limiter (shared by every worker process);
    ``key`` is ``user:<name>`` or ``client:<address>``. Rows older than the window are deleted."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WriteRequest(Base):
    """A form submission or API write already done (idempotency: a double-clicked Save or a
    retried request with the same key is answered from here instead of writing twice)."""

    __tablename__ = "write_requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    result: Mapped[dict] = mapped_column(JSON)


class EstimateCache(Base):
    """Derived results (e.g. the concentration profile behind the plot) keyed by a hash of
    the history and the model: shared by every worker, recomputed only when the data change."""

    __tablename__ = "estimate_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
