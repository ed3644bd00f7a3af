"""The record schema of the evidence base: a study, its citation, arms and outcomes.

Every number a study reports is an :class:`Outcome` with its unit, time point and the
seed's own wording (``seed_text``), so that a policy or a report can quote it with its
citation. Ranges are kept as ranges (see :class:`Outcome`); nothing is averaged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ifxdose.domain.dosing.regimen import Regimen, parse_regimen

#: Units an outcome may carry. "mg/L" is the drug-level unit (mg/L = µg/mL).
UNITS = (
    "%",
    "percentage points",
    "count",
    "p-value",
    "OR",
    "HR",
    "ratio",
    "mg/L",
    "µg/L",
    "pg/mL",
    "mg/kg",
    "mg/week",
    "weeks",
    "year",
    "JPY",
    "DAS28",
    "SDAI",
    "Sharp score points",
)
Relation = Literal["=", "<", ">", "<=", ">=", "~"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Citation(_Record):
    """Where a record comes from. ``authors`` as printed ("St Clair EW"), first author first."""

    authors: list[str] = Field(min_length=1)
    et_al: bool = False
    journal: str
    year: int = Field(ge=1900, le=2100)
    volume: str | None = None
    issue: str | None = None
    pages: str | None = Field(default=None, description="first page, or first-last")
    pmid: str | None = Field(default=None, pattern=r"^\d{6,9}$")
    doi: str | None = Field(default=None, pattern=r"^10\.\d{4,9}/\S+$")

    @property
    def first_author_surname(self) -> str:
        """'St Clair EW' -> 'St Clair'; an organisation name is returned whole."""
        words = self.authors[0].split()
        initials = words[-1]
        return " ".join(words[:-1]) if len(words) > 1 and initials.isupper() and len(initials) <= 3 else self.authors[0]

    @property
    def first_page(self) -> str | None:
        return self.pages.split("-")[0] if self.pages else None

    def short(self) -> str:
        """'Maini 1999, Lancet 354:1932' (journal alone when volume or page is unknown)."""
        where = self.journal
        if self.volume and self.first_page:
            where += f" {self.volume}:{self.first_page}"
        return f"{self.first_author_surname} {self.year}, {where}"

    def full(self) -> str:
        """Vancouver-like: authors. Journal year;volume(issue):pages. PMID. doi."""
        names = ", ".join(self.authors) + (", et al" if self.et_al else "")
        text = f"{names}. {self.journal} {self.year}"
        if self.volume:
            text += f";{self.volume}" + (f"({self.issue})" if self.issue else "")
            text += f":{self.pages}" if self.pages else ""
        text += "."
        if self.pmid:
            text += f" PMID {self.pmid}."
        if self.doi:
            text += f" doi:{self.doi}"
        return text


def _checked_regimen(text: str | None) -> str | None:
    if text is not None:
        parse_regimen(text)  # RegimenSyntaxError (a ValueError) becomes a ValidationError
    return text


class RegimenVariant(_Record):
    """One path within an arm whose dosing depends on a condition (TNF level, response)."""

    when: str = Field(description="the condition, e.g. 'baseline TNF-α <0.55 pg/mL'")
    regimen: str = Field(description="regimen language text; must parse")
    n: int | None = Field(default=None, ge=0)

    _regimen_parses = field_validator("regimen")(_checked_regimen)

    def parsed(self) -> Regimen:
        return parse_regimen(self.regimen)


class Arm(_Record):
    """A study arm: a fixed regimen, conditional variants, or (placebo/individual) a note."""

    name: str
    n: int | None = Field(default=None, ge=0)
    regimen: str | None = Field(default=None, description="regimen language text; must parse")
    variants: list[RegimenVariant] = Field(default_factory=list)
    regimen_note: str | None = Field(default=None, description="why there is no fixed regimen, or a detail")
    co_medication: str | None = None

    _regimen_parses = field_validator("regimen")(_checked_regimen)

    @model_validator(mode="after")
    def _has_dosing(self) -> "Arm":
        if self.regimen is None and not self.variants and not self.regimen_note:
            raise ValueError(f"arm {self.name!r} needs a regimen, variants or a regimen_note")
        if self.regimen is not None and self.variants:
            raise ValueError(f"arm {self.name!r}: give a regimen or variants, not both")
        return self

    def parsed(self) -> Regimen | None:
        return parse_regimen(self.regimen) if self.regimen else None

    def regimen_texts(self) -> list[str]:
        """Every regimen text of the arm (its own or its variants')."""
        return [self.regimen] if self.regimen else [v.regimen for v in self.variants]


class Outcome(_Record):
    """One reported number.

    Representation of values (decided once, for every record):
    - a point value: ``value`` (with ``relation`` for "<0.001", ">50", "~two thirds");
    - a confidence interval around a point value: ``ci_low``/``ci_high`` (95 % unless noted);
    - a range reported *instead of* a point value ("22–30 %", "16–20 %"): ``low``/``high``
      with ``value`` left empty — no midpoint is invented;
    - a proportion reported as n/N: ``count``/``total`` (with ``value`` the % or the count);
    - mean ± SD: ``value`` and ``sd``.
    """

    name: str
    arm: str | None = Field(default=None, description="an arm, variant or group name of the study")
    comparator: str | None = Field(default=None, description="the reference arm of a ratio, difference or p-value")
    value: float | None = None
    relation: Relation = "="
    low: float | None = None
    high: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    sd: float | None = Field(default=None, ge=0)
    count: int | None = Field(default=None, ge=0)
    total: int | None = Field(default=None, ge=1)
    unit: str
    time_point: str
    source: Literal["seed", "publication"] = "seed"
    seed_text: str = Field(default="", description="the seed's wording (English); required when source is 'seed'")
    note: str | None = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in UNITS:
            raise ValueError(f"unit {unit!r} is not one of {', '.join(UNITS)}")
        return unit

    @model_validator(mode="after")
    def _consistent(self) -> "Outcome":
        has_range = self.low is not None or self.high is not None
        if has_range and (self.low is None or self.high is None or self.low > self.high):
            raise ValueError(f"{self.name}: a range needs low <= high")
        if self.value is None and not has_range:
            raise ValueError(f"{self.name}: give value, or low and high")
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError(f"{self.name}: give both ci_low and ci_high")
        if self.ci_low is not None and not (
            self.value is not None and self.ci_high is not None and self.ci_low <= self.value <= self.ci_high
        ):
            raise ValueError(f"{self.name}: a CI needs a value inside it")
        if self.count is not None and self.total is not None and self.count > self.total:
            raise ValueError(f"{self.name}: count > total")
        if self.unit == "%" and self.count is not None and self.total is not None and self.value is not None:
            if abs(100 * self.count / self.total - self.value) > 0.6:
                raise ValueError(f"{self.name}: {self.count}/{self.total} is not {self.value} %")
        if self.source == "seed" and not self.seed_text:
            raise ValueError(f"{self.name}: a seed outcome needs seed_text")
        if self.source == "publication" and not self.note:
            raise ValueError(f"{self.name}: a publication outcome needs a note naming where it was read")
        return self

    def value_text(self) -> str:
        """Human form: '53', '22–30', '2.1 (1.5–2.9)', '<0.001', '23.5 (40/170)', '15.1 ± 8.0'."""
        if self.value is None:
            text = f"{_g(self.low)}–{_g(self.high)}"
        else:
            text = ("" if self.relation == "=" else self.relation) + _g(self.value)
        if self.sd is not None:
            text += f" ± {_g(self.sd)}"
        if self.ci_low is not None:
            text += f" ({_g(self.ci_low)} to {_g(self.ci_high)})"
        if self.total is not None:
            text += (
                f" ({self.count}/{self.total})"
                if self.count is not None and self.unit != "count"
                else f" of {self.total}"
            )
        return text


def _g(x: float | None) -> str:
    return f"{x:g}"


class Population(_Record):
    n: int | None = Field(default=None, ge=1, description="patients as the seed counts them")
    description: str
    country: str | None = None
    mtx_status: str | None = Field(default=None, description="e.g. MTX-IR, MTX-naive, MTX required")
    n_note: str | None = Field(default=None, description="why arm n's do not sum to n, where they do not")


class Study(_Record):
    """One seed item (S0–S15) as structured data; ``kind`` is 'label' for S0."""

    id: str = Field(pattern=r"^S\d{1,2}-[a-z0-9-]+$")
    seed_tag: str = Field(pattern=r"^S\d{1,2}$")
    key: str = Field(pattern=r"^[a-z0-9-]+$")
    kind: Literal["study", "label"] = "study"
    title: str
    #: The seed's own Japanese wording (the seed is Japanese): a title and a short summary
    #: for the Japanese evidence pages.
    title_ja: str = Field(min_length=1)
    summary_ja: list[str] = Field(min_length=1)
    citation: Citation
    design: str
    population: Population
    arms: list[Arm] = Field(min_length=1)
    groups: dict[str, str] = Field(default_factory=dict, description="pooled or subgroup names outcomes may refer to")
    outcomes: list[Outcome] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    verification: str

    @model_validator(mode="after")
    def _references(self) -> "Study":
        if not self.id.startswith(self.seed_tag + "-"):
            raise ValueError(f"id {self.id!r} must start with {self.seed_tag}-")
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.id}: arm names repeat")
        known = self.group_names()
        for o in self.outcomes:
            for ref in (o.arm, o.comparator):
                if ref is not None and ref not in known:
                    raise ValueError(f"{self.id}: outcome {o.name!r} refers to {ref!r}; known: {sorted(known)}")
        return self

    def group_names(self) -> set[str]:
        """Names an outcome may refer to: arms, their variants, and declared groups."""
        return {a.name for a in self.arms} | {v.when for a in self.arms for v in a.variants} | set(self.groups)

    def short_citation(self) -> str:
        return self.citation.short()

    def arms_n_total(self) -> int | None:
        """Sum of arm sizes when every arm has one, else None."""
        sizes = [a.n for a in self.arms if a.n is not None]
        return sum(sizes) if len(sizes) == len(self.arms) else None

    def find_outcomes(self, name: str | None = None, arm: str | None = None) -> list[Outcome]:
        """Outcomes whose name contains ``name`` (case-insensitive) and whose arm is ``arm``."""
        return [
            o
            for o in self.outcomes
            if (name is None or name.lower() in o.name.lower()) and (arm is None or o.arm == arm)
        ]
