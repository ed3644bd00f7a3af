"""Small presentation helpers for templates (no clinical logic)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ifxdose.app import clinic
from ifxdose.domain.decisions.cite import Citation

if TYPE_CHECKING:
    from ifxdose.domain.estimation import EstimateSummary
    from ifxdose.domain.recommend import Recommendation


def citation_links(citations: Sequence[Citation]) -> list[tuple[str, str | None]]:
    """(text, evidence study id or None) of typed citations: a study of the evidence base links to
    /evidence/<id> (the Citation knows its study id; its text is never read)."""
    return [(str(c), c.study_id) for c in citations]


def decision_labels(row) -> dict | None:
    """The decided option of a stored recommendation as stored (a dict): the patient page's fallback
    for a payload that no longer validates (otherwise it shows the typed ``Option``, ``app.clinic.stored``)."""
    return clinic.chosen_option(row) if row is not None else None


def _joint_xy() -> dict[str, tuple[int, int]]:
    """Where each of the 28 joints sits on the diagram (patient facing the viewer: the
    patient's right on the left; palms forward, thumbs outward)."""
    big = {"shoulder": (100, 86), "elbow": (72, 150), "wrist": (57, 205), "knee": (124, 360)}
    xy = {}
    for side, mirror in (("right", False), ("left", True)):
        place = (lambda x, y: (300 - x, y)) if mirror else (lambda x, y: (x, y))
        for site, (x, y) in big.items():
            xy[f"{side}_{site}"] = place(x, y)
        for i in range(1, 6):  # MCP row, then PIP row; digit 1 (thumb) outermost
            xy[f"{side}_mcp{i}"] = place(22 + 12 * (i - 1), 236)
            xy[f"{side}_pip{i}"] = place(22 + 12 * (i - 1), 262)
    return xy


JOINT_XY = _joint_xy()


def joint_label(joint, t) -> str:
    """'右 手関節' / 'Right wrist' from the joint's side and site (message catalog)."""
    site = joint.site
    name = t(f"joints.site.{site}") if site[:3] not in ("mcp", "pip") else f"{site[:3].upper()}{site[3:]}"
    return t("joints.label", side=t(f"joints.side.{joint.side}"), site=name)


#: Options shown in the recommendation table before "more options" (the chosen one first).
MAIN_OPTIONS = 5


def option_rows(rec: dict | Recommendation | None) -> tuple[list, list]:
    """(main rows, more rows) of ``(index, option, is_chosen)``: the chosen option first, then
    by probability of target attainment (highest first) and yearly cost (lowest first); the
    index is the option's position in the stored recommendation (what a decision names).
    ``rec``: the domain's ``Recommendation`` (the patient page and the PDF report), or a stored
    payload dict when it no longer validates (the page's fallback)."""

    def get(value: Any, name: str) -> Any:
        return value.get(name) if isinstance(value, dict) else getattr(value, name, None)

    if not rec or not get(rec, "options"):
        return [], []
    chosen = get(rec, "chosen")
    rows = [(i, o, bool(chosen) and o == chosen) for i, o in enumerate(get(rec, "options"))]
    rows.sort(key=lambda r: (not r[2], -(get(r[1], "pta") or 0), get(r[1], "cost_per_year_jpy") or 0))
    return rows[:MAIN_OPTIONS], rows[MAIN_OPTIONS:]


def sig(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits in fixed notation (0.228, 1.94, 1,630), "—" for
    none: PK parameters span orders of magnitude, so a fixed number of decimals would not do."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{decimals}f}"


@dataclass(frozen=True)
class ParameterRow:
    """One individual parameter of an estimate: MAP value, unit, 80% interval (None: no random effect)."""

    name: str
    value: float
    unit: str
    interval: tuple[float, float] | None


@dataclass(frozen=True)
class EstimateView:
    """What the patient page shows of a recommendation's estimate (``Recommendation.estimation``):
    the typed summary itself, its parameters with their intervals, and its warnings in the
    reader's language."""

    summary: EstimateSummary
    parameters: list[ParameterRow]
    warnings: list[str]


def estimate_view(rec: dict | Recommendation | None, lang: str) -> EstimateView | None:
    """The estimate section of the patient page for a typed recommendation that carries an
    estimate; None for none (no recommendation, a stand-in engine, a payload shown as stored).
    Warnings in Japanese are the recommendation's own ``warnings_ja`` at the same position (the
    estimate's warnings are among the recommendation's), else as written."""
    summary = getattr(rec, "estimation", None)
    if rec is None or isinstance(rec, dict) or summary is None:
        return None
    rows = [
        ParameterRow(name, p.value, p.unit, summary.parameter_interval(name))
        for name, p in summary.individual_parameters.items()
    ]
    warnings = list(summary.warnings)
    if lang == "ja" and len(rec.warnings_ja) == len(rec.warnings):
        ja = dict(zip(rec.warnings, rec.warnings_ja))
        warnings = [ja.get(w, w) for w in warnings]
    return EstimateView(summary=summary, parameters=rows, warnings=warnings)
