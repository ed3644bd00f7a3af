"""Every code the FHIR adapter writes, with where it comes from and how sure we are.

Confidence grades follow ``shared/research/ra_scores_and_codes.md`` Part B:
``P`` primary (an HL7/NLM/WHOCC publication), ``C`` corroborated by public code or mapping
files only (confirm on loinc.org / RxNav), ``S`` secondary site, ``assumption`` our own
choice. Codes that a clinic's systems may use *in addition* (alternative LOINC terms,
product RxCUIs) are import-only and live in ``data/codes.toml`` with the same fields.

Assumption: ``LOCAL`` is this project's own code-system namespace. No LOINC term was
found for the anti-infliximab antibody result (17 look-ups: OMOP concept names such as
"inFLIXimab Ab [Mass/volume] in Serum or Plasma" (OMOP 43055457) show that LOINC terms
exist, but no public page gave their numbers), for a DAS28 assessment, or for a
predicted trough, so those use local codes; a clinic maps its laboratory's codes onto
them with a user mapping file (see ``mapping.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------- systems
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

#: Assumption: a placeholder namespace until the project has a canonical URL.
LOCAL_BASE = "https://ifxdose.org/fhir"
LOCAL = f"{LOCAL_BASE}/CodeSystem/ifxdose"
JOINTS = f"{LOCAL_BASE}/CodeSystem/joint-28"
PATIENT_ID = f"{LOCAL_BASE}/NamingSystem/patient-id"
HISTORY_ENTRY = f"{LOCAL_BASE}/NamingSystem/history-entry"


def extension_url(name: str) -> str:
    """The URL of one of our extensions (documented in docs/fhir.md)."""
    return f"{LOCAL_BASE}/StructureDefinition/{name}"


EXT_DOSE_PER_KG = extension_url("dose-mg-per-kg")
EXT_REACTION = extension_url("infusion-reaction")
EXT_LLOQ = extension_url("lower-limit-of-quantification")
EXT_DRUG_TOLERANT = extension_url("drug-tolerant-assay")
EXT_ACTION = extension_url("recommendation-action")


@dataclass(frozen=True)
class Code:
    """One code with its provenance."""

    system: str
    code: str
    display: str
    source: str
    confidence: str

    def coding(self) -> dict[str, str]:
        return {"system": self.system, "code": self.code, "display": self.display}

    @property
    def key(self) -> tuple[str, str]:
        return (self.system, self.code)


_RESEARCH = "shared/research/ra_scores_and_codes.md Part B"
_LOCAL = "Assumption: local code (no standard code found or verified)"

# ---------------------------------------------------------------- LOINC
LOINC_IFX = Code(
    LOINC,
    "39803-2",
    "inFLIXimab [Mass/volume] in Serum or Plasma",
    f"{_RESEARCH} B1: public Swiss lab-report importer; OMOP concept 3042299",
    "C",
)
LOINC_CRP = Code(
    LOINC,
    "1988-5",
    "C reactive protein [Mass/volume] in Serum or Plasma",
    f"{_RESEARCH} B1: HL7 CH LAB-Order IG ActivityDefinition procedure-crp",
    "P",
)
LOINC_ESR = Code(
    LOINC,
    "4537-7",
    "Erythrocyte sedimentation rate by Westergren method",
    f"{_RESEARCH} B1: several public mapping files agree",
    "C",
)
LOINC_WEIGHT = Code(
    LOINC, "29463-7", "Body weight", f"{_RESEARCH} B1: FHIR core bodyweight profile; US Core Body Weight", "P"
)
LOINC_ALBUMIN = Code(
    LOINC,
    "1751-7",
    "Albumin [Mass/volume] in Serum or Plasma",
    f"{_RESEARCH} B1: HL7 EU PROTECT-CHILD IG ObservationDefinition",
    "P",
)

# ---------------------------------------------------------------- drugs
RXNORM_IFX = Code(
    RXNORM,
    "191831",
    "infliximab",
    f"{_RESEARCH} B2: NLM Technical Bulletin, RxNorm December 2017 release (TTY=IN)",
    "P",
)
ATC_IFX = Code(
    ATC, "L04AB02", "infliximab", f"{_RESEARCH} B2: rxreasoner ATC L04AB listing; many code lists agree", "S"
)
RXNORM_MTX = Code(
    RXNORM, "6851", "methotrexate", f"{_RESEARCH} B2: a pharmacogenomics mapping file (confirm in RxNav)", "C"
)
ATC_MTX = Code(
    ATC, "L04AX03", "methotrexate", f"{_RESEARCH} B2: WHOCC L04AX guideline text (oral/prefilled MTX, RA DDD)", "P"
)

# ---------------------------------------------------------------- routes
SNOMED_IV = Code(
    SNOMED,
    "47625008",
    "Intravenous route",
    "FHIR route-codes value set (http://hl7.org/fhir/ValueSet/route-codes); "
    "used with this display in several public FHIR examples",
    "C",
)
SNOMED_SC = Code(
    SNOMED,
    "34206005",
    "Subcutaneous route",
    "FHIR R5 route-codes value set expansion (hl7.org/fhir/R5/valueset-route-codes.html)",
    "P",
)
ROUTES = {"iv": SNOMED_IV, "sc": SNOMED_SC}

# ---------------------------------------------------------------- FHIR terminology
_CATEGORY_SRC = "FHIR R4 observation-category code system (terminology.hl7.org)"
CATEGORY_LAB = Code(OBSERVATION_CATEGORY, "laboratory", "Laboratory", _CATEGORY_SRC, "P")
CATEGORY_VITAL = Code(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs", _CATEGORY_SRC, "P")
CATEGORY_SURVEY = Code(OBSERVATION_CATEGORY, "survey", "Survey", _CATEGORY_SRC, "P")
_INTERP_SRC = "HL7 v3-ObservationInterpretation (terminology.hl7.org), e.g. CH ELM pos/neg value set"
POSITIVE = Code(INTERPRETATION, "POS", "Positive", _INTERP_SRC, "P")
NEGATIVE = Code(INTERPRETATION, "NEG", "Negative", _INTERP_SRC, "P")

# ---------------------------------------------------------------- local codes
ADA = Code(
    LOCAL,
    "anti-infliximab-antibody",
    "Anti-infliximab antibody (ATI) result",
    _LOCAL + "; the LOINC number was not found (see module docstring)",
    "assumption",
)
ASSESSMENT = Code(
    LOCAL,
    "ra-28-joint-assessment",
    "RA 28-joint assessment panel",
    _LOCAL + "; no LOINC for DAS28 or its panel was found",
    "assumption",
)
TJC28 = Code(LOCAL, "tjc28", "Tender joint count (28 joints)", _LOCAL, "assumption")
SJC28 = Code(LOCAL, "sjc28", "Swollen joint count (28 joints)", _LOCAL, "assumption")
PTGA = Code(LOCAL, "ptga-mm", "Patient global assessment, 0-100 mm VAS", _LOCAL, "assumption")
PHGA = Code(LOCAL, "phga-mm", "Physician global assessment, 0-100 mm VAS", _LOCAL, "assumption")
PAIN = Code(LOCAL, "pain-mm", "Patient pain, 0-100 mm VAS", _LOCAL, "assumption")
HAQ = Code(LOCAL, "haq-di", "HAQ disability index (0-3)", _LOCAL, "assumption")
TENDER_JOINT = Code(LOCAL, "tender-joint", "Tender joint (one component per joint)", _LOCAL, "assumption")
SWOLLEN_JOINT = Code(LOCAL, "swollen-joint", "Swollen joint (one component per joint)", _LOCAL, "assumption")
NO_JOINT = Code(JOINTS, "none", "No joint (an explicitly empty joint list)", _LOCAL, "assumption")
TNF_BASELINE = Code(
    LOCAL,
    "baseline-tnf-alpha",
    "Serum TNF-alpha before the first infusion",
    _LOCAL + "; no TNF-alpha LOINC was verified",
    "assumption",
)
PREDICTED_TROUGH = Code(
    LOCAL,
    "predicted-infliximab-trough",
    "Predicted infliximab trough (model prediction, not a measurement)",
    _LOCAL + "; deliberately not LOINC 39803-2 so no system takes it for a level",
    "assumption",
)
PREDICTED_P10 = Code(LOCAL, "predicted-trough-p10", "Predicted trough, 10th percentile", _LOCAL, "assumption")
PREDICTED_P90 = Code(LOCAL, "predicted-trough-p90", "Predicted trough, 90th percentile", _LOCAL, "assumption")
PTA = Code(LOCAL, "probability-of-target-attainment", "Probability of target attainment (0-1)", _LOCAL, "assumption")
CATEGORY_PREDICTION = Code(LOCAL, "prediction", "Model prediction (not a measurement)", _LOCAL, "assumption")

#: Every code this module defines, for docs and tests.
ALL_CODES: tuple[Code, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Code))


def joint_code(joint_id: str) -> dict[str, str]:
    """A coding for one of the 28 joints (ids of ``ifxdose.domain.scores.JOINTS_28``)."""
    return {"system": JOINTS, "code": joint_id}
