"""The seed's dosing strategies as policies: ``get_policy(name).decide(history, today)``.

Every policy has the same shape (:class:`Policy`): a ``name``, a ``title``, a ``citation``
with seed tags, and ``decide(history, today) -> Decision`` (action, date, dose in mg/kg and
mg, vials, interval, a rationale, citations, label flags, warnings and the next visit).
The rules they share live in ``ifxdose.domain.decisions``; the registry is
``ifxdose.domain.decisions.registry`` (``register_policy`` adds one). ``recommend`` — the
model-informed policy — is registered with the others. Parameters that are assumptions are
keyword arguments of :func:`get_policy`; ``replay=True`` makes any policy a protocol replay
(safety findings flagged, the arm kept). Rules and sources: docs/policies.md, docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ifxdose.domain.decisions.registry import _REGISTRY, get_policy, list_policies, register_policy
from ifxdose.domain.policies.base import Decision, DosingPolicy, PatientState, Plan, Policy, record
from ifxdose.domain.policies.escalation import StartEscalation
from ifxdose.domain.policies.fixed import FixedRegimenPolicy, fixed_policies
from ifxdose.domain.policies.interval import IntervalShortening
from ifxdose.domain.policies.proactive_tdm import Mulleman2009, NordrumTdm
from ifxdose.domain.policies.programmed import RrrrProgrammed


def _with_replay(factory: Callable[..., Policy]) -> Callable[..., Policy]:
    def make(**params: Any) -> Policy:
        replay = bool(params.pop("replay", False))
        policy = factory(**params)
        policy.replay = replay
        return policy

    return make


def _model_informed(**params: Any) -> DosingPolicy:
    from ifxdose.domain.recommend import ModelInformedPolicy

    return ModelInformedPolicy(**params)


def _factories() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = {}
    for name, arm in fixed_policies().items():
        out[name] = _with_replay(lambda _arm=arm, **kw: replace(_arm, **kw))
    out["start-escalation"] = _with_replay(StartEscalation)
    out["interval-shortening"] = _with_replay(IntervalShortening)
    out["nordrum-tdm"] = _with_replay(NordrumTdm)
    out["mulleman-2009"] = _with_replay(Mulleman2009)
    out["rrrr-programmed"] = _with_replay(RrrrProgrammed)
    out["rrrr-standard"] = _with_replay(lambda **kw: RrrrProgrammed(arm="standard", **kw))
    out["recommend"] = _model_informed
    return out


for _name, _factory in _factories().items():
    if _name not in _REGISTRY:
        register_policy(_name, _factory)

#: name -> factory of every registered policy (a live view of the registry).
POLICIES = _REGISTRY

__all__ = [
    "Decision",
    "FixedRegimenPolicy",
    "IntervalShortening",
    "Mulleman2009",
    "NordrumTdm",
    "POLICIES",
    "PatientState",
    "Plan",
    "Policy",
    "RrrrProgrammed",
    "StartEscalation",
    "get_policy",
    "list_policies",
    "record",
    "register_policy",
]
