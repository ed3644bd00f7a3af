"""An obviously fictional demo clinic: three accounts and four invented patients whose
histories are dated relative to today, so the worklist always has something due.
Nothing here is real patient data; codes start with DEMO-."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ifxdose.app import auth
from ifxdose.app.clinic import Store, import_patient
from ifxdose.app.engine import Recommender
from ifxdose.app.errors import Conflict
from ifxdose.domain.patient import PatientHistory

CLINIC_NAME = "Fictional Demo Clinic / 架空デモ診療所"
PASSWORD = "demo-password"
ACCOUNTS = (
    ("demo-physician", "physician", "ja"),
    ("demo-pharmacist", "pharmacist", "en"),
    ("demo-viewer", "readonly", "en"),
)


def _iso(day: date) -> str:
    return day.isoformat()


def _patient(
    code: str, sex: str, year: int, weight: float, start: date, weeks: list[int], mg_per_kg: list[float], **extra: Any
) -> dict[str, Any]:
    infusions = [
        {
            "date": _iso(start + timedelta(weeks=w)),
            "dose_mg": round(d * weight, 1),
            "dose_mg_per_kg": d,
            "lot": f"DEMO-LOT-{i + 1:02d}",
        }
        for i, (w, d) in enumerate(zip(weeks, mg_per_kg))
    ]
    return {
        "patient": {"id": code, "sex": sex, "birth_year": year},
        "weights": [{"date": _iso(start - timedelta(days=7)), "weight_kg": weight}],
        "infusions": infusions,
        "mtx": [{"date": _iso(start - timedelta(weeks=26)), "dose_mg_week": 12}],
        **extra,
    }


def _assessment(day: date, tjc: int, sjc: int, crp: float, ptga: float, phga: float) -> dict[str, Any]:
    return {"date": _iso(day), "tjc28": tjc, "sjc28": sjc, "crp_mg_l": crp, "ptga_mm": ptga, "phga_mm": phga}


def demo_histories(today: date) -> list[PatientHistory]:
    a = today - timedelta(weeks=29)  # DEMO-001: maintenance, next due within the week, trough due
    b = today - timedelta(weeks=6, days=-4)  # DEMO-002: weeks 0 and 2 given, week 6 due in 4 days
    c = today - timedelta(weeks=33)  # DEMO-003: escalated to 6 mg/kg, not due
    d = today - timedelta(weeks=38)  # DEMO-004: ADA positive, undetectable trough
    histories = [
        _patient(
            "DEMO-001",
            "female",
            1968,
            55.0,
            a,
            [0, 2, 6, 14, 22],
            [3, 3, 3, 3, 3],
            levels=[
                {"date": _iso(a + timedelta(weeks=22)), "value_mg_l": 0.6, "lloq_mg_l": 0.1, "assay": "ELISA (demo)"}
            ],
            labs=[{"date": _iso(a - timedelta(days=7)), "crp_mg_l": 21.0, "esr_mm_h": 48, "albumin_g_dl": 3.8}],
            assessments=[
                _assessment(a - timedelta(days=7), 11, 8, 21.0, 65, 60),
                _assessment(a + timedelta(weeks=14), 5, 3, 6.0, 35, 30),
                _assessment(a + timedelta(weeks=22), 4, 3, 5.0, 32, 28),
            ],
            baseline_tnf_pg_ml=1.1,
        ),
        _patient(
            "DEMO-002",
            "male",
            1975,
            72.0,
            b,
            [0, 2],
            [3, 3],
            assessments=[_assessment(b - timedelta(days=5), 9, 6, 15.0, 60, 55)],
        ),
        _patient(
            "DEMO-003",
            "female",
            1959,
            48.5,
            c,
            [0, 2, 6, 14, 22, 30],
            [3, 3, 3, 3, 6, 6],
            levels=[
                {"date": _iso(c + timedelta(weeks=22)), "value_mg_l": 0.3, "lloq_mg_l": 0.1},
                {"date": _iso(c + timedelta(weeks=30)), "value_mg_l": 2.4, "lloq_mg_l": 0.1},
            ],
            assessments=[
                _assessment(c - timedelta(days=3), 14, 10, 30.0, 70, 70),
                _assessment(c + timedelta(weeks=22), 7, 5, 12.0, 45, 40),
                _assessment(c + timedelta(weeks=30), 2, 1, 2.0, 15, 10),
            ],
        ),
        _patient(
            "DEMO-004",
            "male",
            1962,
            66.0,
            d,
            [0, 2, 6, 14, 22, 30],
            [3, 3, 3, 3, 3, 3],
            levels=[{"date": _iso(d + timedelta(weeks=30)), "below_lloq": True, "lloq_mg_l": 0.1}],
            ada=[
                {
                    "date": _iso(d + timedelta(weeks=30)),
                    "result": "positive",
                    "titre": 40.0,
                    "titre_unit": "ug/L",
                    "drug_tolerant": True,
                }
            ],
            assessments=[
                _assessment(d - timedelta(days=3), 10, 7, 25.0, 60, 55),
                _assessment(d + timedelta(weeks=30), 9, 6, 22.0, 58, 50),
            ],
        ),
    ]
    return [PatientHistory.model_validate(h) for h in histories]


def seed_demo(store: Store, recommender: Recommender, today: date) -> None:
    """Accounts, patients, and a stored recommendation for two of them (idempotent per database)."""
    from ifxdose.app.clinic import recommend_and_store

    for username, role, locale in ACCOUNTS:
        try:
            auth.create_user(store, username, PASSWORD, role, locale=locale, by="demo-seed")
        except Conflict:
            return  # already seeded
    for history in demo_histories(today):
        import_patient(store, history, user="demo-seed")
    for code in ("DEMO-001", "DEMO-004"):
        recommend_and_store(store, recommender, code, today, user="demo-seed")
