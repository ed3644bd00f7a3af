"""One DAS28 preference in the whole app (issue 11: there were two). When a visit has both an
ESR and a CRP, the web trend shows the same DAS28 the decisions read: DAS28-ESR."""

import datetime as dt
import math

from ifxdose.domain.clinic import activity_trend
from ifxdose.domain.decisions.activity import das28_of
from ifxdose.domain.patient import PatientHistory


def test_trend_and_decisions_use_das28_esr_when_both_are_known():
    visit = {"date": "2024-03-01", "tjc28": 4, "sjc28": 5, "ptga_mm": 50, "esr_mm_h": 30, "crp_mg_l": 7}
    history = PatientHistory.model_validate(
        {
            "patient": {"id": "P", "sex": "female", "birth_year": 1970},
            "weights": [{"date": "2024-01-01", "weight_kg": 60}],
            "infusions": [{"date": "2024-01-01", "dose_mg": 180}],
            "assessments": [visit],
        }
    )
    # DAS28-ESR by hand (Prevoo 1995): 0.56 sqrt(TJC) + 0.28 sqrt(SJC) + 0.70 ln(ESR) + 0.014 PtGA
    by_hand = 0.56 * math.sqrt(4) + 0.28 * math.sqrt(5) + 0.70 * math.log(30) + 0.014 * 50
    das28 = next(t for t in activity_trend(history) if t.measure == "DAS28")
    assert das28.points[0].date == dt.date(2024, 3, 1)
    assert abs(das28.points[0].value - by_hand) < 1e-9
    assert float(das28_of(history.assessments[0], history.labs)) == round(by_hand, 2)
