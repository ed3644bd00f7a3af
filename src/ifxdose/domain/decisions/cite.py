"""One citation type for every decision: :class:`Citation`, made by :func:`cite` from a key.

Seed tags (``S0``-``S15``) and study ids resolve through the evidence base
(``ifxdose.domain.evidence.cite``: 'Maini 1999, Lancet 354:1932 [S4-attract-1999]'); the
few sources that are not seed studies (label sentences, RA trough tables, assay
documents) are listed here once, so the same rule is cited the same way everywhere.

A ``Citation`` is the text shown (a ``str``: JSON, FHIR ``Provenance``, CDS cards and the
templates carry it unchanged) that also knows its key and, for a study of the evidence base,
its study id (the page links it to ``/evidence/<id>``). A stored text comes back as the same
``Citation`` by :meth:`Citation.of`, a look-up among every text :func:`cite` can give — no
parsing of the text.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

from ifxdose.domain.evidence import cite as _cite_study
from ifxdose.domain.evidence import load_studies

JP_LABEL_URL = "https://expydoc.com/doc/9625991/"

#: Sources that are not seed studies, by key.
SOURCES: dict[str, str] = {
    "label-jp": f"Remicade JP label, 用法・用量 <関節リウマチ> ({JP_LABEL_URL})",
    "label-jp-stepwise": (
        "Remicade JP label, 用法・用量 <関節リウマチ>: 「6週の投与以後、効果不十分又は効果が減弱した場合"
        "には、投与量の増量や投与間隔の短縮が可能である。これらの投与量の増量や投与間隔の短縮は段階的に"
        f"行う。」 ({JP_LABEL_URL})"
    ),
    "label-jp-contraindication": (
        "Remicade JP label, 禁忌: 本剤の成分又はマウス由来の蛋白質に対する過敏症の既往歴のある患者 "
        "(https://kanri.nkdesk.com/riumachi/riumachi12.php)"
    ),
    "label-jp-infusion": (
        "Mitsubishi Tanabe patient information, レミケード治療の進め方 (点滴は2時間以上; 4回目以降は"
        "短縮可): https://www.riumachi21.info/patient/remicade/text03.html"
    ),
    "infusion-reaction": (
        "Mitsubishi Tanabe medical Q&A, Infusion reaction発現時の対処法・予防投薬: 軽度〜中等度は投与速度を"
        "遅くする又は中止、抗ヒスタミン薬・アセトアミノフェン; 予防投薬でリスク軽減 "
        "(https://medical.mt-pharma.co.jp/di/qa/rec/7788)"
    ),
    "label-us": "REMICADE US PI, RA dosage: http://www.healthscout.com/rxdetail/1/118/7/main.html",
    "mulleman-2009": (
        "Mulleman D et al. Arthritis Res Ther 2009;11:R178, Table 1 "
        "(https://arthritis-research.biomedcentral.com/articles/10.1186/ar2867/tables/1)"
    ),
    "nordrum": "Syversen SW et al. JAMA 2021;326:2375-84 (NOR-DRUM B)",
    "start": "Rahman MU et al. Ann Rheum Dis 2007;66:1233-8 (START escalation)",
    "rrrr": "Tanaka Y et al. Ann Rheum Dis 2020;79:94-102 (RRRR)",
    "felson-2011": "Felson DT et al. Ann Rheum Dis 2011;70:404-13 (ACR/EULAR remission; DAS28/SDAI categories)",
    "st-clair-2002": "St Clair EW et al. Arthritis Rheum 2002;46:1451-9",
    "rising-tnf": "Takeuchi T et al. Ann Rheum Dis 2011;70:1208-15 (RISING TNF sub-analysis)",
}


class Citation(str):
    """A citation's text, with the key it was made from and the evidence study id, if any."""

    key: str
    study_id: str | None

    def __new__(cls, text: str, key: str = "", study_id: str | None = None) -> Citation:
        made = super().__new__(cls, text)
        made.key, made.study_id = key, study_id
        return made

    def __repr__(self) -> str:
        return f"Citation({str(self)!r}, key={self.key!r}, study_id={self.study_id!r})"

    @classmethod
    def of(cls, text: str) -> Citation:
        """The Citation :func:`cite` gives for this text; a text no key gives (a user's source,
        an older wording) is a Citation without key or study id."""
        if isinstance(text, Citation):
            return text
        return _known().get(str(text)) or cls(str(text))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validated from a string (:meth:`of`), serialised as the string: the JSON is unchanged."""
        return core_schema.no_info_after_validator_function(
            cls.of, core_schema.str_schema(), serialization=core_schema.plain_serializer_function_ser_schema(str)
        )


@cache
def _known() -> dict[str, Citation]:
    """Every citation by its text: the sources here, then every study of the evidence base."""
    out = {text: Citation(text, key) for key, text in SOURCES.items()}
    for study in load_studies():
        text = _cite_study(study.id)
        out.setdefault(text, Citation(text, study.seed_tag, study.id))
    return out


@cache
def cite(key: str) -> Citation:
    """The citation for a source key or a seed tag / study id."""
    if key in SOURCES:
        return Citation(SOURCES[key], key)
    text = _cite_study(key)
    return _known().get(text) or Citation(text, key)


def split_joined(text: str) -> tuple[Citation, ...]:
    """Citations stored by older versions as one "; "-joined string, as typed values.

    Only for reading old payloads (``Target.source`` was such a string): every piece is matched
    against the texts :func:`cite` can give, longest first, because a citation's own text may
    contain "; " (``label-jp-infusion``, ``infusion-reaction``). A piece no key gives (a user's
    source) is a Citation without key. An empty text is no citation.

    Assumption: in an old joined source, a "; " that is not inside a known citation text separates
    two citations (a user's own source text containing "; " is read as two key-less citations).
    """
    pieces = str(text).split("; ")
    known = _known()
    out: list[Citation] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):
            joined = "; ".join(pieces[i:j])
            if joined in known or j == i + 1:
                if joined.strip():
                    out.append(Citation.of(joined))
                i = j
                break
    return tuple(out)


def cites(*keys: str) -> list[Citation]:
    """Several citations, duplicates removed, in order."""
    return list(dict.fromkeys(cite(k) for k in keys))
