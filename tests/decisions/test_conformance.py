"""Conformance: EVERY registered policy and ``recommend`` over generated histories
(hypothesis) must keep the safety invariants of issue 11 (docs/decisions.md).

Histories: label induction, then maintenance at 3-6 mg/kg every 4-8 weeks; missed or late
infusions (today up to 16 weeks after the last one); levels that are pre-dose troughs,
1-hour peaks, mid-interval or below the LLOQ; ADA negative/positive with titres in µg/L,
ng/mL, AU/mL or none; mild or severe infusion reactions; DAS28-ESR or SDAI assessments in
remission or active disease; weights 40-110 kg. The invariants are written from the
clinical rules, not from the code's output:

1. every decision carries citations;
2. a severe reaction stops; ADA >= 50 µg/L, or ADA with an undetectable level, stops or
   switches (never "infuse" silently);
3. in remission, never escalate (more mg/kg by > 10 % at the same or a shorter interval, or
   a shorter interval);
4. a policy that reads a trough and acts on a level that is not one says so;
5. the dose is within the label ceiling at its interval, or the decision carries a
   label violation flag (trial arms replayed as written, e.g. ATTRACT 10 mg/kg q4w);
6. the next date is today or later and equals last infusion + the chosen interval when
   that is later than today;
7. an option whose mg/kg differs by > 10 % from the prescription is never "current".
"""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifxdose.domain.decisions.activity import current_activity
from ifxdose.domain.decisions.sampling import classify_levels, place_infusion_times
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.patient import PatientHistory
from ifxdose.domain.policies import get_policy, list_policies
from ifxdose.domain.recommend import as_decision, recommend

START = dt.date(2024, 1, 8)
READS_TROUGH = {"nordrum-tdm", "mulleman-2009", "interval-shortening", "recommend"}


@st.composite
def histories(draw):
    weight = draw(st.floats(40, 110)).__round__(1)
    n = draw(st.integers(1, 9))
    weeks = [0, 2, 6][:n]
    doses = [3.0] * len(weeks)
    while len(weeks) < n:
        weeks.append(weeks[-1] + draw(st.sampled_from([4, 6, 8, 8, 8])))
        doses.append(draw(st.sampled_from([3.0, 3.0, 4.5, 6.0])))
    for i in range(3, n):  # JP label: at most 6 mg/kg when shortened (trial-like histories stay in label)
        if weeks[i] - weeks[i - 1] < 8:
            doses[i] = min(doses[i], 6.0)
    infusion_days = [START + dt.timedelta(weeks=w) for w in weeks]
    reaction_at = draw(st.sampled_from([None, None, 0, n - 1]))
    reaction = draw(st.sampled_from(["mild flushing", "severe anaphylaxis", "none"]))
    infusions = [
        {
            "date": d.isoformat(),
            "dose_mg": round(m * weight, 2),
            "dose_mg_per_kg": m,
            **({"reaction": reaction} if i == reaction_at else {}),
        }
        for i, (d, m) in enumerate(zip(infusion_days, doses))
    ]
    last = infusion_days[-1]
    today = last + dt.timedelta(days=draw(st.sampled_from([0, 1, 14, 28, 42, 55, 56, 60, 84, 112])))
    levels = []
    kind = draw(st.sampled_from(["none", "trough", "peak", "mid", "blq", "late"]))
    value = draw(st.sampled_from([0.3, 1.5, 4.0, 9.0, 75.0]))
    if kind == "trough" and n >= 2:
        levels.append({"date": f"{last.isoformat()}T09:00:00", "value_mg_l": min(value, 30.0)})
    elif kind == "peak":
        levels.append({"date": f"{last.isoformat()}T13:00:00", "value_mg_l": max(value, 40.0)})
    elif kind == "mid" and today > last + dt.timedelta(days=20):
        levels.append({"date": (last + dt.timedelta(days=20)).isoformat(), "value_mg_l": value})
    elif kind in ("blq", "late"):
        levels.append(
            {
                "date": today.isoformat(),
                **({"below_lloq": True, "lloq_mg_l": 0.4} if kind == "blq" else {"value_mg_l": min(value, 9.0)}),
            }
        )
    ada = []
    ada_kind = draw(st.sampled_from(["none", "neg", "pos-ug", "pos-ng", "pos-au", "pos-none"]))
    titre = draw(st.sampled_from([8.0, 30.0, 50.0, 250.0]))
    if ada_kind == "neg":
        ada.append({"date": today.isoformat(), "result": "negative"})
    elif ada_kind != "none":
        unit = {"pos-ug": "ug/L", "pos-ng": "ng/mL", "pos-au": "AU/mL"}.get(ada_kind)
        ada.append(
            {"date": today.isoformat(), "result": "positive", **({"titre": titre, "titre_unit": unit} if unit else {})}
        )
    assessments, labs = [], []
    activity = draw(st.sampled_from(["none", "remission", "low", "active"]))
    score = draw(st.sampled_from(["das28", "sdai"]))
    if activity != "none":
        tjc, sjc, esr, crp, g = {
            "remission": (0, 0, 8, 1.0, 5),
            "low": (2, 2, 20, 5.0, 25),
            "active": (8, 6, 40, 25.0, 60),
        }[activity]
        entry = {"date": today.isoformat(), "tjc28": tjc, "sjc28": sjc, "ptga_mm": g}
        entry.update({"esr_mm_h": esr} if score == "das28" else {"crp_mg_l": crp, "phga_mm": g})
        assessments.append(entry)
    history = PatientHistory.model_validate(
        {
            "patient": {"id": "GEN", "sex": "female", "birth_year": 1965},
            "weights": [{"date": START.isoformat(), "weight_kg": weight}],
            "infusions": infusions,
            "levels": levels,
            "ada": ada,
            "labs": labs,
            "mtx": [{"date": START.isoformat(), "dose_mg_week": 12}],
            "assessments": assessments,
            "baseline_tnf_pg_ml": draw(st.sampled_from([0.3, 1.0, 2.0])),
        }
    )
    return history, today


def _current(history: PatientHistory) -> tuple[float, float]:
    inf = history.infusions
    interval = 8.0 if len(inf) <= 3 else float(round((inf[-1].date - inf[-2].date).days / 7))
    return inf[-1].dose_mg_per_kg, interval


def _escalates(current, decision) -> bool:
    d0, w0 = current
    d1, w1 = decision.dose_mg_per_kg, decision.interval_weeks or w0
    return (d1 > d0 * 1.1 + 1e-9 and w1 <= w0 + 1e-9) or (w1 < w0 - 1e-9 and d1 >= d0 * 0.9)


def _undetectable_with_ada(history, today) -> bool:
    pos = [a for a in history.ada if a.result == "positive"]
    return bool(pos) and any(lv.below_lloq for lv in history.levels)


def _ada_high(history) -> bool:
    return any(
        a.result == "positive" and a.titre is not None and a.titre >= 50 and a.titre_unit in ("ug/L", "ng/mL")
        for a in history.ada
    )


def _decisions(history, today):
    for name in list_policies():
        params = {"n_samples": 200, "model_spread": False} if name == "recommend" else {}
        yield name, get_policy(name, **params).decide(history, today)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_every_policy_keeps_the_safety_invariants(case):
    history, today = case
    placed, _ = place_infusion_times(history)
    samples = [s for s in classify_levels(placed) if s.when.date() <= today]
    non_trough = bool(samples) and not samples[-1].is_trough and samples[-1].kind != "baseline"
    remission = current_activity(placed, today).remission
    severe = any(i.reaction and "severe" in i.reaction for i in history.infusions)
    n = len(history.infusions)
    for name, d in _decisions(history, today):
        text = " ".join([d.rationale, *d.warnings, *(f.message for f in d.flags)])
        assert d.citations, name
        if severe:
            assert d.action == "stop", (name, d.rationale)
        elif _ada_high(history) or _undetectable_with_ada(history, today):
            assert d.action in ("stop", "switch"), (name, d.rationale)
        if d.action not in ("infuse", "wait"):
            continue
        if remission and n >= 3:
            assert not _escalates(_current(history), d), (name, d.rationale)
        if name in READS_TROUGH and non_trough and n >= 3:
            assert "not a trough" in text, (name, text)
        assert d.date >= today, name
        if d.interval_weeks is not None and n >= 1:
            due = history.infusions[-1].date + dt.timedelta(days=round(d.interval_weeks * 7))
            assert d.date == max(due, today), (name, d.date, due, today)
        # the shortened-interval ceiling (JP 6 mg/kg) applies in maintenance (from the 4th infusion),
        # to the gap actually left since the last infusion
        interval = (d.date - history.infusions[-1].date).days / 7 if n + 1 > 3 else 8.0
        within = d.dose_mg_per_kg <= max_dose_mg_per_kg(interval) + 1e-9
        assert within or any(f.severity == "violation" for f in d.flags), (name, d.dose_mg_per_kg, d.interval_weeks)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_recommend_never_calls_a_changed_mg_per_kg_current(case):
    history, today = case
    rec = recommend(history, today=today, n_samples=200, model_spread=False)
    d = as_decision(rec)
    assert rec.citations and d.citations
    if len(history.infusions) < 3:
        return
    cur_mgkg, cur_interval = _current(history)
    for o in rec.options:
        if "current" in o.label.split(", ")[0]:
            assert abs(o.dose_mg_per_kg - cur_mgkg) <= 0.1 * cur_mgkg + 1e-9, o
            assert o.interval_weeks == min(max(cur_interval, 4), 8), o
        assert o.dose_mg_per_kg <= max_dose_mg_per_kg(o.interval_weeks) + 1e-9
        assert o.next_date == max(history.infusions[-1].date + dt.timedelta(weeks=o.interval_weeks), today)
