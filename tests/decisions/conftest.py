"""Histories for the decision tests: label induction then maintenance, in clinic units."""

import datetime as dt

from ifxdose.domain.patient import PatientHistory

START = dt.date(2024, 1, 8)
Q8 = [0, 2, 6, 14, 22]  # label weeks (S0)


def week(w: float) -> dt.date:
    return START + dt.timedelta(days=round(w * 7))


def build(
    weeks=Q8,
    mg_per_kg=3.0,
    weight_kg=60.0,
    levels=(),
    ada=(),
    assessments=(),
    labs=(),
    reactions=None,
    product="Remicade",
    times=None,
    **extra,
) -> PatientHistory:
    doses = mg_per_kg if isinstance(mg_per_kg, (list, tuple)) else [mg_per_kg] * len(weeks)
    infusions = []
    for i, (w, d) in enumerate(zip(weeks, doses)):
        when = week(w).isoformat() + (f"T{times[i]}" if times and times[i] else "")
        entry = {"date": when, "dose_mg": round(d * weight_kg, 2), "dose_mg_per_kg": d, "product": product}
        if reactions and i in reactions:
            entry["reaction"] = reactions[i]
        infusions.append(entry)
    return PatientHistory.model_validate(
        {
            "patient": {"id": "EX", "sex": "female", "birth_year": 1960},
            "weights": [{"date": START.isoformat(), "weight_kg": weight_kg}],
            "infusions": infusions,
            "levels": list(levels),
            "ada": list(ada),
            "labs": list(labs),
            "mtx": [{"date": START.isoformat(), "dose_mg_week": 12}],
            "assessments": list(assessments),
            **extra,
        }
    )


def das28_visit(day: dt.date, active: bool, low: bool = False) -> dict:
    """DAS28-ESR: 8 tender, 6 swollen, ESR 40, global 60 -> high (6.4); 1/1, ESR 12, global 20 ->
    low (2.86); 0/0, ESR 8, global 5 -> remission (1.53)."""
    if low:
        return {"date": day.isoformat(), "tjc28": 1, "sjc28": 1, "esr_mm_h": 12, "ptga_mm": 20}
    if active:
        return {"date": day.isoformat(), "tjc28": 8, "sjc28": 6, "esr_mm_h": 40, "ptga_mm": 60}
    return {"date": day.isoformat(), "tjc28": 0, "sjc28": 0, "esr_mm_h": 8, "ptga_mm": 5}


def sdai_visit(day: dt.date, remission: bool) -> dict:
    """SDAI = TJC + SJC + PtGA(cm) + PhGA(cm) + CRP(mg/dL): 0+0+0.5+0.5+0.1 = 1.1 (remission);
    6+4+5+5+2.5 = 22.5 (moderate)."""
    if remission:
        return {"date": day.isoformat(), "tjc28": 0, "sjc28": 0, "ptga_mm": 5, "phga_mm": 5, "crp_mg_l": 1.0}
    return {"date": day.isoformat(), "tjc28": 6, "sjc28": 4, "ptga_mm": 50, "phga_mm": 50, "crp_mg_l": 25.0}
