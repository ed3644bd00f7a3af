"""Recommendation: ADA rules (seed S12, S13), PTA recomputed through an independent path,
label conformity, choice rule, bad histories."""

import datetime as dt

import numpy as np
import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.decisions.sampling import place_infusion_times
from ifxdose.domain.dosing.label import max_dose_mg_per_kg
from ifxdose.domain.estimation import estimate
from ifxdose.domain.recommend import Target, recommend
from ifxdose.domain.simulation import simulate

from .conftest import history

TODAY = dt.date(2024, 7, 1)  # after the week-22 infusion (2024-06-10)
TROUGH = [(98, {"value_mg_l": 0.7, "lloq_mg_l": 0.1})]


@pytest.mark.parametrize("titre, action", [(50.0, "switch"), (120.0, "switch")])
def test_ada_at_or_above_50_ug_l_stops(titre, action):
    """NOR-DRUM B (S13): anti-drug antibodies >= 50 ug/L -> stop infliximab and switch (50 exactly
    included); one action in every policy (it was "stop" here and "switch" in NOR-DRUM)."""
    h = history(TROUGH, ada=[(150, {"result": "positive", "titre": titre, "titre_unit": "ug/L"})])
    rec = recommend(h, today=TODAY)
    assert rec.action == action and rec.chosen is None
    assert any("S13" in c for c in rec.citations)


def test_ada_below_50_ug_l_continues_with_ada_in_the_model():
    h = history(TROUGH, ada=[(150, {"result": "positive", "titre": 49.9, "titre_unit": "ug/L"})])
    rec = recommend(h, today=TODAY)
    assert rec.action == "infuse"


def test_ada_with_undetectable_drug_switches():
    """Bendtzen 2006 (S12): antibodies with low/undetectable levels mean treatment failure."""
    h = history([(154, {"below_lloq": True, "lloq_mg_l": 0.1})], ada=[(154, {"result": "positive"})])
    rec = recommend(h, today=TODAY)
    assert rec.action == "switch" and any("S12" in c for c in rec.citations)


def test_pta_recomputed_through_the_regimen_path():
    """Re-simulate the chosen option for every posterior sample with the public simulate()
    (regimen text, covariate series): the share above target must equal the reported PTA."""
    raw = history(TROUGH)
    rec = recommend(raw, today=TODAY, n_samples=300, seed=4, model="passot_2016_ra")
    h, _ = place_infusion_times(raw)  # date-only infusions start at the clinic time (10:00), as in recommend
    est = estimate(h, "passot_2016_ra", n_samples=300, seed=4)
    o = rec.chosen
    start = h.day_of(o.next_date)
    step = o.interval_weeks * 7
    given = "; ".join(f"{i.dose_mg:g} mg at day {h.day_of(i.date)!r}" for i in h.infusions)
    future = f"{o.dose_mg:g} mg at days {','.join(repr(start + j * step) for j in range(4))}"
    t_trough = start + 3 * step
    cov = {"weight_kg": 55.0, "mtx": 1}
    troughs = np.array(
        [
            simulate("passot_2016_ra", f"{given}; {future}", cov, [t_trough], eta=e).concentration_mg_l[0]
            for e in est.posterior.eta
        ]
    )
    assert np.mean(troughs >= 1.0) == pytest.approx(o.pta, abs=1e-12)
    assert np.median(troughs) == pytest.approx(o.predicted_trough_median_mg_l, rel=1e-9)


def test_choice_is_cheapest_option_reaching_the_threshold_and_label_conform():
    """Cheapest among the options that reach 90 % and are at most one step up from 3 mg/kg q8w
    (JP label: increases are stepwise; one step = +1.5 mg/kg or -2 weeks)."""
    rec = recommend(history(TROUGH), today=TODAY, n_samples=300)
    ok = [o for o in rec.options if o.pta >= 0.9]
    one_step = [
        o
        for o in ok
        if (o.interval_weeks == 8 and o.dose_mg_per_kg <= 3 * 1.1 + 1.5)
        or (o.interval_weeks >= 6 and abs(o.dose_mg_per_kg - 3) <= 0.3)
    ]
    assert rec.chosen.cost_per_year_jpy == min(o.cost_per_year_jpy for o in one_step)
    for o in rec.options:  # JP label: <= 10 mg/kg at 8 weeks, <= 6 mg/kg when shortened, >= 4 weeks
        assert o.dose_mg_per_kg <= max_dose_mg_per_kg(o.interval_weeks, "jp") + 1e-9
        assert o.interval_weeks >= 4 and not o.label_flags
    labels = " ".join(o.label for o in rec.options)
    assert "more mg" in labels or "shorter interval" in labels or rec.chosen.label.startswith("current")


def test_window_target_and_unreachable_threshold_warns():
    rec = recommend(history(TROUGH), today=TODAY, target=Target.window(3, 8), pta_threshold=0.99, n_samples=300)
    assert rec.action == "infuse"
    assert any("PTA threshold" in w for w in rec.warnings) or rec.chosen.pta >= 0.99


def test_no_mtx_is_warned():
    h = history(TROUGH)
    h = h.model_copy(update={"mtx": []})
    rec = recommend(h, today=TODAY, n_samples=200)
    assert any("MTX" in w or "methotrexate" in w.lower() for w in rec.warnings)


def test_entries_after_today_are_rejected_by_name():
    h = history([(300, {"value_mg_l": 1.0})], n_infusions=9)
    with pytest.raises(InputError, match=r"infusions\[\d\]|levels\[0\]"):
        recommend(h, today=TODAY)


@pytest.mark.parametrize(
    "level, match",
    [
        ({"value_mg_l": -1.0}, "value_mg_l"),
        ({"value": 3.0}, "value"),  # a level without its unit in the field name
        ({"below_lloq": True}, "lloq"),
    ],
)
def test_bad_levels_name_the_entry(level, match):
    with pytest.raises(ValueError, match=match):
        history([(98, level)])


def test_level_before_first_infusion_is_rejected():
    with pytest.raises(ValueError, match=r"levels\[0\].*before the first infusion"):
        history([(-3, {"value_mg_l": 1.0})])


def test_drug_sensitive_negative_ada_with_drug_present_is_flagged():
    h = history([(98, {"value_mg_l": 2.5})], ada=[(98, {"result": "negative", "drug_tolerant": False})])
    assert any("false negative" in w for w in estimate(h, n_samples=200).warnings)
    h = history([(98, {"value_mg_l": 2.5})], ada=[(98, {"result": "negative", "drug_tolerant": True})])
    assert not any("false negative" in w for w in estimate(h, n_samples=200).warnings)


def test_induction_continues_as_labelled():
    """Seed S0: 3 mg/kg at weeks 0, 2, 6 — no TDM-guided change during induction."""
    h = history([(13, {"value_mg_l": 12.0})], n_infusions=1)  # first infusion 2024-01-08
    rec = recommend(h, today=dt.date(2024, 1, 21), n_samples=300)
    assert rec.action == "infuse" and len(rec.options) == 1
    o = rec.chosen
    assert o.next_date == dt.date(2024, 1, 22)  # week 2
    assert o.dose_mg == 165.0 and o.dose_mg_per_kg == 3.0 and o.vials == 2  # 3 x 55 kg, 2 vials
    # the interval in force is the induction gap leading to this infusion (weeks 0 -> 2), as for every
    # policy (next date = last infusion + interval); the trough is predicted before the third infusion
    assert o.interval_weeks == 2.0


def test_japanese_rationale_and_warnings_carry_the_same_numbers():
    """The Japanese text (for the clinic UI) states the same dose, interval, PTA and costs."""
    import re

    h = history(TROUGH).model_copy(update={"mtx": []})
    rec = recommend(h, today=TODAY, n_samples=300)
    numbers = lambda text: sorted(re.findall(r"\d[\d,.]*", text))  # noqa: E731
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", rec.rationale_ja)
    assert numbers(rec.rationale_ja.replace("〜", "-")) == numbers(rec.rationale.replace("2002", "2002"))
    assert len(rec.warnings_ja) == len(rec.warnings)
    assert any("メトトレキサート" in w for w in rec.warnings_ja)


def test_every_option_equals_a_direct_simulation_of_its_regimen():
    """The grid uses superposition for linear models (one unit-dose prediction per interval); each
    option must equal simulating its own regimen directly (within floating-point error)."""
    from ifxdose.domain.recommend import STEADY_STATE_DOSES, _predict_troughs

    raw = history(TROUGH)
    rec = recommend(raw, today=TODAY, n_samples=200, seed=2, model="passot_2016_ra", model_spread=False)
    h, _ = place_infusion_times(raw)
    est = estimate(h, "passot_2016_ra", n_samples=200, seed=2)
    for o in rec.options:
        t = _predict_troughs(h, est.model, est, o.dose_mg, o.interval_weeks, h.day_of(o.next_date), STEADY_STATE_DOSES)
        assert np.median(t) == pytest.approx(o.predicted_trough_median_mg_l, rel=1e-9)
        assert np.quantile(t, 0.9) == pytest.approx(o.predicted_trough_p90_mg_l, rel=1e-9)


def test_profile_curve_holds_every_trough_and_peak_time_and_no_gap_over_a_week():
    """The plotted curve: every pre-dose time (trough) and end of infusion (peak) is a point, and no
    two points are more than a week apart (daily after each dose; the drawn curve's distance from
    the daily one is measured in tests/web/test_profile_grid.py, issue 13)."""
    from ifxdose.domain.recommend import PROFILE_STEP_DAYS, predict_profile
    from ifxdose.domain.timeline import dose_events

    h = history([(98.0, {"value_mg_l": 1.2}), (154.0, {"value_mg_l": 0.9})])
    prof = predict_profile(h, n_samples=200)
    t = np.asarray(prof.time_days)
    for d in dose_events(h):
        assert np.any(np.isclose(t, d.time_days, atol=1e-12))
        assert np.any(np.isclose(t, d.time_days + d.duration_days, atol=1e-12))
    assert np.all(np.diff(t) <= PROFILE_STEP_DAYS + 1e-12) and np.all(np.diff(t) > 0)
    assert np.all(np.asarray(prof.lower_mg_l) <= np.asarray(prof.upper_mg_l))
