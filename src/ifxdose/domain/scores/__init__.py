"""RA disease-activity and response measures, computed exactly.

``from ifxdose.domain import scores`` or ``from ifxdose.domain.scores import das28_crp``.
One function per measure (keyword arguments, units in the names) and :func:`assess`,
which returns every measure computable from what was given. Conventions, sources and
assumptions: docs/scores.md.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ifxdose.domain.scores._assess import Assessment, Visit, assess
    from ifxdose.domain.scores.acr import AcrResponse, CoreSet, acr_n, acr_response
    from ifxdose.domain.scores.boolean import BooleanRemission, boolean_remission
    from ifxdose.domain.scores.das28 import CUTOFFS as DAS28_CUTOFFS
    from ifxdose.domain.scores.das28 import das28_category, das28_crp, das28_esr
    from ifxdose.domain.scores.eular import EularResponse, eular_response
    from ifxdose.domain.scores.haq import CATEGORIES as HAQ_CATEGORIES
    from ifxdose.domain.scores.haq import haq_di
    from ifxdose.domain.scores.joints import JOINTS_28, Joint, JointCounts, joint_counts
    from ifxdose.domain.scores.paulus import PaulusResponse, PaulusVisit, paulus_response
    from ifxdose.domain.scores.results import ItemChange, Score
    from ifxdose.domain.scores.sdai_cdai import cdai, sdai
    from ifxdose.domain.scores.sharp import SharpChange, mtss_change

#: name -> (module, attribute): loaded on first use, so ``ifxdose score das28-crp`` imports one
#: measure, not all of them (CLI start-up, benchmarks/cli_startup.py).
_EXPORTS: dict[str, tuple[str, str]] = {
    "AcrResponse": ("ifxdose.domain.scores.acr", "AcrResponse"),
    "CoreSet": ("ifxdose.domain.scores.acr", "CoreSet"),
    "acr_n": ("ifxdose.domain.scores.acr", "acr_n"),
    "acr_response": ("ifxdose.domain.scores.acr", "acr_response"),
    "Assessment": ("ifxdose.domain.scores._assess", "Assessment"),
    "Visit": ("ifxdose.domain.scores._assess", "Visit"),
    "assess": ("ifxdose.domain.scores._assess", "assess"),
    "BooleanRemission": ("ifxdose.domain.scores.boolean", "BooleanRemission"),
    "boolean_remission": ("ifxdose.domain.scores.boolean", "boolean_remission"),
    "DAS28_CUTOFFS": ("ifxdose.domain.scores.das28", "CUTOFFS"),
    "das28_category": ("ifxdose.domain.scores.das28", "das28_category"),
    "das28_crp": ("ifxdose.domain.scores.das28", "das28_crp"),
    "das28_esr": ("ifxdose.domain.scores.das28", "das28_esr"),
    "EularResponse": ("ifxdose.domain.scores.eular", "EularResponse"),
    "eular_response": ("ifxdose.domain.scores.eular", "eular_response"),
    "HAQ_CATEGORIES": ("ifxdose.domain.scores.haq", "CATEGORIES"),
    "haq_di": ("ifxdose.domain.scores.haq", "haq_di"),
    "JOINTS_28": ("ifxdose.domain.scores.joints", "JOINTS_28"),
    "Joint": ("ifxdose.domain.scores.joints", "Joint"),
    "JointCounts": ("ifxdose.domain.scores.joints", "JointCounts"),
    "joint_counts": ("ifxdose.domain.scores.joints", "joint_counts"),
    "PaulusResponse": ("ifxdose.domain.scores.paulus", "PaulusResponse"),
    "PaulusVisit": ("ifxdose.domain.scores.paulus", "PaulusVisit"),
    "paulus_response": ("ifxdose.domain.scores.paulus", "paulus_response"),
    "ItemChange": ("ifxdose.domain.scores.results", "ItemChange"),
    "Score": ("ifxdose.domain.scores.results", "Score"),
    "cdai": ("ifxdose.domain.scores.sdai_cdai", "cdai"),
    "sdai": ("ifxdose.domain.scores.sdai_cdai", "sdai"),
    "SharpChange": ("ifxdose.domain.scores.sharp", "SharpChange"),
    "mtss_change": ("ifxdose.domain.scores.sharp", "mtss_change"),
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AcrResponse",
    "Assessment",
    "BooleanRemission",
    "CoreSet",
    "DAS28_CUTOFFS",
    "EularResponse",
    "HAQ_CATEGORIES",
    "ItemChange",
    "JOINTS_28",
    "Joint",
    "JointCounts",
    "PaulusResponse",
    "PaulusVisit",
    "Score",
    "SharpChange",
    "Visit",
    "acr_n",
    "acr_response",
    "assess",
    "boolean_remission",
    "cdai",
    "das28_category",
    "das28_crp",
    "das28_esr",
    "eular_response",
    "haq_di",
    "joint_counts",
    "mtss_change",
    "paulus_response",
    "sdai",
]
