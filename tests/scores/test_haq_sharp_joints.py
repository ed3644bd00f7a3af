"""HAQ-DI, mTSS change and the 28-joint set."""

from __future__ import annotations

import pytest

from ifxdose.core.errors import InputError
from ifxdose.domain.scores import JOINTS_28, haq_di, joint_counts, mtss_change

ALL = dict(dressing=1, arising=0, eating=0, walking=1, hygiene=0, reach=0, grip=3, activities=1)


def test_haq_di_hand_computed_without_aids():
    # (1+0+0+1+0+0+3+1) / 8 = 6/8 = 0.75
    assert haq_di(**ALL).value == 0.75


def test_haq_aids_raise_0_or_1_to_2_but_keep_3():
    # walking 1 -> 2, eating 0 -> 2, grip stays 3: (1+0+2+2+0+0+3+1)/8 = 9/8 = 1.125
    result = haq_di(**ALL, aids=["walking", "eating", "grip"])
    assert result.value == 1.125 and result.display == "1.125"


def test_haq_divides_by_answered_and_needs_six():
    seven = {**ALL, "grip": None}  # (1+0+0+1+0+0+1)/7 = 3/7
    assert haq_di(**seven).value == pytest.approx(3 / 7)
    assert haq_di(**seven).display == "0.429"
    with pytest.raises(InputError, match="at least 6"):
        haq_di(**{**seven, "reach": None, "hygiene": None})


def test_haq_rejects_unknown_aid_category_and_bad_score():
    with pytest.raises(InputError, match="aids"):
        haq_di(**ALL, aids=["cooking"])
    with pytest.raises(InputError, match=r"grip.*\[0, 3\]"):
        haq_di(**{**ALL, "grip": 4})


@pytest.mark.parametrize(
    "base,follow,sdc,exceeds,nonprog",
    [
        (10, 15, 5.0, False, False),  # change 5.0 == SDD 5.0 (Bruynesteyn 2002): not beyond
        (10, 15.5, 5.0, True, False),
        (10, 10.5, 5.0, False, True),  # 0.5 <= 0.5: non-progression
        (10, 21, 11, False, False),  # Lassere SDD 11, change 11
        (20, 18, 5.0, False, True),  # improvement
    ],
)
def test_mtss_change(base, follow, sdc, exceeds, nonprog):
    result = mtss_change(baseline_mtss=base, followup_mtss=follow, sdc=sdc)
    assert (result.exceeds_sdc, result.non_progression) == (exceeds, nonprog)


def test_mtss_range():
    with pytest.raises(InputError, match=r"followup_mtss.*\[0, 448\]"):
        mtss_change(baseline_mtss=0, followup_mtss=449)


def test_joint_set_is_28_named_joints():
    # Prevoo 1995: shoulders, elbows, wrists, MCP1-5, PIP1-5, knees, both sides
    ids = {j.id for j in JOINTS_28}
    assert len(ids) == 28
    assert {"left_shoulder", "right_knee", "left_mcp1", "right_pip5", "left_wrist"} <= ids
    assert sum(j.side == "left" for j in JOINTS_28) == 14


def test_joint_counts_from_names():
    counts = joint_counts(tender=["left_mcp2", "right_knee", "left_mcp2"], swollen=["left_mcp2"])
    assert (counts.tjc28, counts.sjc28) == (2, 1)
    all_ids = [j.id for j in JOINTS_28]
    assert joint_counts(tender=all_ids, swollen=all_ids).tjc28 == 28
    with pytest.raises(InputError, match="left_hip"):
        joint_counts(tender=["left_hip"])
