"""START's "responded after escalation" row uses the denominator of Rahman 2007's abstract (Ann Rheum Dis
66:1233): "> 80 %" of the patients "who received up to three dose escalations" improved by >= 20 % in the total
tender and swollen joint count after their last escalation — not every escalated patient (the seed's S5 wording)."""

from __future__ import annotations

import numpy as np
import pytest

from ifxdose.domain.trials import metrics as M
from ifxdose.domain.trials.definitions import get_trial

ARM = "3 mg/kg with escalation by 1.5 mg/kg"


def test_key_between_includes_both_ends() -> None:
    rec = {"x": np.array([0.0, 1.0, 2.0, 3.0, 4.0])}
    np.testing.assert_array_equal(M.key_between("x", 1.0, 3.0)(rec), [False, True, True, True, False])


def test_start_overall_row_counts_patients_escalated_one_to_three_times_by_hand() -> None:
    q = next(
        q
        for q in get_trial("start").quantities
        if q.label.startswith("TJC+SJC improved >= 20 % at week 54 among escalated")
    )
    assert q.ref is not None and q.ref.arm == "escalated" and q.metric is not None
    records = {
        ARM: {
            # never escalated (improved), escalated 1, 2, 3 times, and 4 times (excluded by the abstract's wording)
            "escalations": np.array([0.0, 1.0, 2.0, 3.0, 4.0, 1.0]),
            "escalated": np.array([False, True, True, True, True, True]),
            "jc20@378": np.array([True, True, False, True, False, True]),
        }
    }
    # among the four patients escalated 1-3 times, three improved: 75 %; over all five escalated it would be 60 %
    assert q.metric(records) == pytest.approx(75.0)
    assert M.pct(ARM, "jc20@378", M.key_true("escalated"))(records) == pytest.approx(60.0)
