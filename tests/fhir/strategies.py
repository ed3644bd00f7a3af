"""Hypothesis strategies: random but valid patient histories and recommendations."""

from __future__ import annotations

import string
from datetime import date, datetime, time, timedelta

from hypothesis import strategies as st

from ifxdose.adapters.fhir.units import ADA_UNITS
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.scores.joints import JOINT_IDS

TEXT = st.text(
    alphabet=string.ascii_letters + string.digits + " -_.,()/インフリキシマブ", min_size=1, max_size=24
).filter(lambda s: s.strip() == s)
DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31))
# Times are naive local times; seconds and microseconds must survive too.
TIMES = st.times(min_value=time(0, 0), max_value=time(23, 59, 59, 999999))


def floats(low: float, high: float, *, low_open: bool = False) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, exclude_min=low_open)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def when(draw, day: date | None = None):
    """A date, or a datetime on that date."""
    day = day or draw(DAYS)
    return day if draw(st.booleans()) else datetime.combine(day, draw(TIMES))


@st.composite
def infusion(draw):
    return {
        "date": draw(when()),
        "dose_mg": draw(floats(0, 5000, low_open=True)),
        "dose_mg_per_kg": draw(optional(floats(0, 20, low_open=True))),
        "route": draw(st.sampled_from(["iv", "sc"])),
        "duration_min": draw(floats(0, 1440)),
        "product": draw(TEXT),
        "lot": draw(optional(TEXT)),
        "reaction": draw(optional(TEXT)),
    }


@st.composite
def level(draw, first_day: date):
    day = first_day + timedelta(days=draw(st.integers(0, 800)))
    data = {"date": draw(when(day)), "assay": draw(optional(TEXT))}
    if draw(st.booleans()):
        return {**data, "below_lloq": True, "lloq_mg_l": draw(floats(0, 100, low_open=True))}
    return {**data, "value_mg_l": draw(floats(0, 1000)), "lloq_mg_l": draw(optional(floats(0, 100, low_open=True)))}


@st.composite
def ada(draw):
    titre = draw(optional(floats(0, 1e6)))
    return {
        "date": draw(DAYS),
        "result": draw(st.sampled_from(["negative", "positive"])),
        "titre": titre,
        "titre_unit": None if titre is None else draw(st.sampled_from(sorted(ADA_UNITS) + ["µg/L"])),
        "drug_tolerant": draw(optional(st.booleans())),
    }


@st.composite
def lab(draw):
    values = {
        "crp_mg_l": draw(optional(floats(0, 500))),
        "esr_mm_h": draw(optional(floats(1, 200))),
        "albumin_g_dl": draw(optional(floats(1, 6.5))),
    }
    if all(v is None for v in values.values()):  # an empty lab entry carries nothing to export
        values["crp_mg_l"] = draw(floats(0, 500))
    return {"date": draw(DAYS), **values}


@st.composite
def assessment(draw):
    joints = st.lists(st.sampled_from(sorted(JOINT_IDS)), unique=True, max_size=28)
    tender, swollen = draw(optional(joints)), draw(optional(joints))
    return {
        "date": draw(DAYS),
        "tjc28": len(tender) if tender is not None else draw(st.integers(0, 28)),
        "sjc28": len(swollen) if swollen is not None else draw(st.integers(0, 28)),
        "tender_joints": tender,
        "swollen_joints": swollen,
        "ptga_mm": draw(optional(floats(0, 100))),
        "phga_mm": draw(optional(floats(0, 100))),
        "pain_mm": draw(optional(floats(0, 100))),
        "haq_di": draw(optional(floats(0, 3))),
        "crp_mg_l": draw(optional(floats(0, 500))),
        "esr_mm_h": draw(optional(floats(1, 200))),
    }


@st.composite
def histories(draw) -> PatientHistory:
    infusions = draw(st.lists(infusion(), max_size=5))
    first = min(
        (
            i["date"] if isinstance(i["date"], date) and not isinstance(i["date"], datetime) else i["date"].date()
            for i in infusions
        ),
        default=date(2015, 1, 1),
    )
    return PatientHistory.model_validate(
        {
            "patient": {
                "id": draw(TEXT),
                "sex": draw(st.sampled_from(["female", "male"])),
                "birth_year": draw(st.integers(1900, 2100)),
            },
            "weights": draw(
                st.lists(st.fixed_dictionaries({"date": DAYS, "weight_kg": floats(0, 350, low_open=True)}), max_size=3)
            ),
            "infusions": infusions,
            "levels": draw(st.lists(level(first), max_size=4)),
            "ada": draw(st.lists(ada(), max_size=3)),
            "labs": draw(st.lists(lab(), max_size=4)),
            "mtx": draw(st.lists(st.fixed_dictionaries({"date": DAYS, "dose_mg_week": floats(0, 30)}), max_size=3)),
            "assessments": draw(st.lists(assessment(), max_size=3)),
            "baseline_tnf_pg_ml": draw(optional(floats(0, 1000))),
        }
    )


@st.composite
def recommendations(draw):
    """Domain Recommendations with any chosen option FHIR carries (dose, mg/kg, interval, date,
    predicted troughs, PTA) or none, and any model, rationale and citations."""
    from recs import make_option, make_recommendation

    chosen = draw(
        optional(
            st.fixed_dictionaries(
                {
                    "dose_mg": floats(0, 5000, low_open=True),
                    "dose_mg_per_kg": floats(0, 20, low_open=True),
                    "interval_weeks": floats(0, 52, low_open=True),
                    "next_date": DAYS,
                    "predicted_trough_median_mg_l": floats(0, 100),
                    "predicted_trough_p10_mg_l": floats(0, 100),
                    "predicted_trough_p90_mg_l": floats(0, 100),
                    "pta": floats(0, 1),
                }
            )
        )
    )
    option = None if chosen is None else make_option(**chosen)
    return make_recommendation(
        action=draw(st.sampled_from(["infuse", "stop", "switch"])),
        chosen=option,
        options=[] if option is None else [option],
        model=draw(TEXT),
        model_version=draw(TEXT),
        rationale=draw(TEXT),
        citations=draw(st.lists(TEXT, max_size=3)),
    )
