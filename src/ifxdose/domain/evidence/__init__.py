"""The evidence base: every study of the seed (S0 label facts, S1–S15) as validated data.

>>> from ifxdose.domain.evidence import get_study
>>> get_study("attract").short_citation()
'Maini 1999, Lancet 354:1932'

Records live in ``data/<id>.toml`` (one file per seed item); ``docs/evidence.md`` describes
the schema, how ranges are represented and how the citations were verified. Policies and
recommendations cite a record by its id (or key) through :func:`cite`.
"""

from ifxdose.domain.evidence.library import cite, get_study, load_studies
from ifxdose.domain.evidence.models import UNITS, Arm, Citation, Outcome, Population, RegimenVariant, Study

__all__ = [
    "Arm",
    "Citation",
    "Outcome",
    "Population",
    "RegimenVariant",
    "Study",
    "UNITS",
    "cite",
    "get_study",
    "load_studies",
]
