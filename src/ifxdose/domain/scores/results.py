"""Result models shared by the measures (pydantic, JSON-ready)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Score(BaseModel):
    """A disease-activity score: full-precision value, displayed value, category."""

    model_config = ConfigDict(frozen=True)

    measure: str
    value: float
    display: str
    category: str | None = None
    cutoffs: str | None = None
    #: The exact decimal the category was decided on (see docs/scores.md, "Exactness").
    decided_on: str


class ItemChange(BaseModel):
    """One component of a response criterion: baseline, follow-up, and whether it improved."""

    model_config = ConfigDict(frozen=True)

    name: str
    baseline: float | None
    followup: float | None
    #: (baseline - follow-up) / baseline * 100; None when missing or baseline is 0.
    improvement_pct: float | None
    #: threshold label ("20", "50", "70") -> improved by at least that much.
    improved: dict[str, bool]
