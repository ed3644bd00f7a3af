"""ISO dates in the domain's prose (rationale, warnings) are shown in the reader's format on
pages and in the PDF (issue 13): 2024年7月8日 / 8 Jul 2024; non-dates are left alone."""

from __future__ import annotations

import pytest

from ifxdose.adapters.web.i18n import localize_dates


@pytest.mark.parametrize(
    ("text", "ja", "en"),
    [
        ("実測トラフ（2024-07-08）は", "実測トラフ（2024年7月8日）は", "実測トラフ（8 Jul 2024）は"),
        (
            "due 2026-12-01: overdue, so today",
            "due 2026年12月1日: overdue, so today",
            "due 1 Dec 2026: overdue, so today",
        ),
        (
            "trough on 2024-07-08 09:30, before",
            "trough on 2024年7月8日 09:30, before",
            "trough on 8 Jul 2024 09:30, before",
        ),
        ("at 2024-07-08T09:30:00+09:00.", "at 2024年7月8日 09:30+09:00.", "at 8 Jul 2024 09:30+09:00."),
        ("not a date: 2024-13-45, 12024-01-01, 2024-01-011", None, None),
        ("", "", ""),
    ],
)
def test_iso_dates_in_prose_follow_the_language(text, ja, en):
    assert localize_dates(text, "ja") == (text if ja is None else ja)
    assert localize_dates(text, "en") == (text if en is None else en)
