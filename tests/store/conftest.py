import json
from pathlib import Path

import pytest

from ifxdose.domain.patient import PatientHistory
from store.databases import db_url, empty_db_url, store  # noqa: F401  (fixtures)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "history_label_55kg.json"


@pytest.fixture
def example_history() -> PatientHistory:
    return PatientHistory.model_validate(json.loads(EXAMPLE.read_text()))
