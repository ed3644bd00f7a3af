"""Stepping exposure up or down within the label: now in ``ifxdose.domain.decisions.dosing``
(one set of rule functions for every path); re-exported here for existing imports."""

from ifxdose.domain.decisions.dosing import Step, step_down, step_up

__all__ = ["Step", "step_down", "step_up"]
