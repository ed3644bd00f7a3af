"""The 28-joint set as named joints, so a joint-by-joint entry yields TJC28 and SJC28.

The 28 joints (Prevoo et al., Arthritis Rheum 1995;38:44-8, the DAS28 joint count):
shoulders, elbows, wrists, MCP 1-5, PIP 1-5 (thumb IP counted as PIP1) and knees, on
both sides. Identifiers are ``<side>_<site>``, e.g. ``left_mcp2``, ``right_knee``.
"""

from __future__ import annotations

from typing import Iterable

from pydantic import BaseModel, ConfigDict

from ifxdose.core.errors import InputError

SIDES = ("left", "right")
SITES = ("shoulder", "elbow", "wrist", *(f"mcp{i}" for i in range(1, 6)), *(f"pip{i}" for i in range(1, 6)), "knee")


class Joint(BaseModel):
    """One joint of the 28-joint set, with what a drawing needs."""

    model_config = ConfigDict(frozen=True)

    id: str
    side: str
    site: str
    label: str


def _label(side: str, site: str) -> str:
    """``left_mcp2`` -> "Left MCP2"; ``right_knee`` -> "Right Knee"."""
    name = site.upper() if site[:3] in ("mcp", "pip") else site.capitalize()
    return f"{side.capitalize()} {name}"


JOINTS_28: tuple[Joint, ...] = tuple(
    Joint(id=f"{side}_{site}", side=side, site=site, label=_label(side, site)) for side in SIDES for site in SITES
)
JOINT_IDS = frozenset(j.id for j in JOINTS_28)


class JointCounts(BaseModel):
    model_config = ConfigDict(frozen=True)

    tjc28: int
    sjc28: int
    tender: list[str]
    swollen: list[str]


def _checked(field: str, joints: Iterable[str]) -> list[str]:
    chosen = sorted(set(joints))
    unknown = [j for j in chosen if j not in JOINT_IDS]
    if unknown:
        raise InputError(
            field, unknown, "allowed joints are <left|right>_<shoulder|elbow|wrist|mcp1..mcp5|pip1..pip5|knee>"
        )
    return chosen


def joint_counts(*, tender: Iterable[str] = (), swollen: Iterable[str] = ()) -> JointCounts:
    """TJC28 and SJC28 from the tender and swollen joints (each joint counted once)."""
    tender_ids, swollen_ids = _checked("tender", tender), _checked("swollen", swollen)
    return JointCounts(tjc28=len(tender_ids), sjc28=len(swollen_ids), tender=tender_ids, swollen=swollen_ids)
