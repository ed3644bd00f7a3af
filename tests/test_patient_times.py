"""History times are clinic-local: a time-zone offset is refused by name (mixing aware and
naive times would otherwise fail while sorting, with no field named)."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from ifxdose.domain.patient import PatientHistory

EXAMPLE = Path(__file__).parents[1] / "examples" / "history_label_55kg.json"


def test_offset_time_is_refused_with_the_entry_named():
    doc = json.loads(EXAMPLE.read_text())
    doc["levels"][0]["date"] = "2024-07-08T09:30:00+09:00"
    with pytest.raises(ValidationError, match=r"levels\.0[\s\S]*time-zone offset"):
        PatientHistory.model_validate(doc)


def test_local_times_are_accepted():
    doc = json.loads(EXAMPLE.read_text())
    assert PatientHistory.model_validate(doc).levels[0].date.hour == 9
