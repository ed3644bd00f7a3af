"""How many examples the property-based fuzz tests generate (docs/development.md).

``make test`` runs the CI counts written in each test (every operation, form and probe is
still exercised; hypothesis draws new random examples on every run, so CI runs add up).
``IFXDOSE_FUZZ_EXAMPLES=N`` runs N examples per property instead: ``make fuzz`` is the deep
run (``IFXDOSE_FUZZ_EXAMPLES=200``). Assumption: the fuzz tests' claims (no server error, the
round trip is the identity) do not depend on the count; a larger count only searches longer.
"""

from __future__ import annotations

import os


def examples(ci: int) -> int:
    """The number of examples for a property whose CI count is ``ci``."""
    value = os.environ.get("IFXDOSE_FUZZ_EXAMPLES", "").strip()
    if not value:
        return ci
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"IFXDOSE_FUZZ_EXAMPLES={value!r}: allowed values are whole numbers >= 1")
    return int(value)
