"""docs/assumptions.md lists every labelled assumption (regenerate with the script if this fails)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_assumptions_doc_is_current():
    out = subprocess.run(
        [sys.executable, str(ROOT / "validation" / "list_assumptions.py")], capture_output=True, text=True, check=True
    ).stdout
    assert (ROOT / "docs" / "assumptions.md").read_text(encoding="utf-8") == out, (
        "docs/assumptions.md is stale: run .venv/bin/python validation/list_assumptions.py > docs/assumptions.md"
    )
