"""The seed's dosing strategies as policies: ``get_policy(name).decide(history, today)``.

Every policy has the same shape (:class:`Policy`): a ``name``, a ``title``, a ``citation``
with seed tags, and ``decide(history, today) -> Decision`` (action, date, dose in mg/kg and
mg, vials, interval, a rationale, citations and label flags). Parameters that are
assumptions are keyword arguments of :func:`get_policy`. Rules and sources: docs/policies.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ifxdose.core.errors import InputError
from ifxdose.domain.policies.base import Decision, PatientState, Plan, Policy, record
from ifxdose.domain.policies.escalation import StartEscalation
from ifxdose.domain.policies.fixed import FixedRegimenPolicy, fixed_policies
from ifxdose.domain.policies.interval import IntervalShortening
from ifxdose.domain.policies.programmed import RrrrProgrammed
from ifxdose.domain.policies.tdm import Mulleman2009, NordrumTdm


def _factories() -> dict[str, Callable[..., Policy]]:
    out: dict[str, Callable[..., Policy]] = {}
    for name, arm in fixed_policies().items():
        out[name] = lambda _arm=arm, **kw: replace(_arm, **kw)
    out["start-escalation"] = StartEscalation
    out["interval-shortening"] = IntervalShortening
    out["nordrum-tdm"] = NordrumTdm
    out["mulleman-2009"] = Mulleman2009
    out["rrrr-programmed"] = RrrrProgrammed
    out["rrrr-standard"] = lambda **kw: RrrrProgrammed(arm="standard", **kw)
    return out


POLICIES = _factories()


def list_policies() -> list[str]:
    return sorted(POLICIES)


def get_policy(name: str, **params: Any) -> Policy:
    """A policy by name; ``params`` override its configurable defaults (e.g. ``rules="us"``)."""
    if name not in POLICIES:
        raise InputError("policy", name, f"known policies are {', '.join(list_policies())}")
    try:
        return POLICIES[name](**params)
    except TypeError as exc:
        raise InputError("policy parameters", sorted(params), str(exc)) from None


__all__ = ["Decision", "FixedRegimenPolicy", "IntervalShortening", "Mulleman2009", "NordrumTdm", "POLICIES",
           "PatientState", "Plan", "Policy", "RrrrProgrammed", "StartEscalation", "get_policy",
           "list_policies", "record"]
