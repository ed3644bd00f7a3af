"""RA disease-activity and response measures, computed exactly.

``from ifxdose.domain import scores`` or ``from ifxdose.domain.scores import das28_crp``.
One function per measure (keyword arguments, units in the names) and :func:`assess`,
which returns every measure computable from what was given. Conventions, sources and
assumptions: docs/scores.md.
"""

from ifxdose.domain.scores.acr import AcrResponse, CoreSet, acr_n, acr_response
from ifxdose.domain.scores.assess import Assessment, Visit, assess
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
