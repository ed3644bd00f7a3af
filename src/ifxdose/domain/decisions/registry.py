"""The policy registry: ``register_policy(name, factory)``; every registered policy (and
``recommend``, the model-informed one) has the same ``decide(history, today) -> Decision``.

The built-in policies register themselves when ``ifxdose.domain.policies`` is imported;
:func:`get_policy` and :func:`list_policies` import it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from ifxdose.domain.policies.base import DosingPolicy

from ifxdose.core.errors import InputError

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_policy(name: str, factory: Callable[..., Any], *, replace: bool = False) -> None:
    """Add a policy: ``factory(**params)`` returns an object with ``decide(history, today)``."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise InputError("policy name", name, "letters, digits, '-' and '_' only")
    if name in _REGISTRY and not replace:
        raise InputError("policy name", name, "already registered (pass replace=True to override)")
    _REGISTRY[name] = factory


def _load_builtins() -> None:
    import ifxdose.domain.policies  # noqa: F401  (registers the built-ins)


def registered() -> dict[str, Callable[..., Any]]:
    _load_builtins()
    return _REGISTRY


def list_policies() -> list[str]:
    return sorted(registered())


def get_policy(name: str, **params: Any) -> DosingPolicy:
    """A policy by name; ``params`` override its configurable defaults (e.g. ``rules="us"``)."""
    factories = registered()
    if name not in factories:
        raise InputError("policy", name, f"known policies are {', '.join(sorted(factories))}")
    try:
        policy: DosingPolicy = factories[name](**params)
        return policy
    except TypeError as exc:
        raise InputError("policy parameters", sorted(params), str(exc)) from None
