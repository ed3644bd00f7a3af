"""The evidence records against the seed (SEED_EN.md): the seed's sentences are the oracle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.dosing.regimen import parse_regimen
from ifxdose.domain.evidence import Outcome, Study, cite, get_study, load_studies

SEED_EN = Path("/work/shared/seed/SEED_EN.md")
SEED_TAGS = [f"S{i}" for i in range(16)]
STUDIES = load_studies()
ALL_REGIMENS = [(s.id, text) for s in STUDIES for a in s.arms for text in a.regimen_texts()]


def only(study: Study, name: str, arm: str | None = None, time_point: str | None = None) -> Outcome:
    """The one outcome named exactly ``name`` (else containing it), of ``arm``, at ``time_point``."""
    candidates = study.find_outcomes(name, arm)
    exact = [o for o in candidates if o.name == name]
    found = [o for o in exact or candidates if time_point is None or o.time_point == time_point]
    assert len(found) == 1, [o.name for o in found]
    return found[0]


# ------------------------------------------------------------------ coverage
def test_every_seed_item_has_exactly_one_record_in_seed_order():
    assert [s.seed_tag for s in STUDIES] == SEED_TAGS


@pytest.mark.skipif(not SEED_EN.exists(), reason="seed file not available")
def test_seed_file_lists_the_same_tags():
    tags = re.findall(r"^## (S\d+) ", SEED_EN.read_text(encoding="utf-8"), flags=re.M)
    assert tags == SEED_TAGS


def test_s0_is_the_label_record_and_the_rest_are_studies():
    assert get_study("S0").kind == "label"
    assert {s.kind for s in STUDIES[1:]} == {"study"}


def test_ids_keys_and_tags_all_resolve_and_are_case_insensitive():
    for s in STUDIES:
        assert get_study(s.id) is s and get_study(s.key) is s and get_study(s.seed_tag.lower()) is s


def test_unknown_study_names_the_known_ids():
    with pytest.raises(InputError) as err:
        get_study("S99")
    assert "S4-attract-1999" in str(err.value) and "\n" not in str(err.value)


# ----------------------------------------------------------------- regimens
@pytest.mark.parametrize(("study_id", "text"), ALL_REGIMENS)
def test_every_regimen_parses_and_prints_back_identically(study_id, text):
    assert str(parse_regimen(text)) == text


def test_every_active_arm_has_a_regimen_or_says_why_not():
    for s in STUDIES:
        for a in s.arms:
            assert a.regimen_texts() or a.regimen_note, (s.id, a.name)


def test_seed_regimens_appear_as_written():
    # S0: "3 mg/kg at week 0, week 2, week 6, then every 8 weeks"; S1: 10 mg/kg days 0, 14 and 5 mg/kg days 0, 4, 8, 12
    assert get_study("label").arms[0].regimen == "3 mg/kg at weeks 0,2,6 then every 8 weeks"
    s1 = {a.regimen: a.n for a in get_study("S1").arms}
    assert s1 == {"10 mg/kg at days 0,14": 15, "5 mg/kg at days 0,4,8,12": 5}
    # S4: "induction at weeks 0, 2, 6; 8 infusions in total" for q8w
    q8w = get_study("attract").arms[1].parsed()
    assert q8w.clauses[0].dose == 3 and len(q8w.doses()) == 8


def test_s15_programmed_high_tnf_path_is_6_then_10_mg_per_kg():
    # "≥1.65 → 6 mg/kg at week 14, then 10 mg/kg q8w from week 22"
    high = [v for v in get_study("rrrr").arms[1].variants if "≥1.65" in v.when][0].parsed()
    by_week = {d.time_days / 7: d.dose for d in high.doses()}
    assert by_week[14] == 6 and by_week[22] == 10 and by_week[6] == 3


def test_s5_escalation_adds_1_5_mg_per_kg_per_visit():
    path = [v for v in get_study("S5").arms[0].variants if v.n == 7][0].parsed()
    doses = {round(d.time_days / 7): d.dose for d in path.doses()}
    assert [doses[w] for w in (14, 22, 30, 38, 46)] == [3, 4.5, 6, 7.5, 9]


# -------------------------------------------------- numbers against the seed
def test_s4_attract_acr20_week30_per_arm_and_odds_ratios():
    # "ACR20: 3 mg/kg q8w 53%, 3 q4w 50%, 10 q4w 58%, 10 q8w 52%, placebo 20%"
    s = get_study("attract")
    acr20 = {o.arm: o.value for o in s.find_outcomes("ACR20") if o.unit == "%" and o.time_point == "week 30"}
    assert {k: acr20[k] for k in ("3 mg/kg q8w", "3 mg/kg q4w", "10 mg/kg q4w", "10 mg/kg q8w", "placebo + MTX")} == {
        "3 mg/kg q8w": 53,
        "3 mg/kg q4w": 50,
        "10 mg/kg q4w": 58,
        "10 mg/kg q8w": 52,
        "placebo + MTX": 20,
    }
    # "Odds ratios vs MTX+placebo: 3.9 (3 q8w), 3.9 (3 q4w), 4.2 (10 q8w), 5.4 (10 q4w)"
    ors = {o.arm: o.value for o in s.outcomes if o.unit == "OR"}
    assert ors == {"3 mg/kg q8w": 3.9, "3 mg/kg q4w": 3.9, "10 mg/kg q8w": 4.2, "10 mg/kg q4w": 5.4}
    assert s.population.n == 428  # "428 MTX-inadequate responders"
    reactions = only(s, "infusion reactions")  # "Infusion reactions in 16–20% of IFX patients"
    assert (reactions.value, reactions.low, reactions.high) == (None, 16, 20)


def test_s2_paulus_counts():
    # "Paulus 20%: 1 mg/kg 11/25 (p=0.0083), 10 mg/kg 19/24 (p<0.0001)"; "73 RA patients"
    s = get_study("S2")
    low, high = only(s, "Paulus 20% response", "cA2 1 mg/kg"), only(s, "Paulus 20% response", "cA2 10 mg/kg")
    assert (low.value, low.total, high.value, high.total) == (11, 25, 19, 24)
    p_high = only(s, "Paulus 20% response p-value", "cA2 10 mg/kg")
    assert (p_high.relation, p_high.value) == ("<", 0.0001)
    assert s.population.n == 73


def test_s5_acr20_course_and_antibodies():
    # "ACR20: week 2 36.0%, week 6 49%, week 14 55.0%, week 22 58%"
    s = get_study("S5")
    course = {o.time_point: o.value for o in s.find_outcomes("ACR20")}
    assert course == {"week 2": 36.0, "week 6": 49, "week 14": 55.0, "week 22": 58}
    # "Antibodies: escalated 28.6% (n=105) vs non-escalated 19.5% (n=215), p=0.087"
    esc, non = (
        only(s, "anti-infliximab antibodies", "escalated"),
        only(s, "anti-infliximab antibodies", "not escalated"),
    )
    assert (esc.value, esc.total, non.value, non.total) == (28.6, 105, 19.5, 215)
    assert only(s, "p-value").value == 0.087
    assert s.population.n == 329  # "(n=329)"


def test_s7_aspire_arms_and_what_their_sum_is():
    # "n=1049 ...: MTX+placebo (282), MTX+3 mg/kg q8w (359), MTX+6 mg/kg q8w (363)"
    s = get_study("aspire")
    assert [a.n for a in s.arms] == [282, 359, 363] and s.population.n == 1049
    assert s.arms_n_total() == 1004 and s.population.n_note  # the seed's arms do not add up; the record says so
    # "Anti-IFX antibodies: 14.5% (3 mg/kg), 6.7% (6 mg/kg)"
    assert [o.value for o in s.find_outcomes("anti-infliximab")] == [14.5, 6.7]
    assert only(s, "mean MTX dose", "MTX + placebo").sd == 8.0  # "15.1±8.0"


def test_s10_undetectable_trough_shares_are_ranges():
    # "3 q8w 22–30%, 3 q4w 9–15%, 10 q8w 5–9%, 10 q4w only 2 patients"
    s = get_study("S10")
    seed = [o for o in s.find_outcomes("trough below the limit") if o.source == "seed"]
    assert {o.arm: (o.low, o.high) for o in seed if o.value is None} == {
        "3 mg/kg q8w": (22, 30),
        "3 mg/kg q4w": (9, 15),
        "10 mg/kg q8w": (5, 9),
    }
    two = [o for o in seed if o.arm == "10 mg/kg q4w"][0]
    assert (two.value, two.unit) == (2, "count")


def test_s11_rising_arms():
    # "3 mg/kg q8w (99), 6 mg/kg q8w (104), 10 mg/kg q8w (104)"; "MTX-IR n=314"; "(p=0.024)"
    s = get_study("rising")
    assert [a.n for a in s.arms] == [99, 104, 104] and s.population.n == 314
    assert only(s, "ACR-N p-value").value == 0.024


def test_s12_antibody_course():
    # "Anti-IFX antibodies: 13% at 1.5 months, 30% at 3 months, 44% at 6 months"
    s = get_study("S12")
    course = {o.time_point: o.value for o in s.outcomes if o.name == "anti-infliximab antibodies"}
    assert course == {"month 1.5": 13, "month 3": 30, "month 6": 44}


def test_s13_nor_drum_b_numbers():
    # "73.6% vs 55.9%, adjusted difference 17.6%"; "RA 69.2% vs 55.0%, 13.6% (95% CI −7.4 to 34.6)";
    # "HR 2.1 (1.5–2.9)"; "TDM 9.2% vs control 15%"; "TDM arm (n=227 ...) standard arm n=227"
    s = get_study("nor-drum-b")
    primary = {o.arm: o.value for o in s.find_outcomes("sustained disease control without worsening")}
    assert primary == {"proactive TDM": 73.6, "standard care": 55.9, "RA, TDM": 69.2, "RA, standard care": 55.0}
    assert only(s, "adjusted difference").value == 17.6
    ra = only(s, "difference in sustained disease control, RA")
    assert (ra.value, ra.ci_low, ra.ci_high) == (13.6, -7.4, 34.6)
    hr = only(s, "hazard ratio")
    assert (hr.value, hr.ci_low, hr.ci_high, hr.unit) == (2.1, 1.5, 2.9, "HR")
    assert [o.value for o in s.find_outcomes("anti-drug antibodies")] == [9.2, 15]
    assert [a.n for a in s.arms] == [227, 227]


def test_s15_rrrr_primary_and_remission():
    # "programmed 23.5% (40/170) vs standard 21.6% (36/167), difference 2.2 (−6.6 to 11.0), p=0.631"
    s = get_study("rrrr")
    prog, std = (
        only(s, "sustained discontinuation 1 year", "programmed"),
        only(s, "sustained discontinuation 1 year", "standard"),
    )
    assert (prog.value, prog.count, prog.total) == (23.5, 40, 170)
    assert (std.value, std.count, std.total) == (21.6, 36, 167)
    diff = only(s, "difference in sustained discontinuation")
    assert (diff.value, diff.ci_low, diff.ci_high) == (2.2, -6.6, 11.0)
    # "standard 32.3% / 31.1%, programmed 39.4% / 40.0%"
    rem = {(o.name, o.arm): o.value for o in s.find_outcomes("remission")}
    assert rem == {
        ("SDAI remission", "standard"): 32.3,
        ("DAS28-ESR remission", "standard"): 31.1,
        ("SDAI remission", "programmed"): 39.4,
        ("DAS28-ESR remission", "programmed"): 40.0,
    }
    # "(OR 2.97, 1.37–6.43 programmed; 2.83, 1.24–6.50 standard)"
    assert {(o.arm, o.value, o.ci_low, o.ci_high) for o in s.outcomes if o.unit == "OR"} == {
        ("programmed", 2.97, 1.37, 6.43),
        ("standard", 2.83, 1.24, 6.50),
    }


def test_s0_price_and_dose_limits():
    # "100 mg/vial = 75,009 JPY (April 2022)"; "may increase to 6 mg/kg or 10 mg/kg"
    s = get_study("label")
    assert only(s, "NHI price").value == 75009 and only(s, "NHI price").time_point == "April 2022"
    assert only(s, "maximum escalated dose").value == 10


# ------------------------------------------------------- structural checks
def test_arm_sizes_sum_to_population_or_the_gap_is_explained():
    for s in STUDIES:
        total = s.arms_n_total()
        if total is not None and s.population.n is not None and total != s.population.n:
            assert s.population.n_note or any("randomised" in a or "analysed" in a for a in s.assumptions), s.id


def test_counts_and_percentages_agree_where_both_are_given():
    for s in STUDIES:
        for o in s.outcomes:
            if o.unit == "%" and o.count is not None and o.total is not None:
                assert 100 * o.count / o.total == pytest.approx(o.value, abs=0.06), (s.id, o.name)


def test_seed_outcomes_quote_the_seed_and_publication_outcomes_name_their_source():
    text = SEED_EN.read_text(encoding="utf-8") if SEED_EN.exists() else ""
    for s in STUDIES:
        for o in s.outcomes:
            if o.source == "publication":
                assert o.note
            elif text:
                # every number in seed_text appears in the seed item's paragraph
                item = text.split(f"## {s.seed_tag} ", 1)[1].split("\n## ", 1)[0]
                for number in re.findall(r"\d+(?:[.,]\d+)?", o.seed_text):
                    assert number in item, (s.id, o.name, number)


def test_citations_short_form_and_identifiers():
    assert get_study("attract").short_citation() == "Maini 1999, Lancet 354:1932"
    assert get_study("aspire").short_citation() == "St Clair 2004, Arthritis Rheum 50:3432"
    assert cite("rrrr") == "Tanaka 2020, Ann Rheum Dis 79:94 [S15-rrrr-2020]"
    for s in STUDIES:
        assert s.verification
        if s.citation.pmid or s.citation.doi:  # identifiers only where a source was found
            assert "confirmed" in s.verification


def test_bad_records_are_rejected():
    base = get_study("S1").model_dump()
    bad_regimen = {**base, "arms": [{"name": "x", "regimen": "3 mg/kg at weeks 6,2"}]}
    with pytest.raises(ValueError):
        Study.model_validate(bad_regimen)
    bad_ref = {**base, "outcomes": [{**base["outcomes"][0], "arm": "no such arm"}]}
    with pytest.raises(ValueError, match="no such arm"):
        Study.model_validate(bad_ref)
    with pytest.raises(ValueError, match="40/170"):
        Outcome(name="x", value=30, count=40, total=170, unit="%", time_point="t", seed_text="x")
    with pytest.raises(ValueError):
        Outcome(name="x", value=1, unit="furlongs", time_point="t", seed_text="x")
