"""Small presentation helpers for templates (no clinical logic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ifxdose.app import clinic
from ifxdose.domain.decisions.cite import Citation

if TYPE_CHECKING:
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
