"""Regimens in words: a small language a clinician can type and ifxdose prints back.

Grammar (clauses separated by ``;``)::

    clause   := AMOUNT ("mg/kg" | "mg") ["iv" | "sc"] schedule ["over" NUMBER ("h" | "min")]
    schedule := "at" UNIT LIST ["then" "every" NUMBER UNIT ["until" UNIT NUMBER]]
              | "every" NUMBER UNIT ["from" UNIT NUMBER] ["until" UNIT NUMBER]
    UNIT     := "day" | "days" | "week" | "weeks"
    LIST     := NUMBER ("," NUMBER)*

Examples (every regimen in the seed): ``3 mg/kg at weeks 0,2,6 then every 8 weeks until
week 54`` (label, S0), ``10 mg/kg at days 0,14`` (Elliott 1993, S1), ``5 mg/kg at days
0,4,8,12`` (S1), ``3 mg/kg at weeks 0,2,6,14; 4.5 mg/kg at week 22`` (START escalation,
S5), ``300 mg at weeks 0,2,6 then every 6 weeks``, ``120 mg sc every 2 weeks`` (CT-P13 SC).

Semantics (documented assumptions):
- ``until`` is inclusive: the last dose is at or before it.
- A repeat after ``at`` continues from the last listed time.
- IV infusions last 2 h unless ``over`` says otherwise (label: "over not less than 2 hours");
  SC doses are injections into the depot (duration 0).
- An open-ended ``every`` needs a horizon when the doses are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ifxdose.core.errors import InputError

DAYS_PER = {"days": 1.0, "weeks": 7.0}
DEFAULT_IV_INFUSION_MIN = 120.0  # Remicade label: infuse over not less than 2 hours


class RegimenSyntaxError(InputError):
    """A regimen text that does not parse; names the offending word and what was expected."""

    def __init__(self, text: str, word: str, column: int, expected: str) -> None:
        self.column = column
        shown = f"{word!r} at column {column}" if word else f"end of text (column {column})"
        super().__init__("regimen", text, f"{shown}: expected {expected}")
        self.args = (f"regimen: {shown} in {text!r}: expected {expected}",)

    def __str__(self) -> str:
        return str(self.args[0])


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _unit(unit: str, n: int) -> str:
    return unit if n != 1 else unit[:-1]


class DoseClause(BaseModel):
    """One line of a regimen: an amount given at listed times and/or repeatedly."""

    model_config = ConfigDict(extra="forbid")

    dose: float = Field(gt=0, le=5000, description="amount per dose, in dose_unit")
    dose_unit: Literal["mg/kg", "mg"]
    route: Literal["iv", "sc"] = "iv"
    at: list[float] = Field(default_factory=list, description="listed dose times, in at_unit")
    at_unit: Literal["days", "weeks"] = "weeks"
    every: float | None = Field(default=None, gt=0, description="repeat interval, in every_unit")
    every_unit: Literal["days", "weeks"] = "weeks"
    start: float | None = Field(default=None, ge=0, description="first repeat time ('from'), in start_unit")
    start_unit: Literal["days", "weeks"] = "weeks"
    until: float | None = Field(default=None, ge=0, description="last allowed dose time (inclusive), in until_unit")
    until_unit: Literal["days", "weeks"] = "weeks"
    infusion_min: float | None = Field(default=None, gt=0, le=1440, description="IV infusion duration; default 120 min")

    @model_validator(mode="after")
    def _consistent(self) -> "DoseClause":
        if not self.at and self.every is None:
            raise ValueError("a clause needs 'at' times or 'every'")
        if any(t < 0 for t in self.at):
            raise ValueError("'at' times must be >= 0")
        if self.at and sorted(self.at) != self.at or len(set(self.at)) != len(self.at):
            raise ValueError("'at' times must be strictly ascending")
        if self.start is not None and (self.at or self.every is None):
            raise ValueError("'from' goes with 'every' and without 'at'")
        if self.until is not None and self.every is None:
            raise ValueError("'until' goes with 'every'")
        if self.route == "sc" and self.infusion_min is not None:
            raise ValueError("'over' applies to IV infusions only")
        return self

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        words = [_num(self.dose), self.dose_unit]
        if self.route == "sc":
            words.append("sc")
        if self.at:
            words += ["at", _unit(self.at_unit, len(self.at)), ",".join(_num(t) for t in self.at)]
            if self.every is not None:
                words.append("then")
        if self.every is not None:
            words += ["every", _num(self.every), _unit(self.every_unit, int(self.every == 1) or 2)]
            if self.start is not None:
                words += ["from", _unit(self.start_unit, 1), _num(self.start)]
            if self.until is not None:
                words += ["until", _unit(self.until_unit, 1), _num(self.until)]
        if self.infusion_min is not None:
            words += (
                ["over", _num(self.infusion_min / 60), "h"]
                if self.infusion_min % 60 == 0
                else ["over", _num(self.infusion_min), "min"]
            )
        return " ".join(words)

    # ----------------------------------------------------------------- times
    def times_days(self, horizon_days: float | None = None) -> list[float]:
        """Dose times in days; an open-ended repeat stops at ``horizon_days`` (inclusive)."""
        times = [t * DAYS_PER[self.at_unit] for t in self.at]
        if self.every is None:
            return times
        step = self.every * DAYS_PER[self.every_unit]
        end = self.until * DAYS_PER[self.until_unit] if self.until is not None else horizon_days
        if end is None:
            raise InputError("horizon_days", None, "an open-ended 'every' needs a horizon (or write 'until')")
        if horizon_days is not None:
            end = min(end, horizon_days)
        t = times[-1] + step if times else (self.start or 0.0) * DAYS_PER[self.start_unit]
        k = 0
        first = t
        while first + k * step <= end + 1e-9:
            times.append(first + k * step)
            k += 1
        return times

    @property
    def duration_days(self) -> float:
        if self.route == "sc":
            return 0.0
        return (self.infusion_min or DEFAULT_IV_INFUSION_MIN) / 1440.0


@dataclass(frozen=True)
class PlannedDose:
    time_days: float
    dose: float
    dose_unit: str
    route: Literal["iv", "sc"]
    duration_days: float

    def amount_mg(self, weight_kg: float) -> float:
        return self.dose * weight_kg if self.dose_unit == "mg/kg" else self.dose


class Regimen(BaseModel):
    """A regimen: one or more dose clauses (JSON form); ``str(regimen)`` is the text form."""

    model_config = ConfigDict(extra="forbid")
    clauses: list[DoseClause] = Field(min_length=1)

    def to_text(self) -> str:
        return "; ".join(c.to_text() for c in self.clauses)

    def __str__(self) -> str:
        return self.to_text()

    @property
    def open_ended(self) -> bool:
        return any(c.every is not None and c.until is None for c in self.clauses)

    def last_time_days(self) -> float | None:
        """Time of the last dose of a bounded regimen (None if open-ended)."""
        if self.open_ended:
            return None
        return max(t for c in self.clauses for t in c.times_days())

    def doses(self, horizon_days: float | None = None) -> list[PlannedDose]:
        """All doses up to the horizon, in time order."""
        out = [
            PlannedDose(t, c.dose, c.dose_unit, c.route, c.duration_days)
            for c in self.clauses
            for t in c.times_days(horizon_days)
        ]
        return sorted(out, key=lambda d: d.time_days)


# --------------------------------------------------------------------- parser
_TOKEN = re.compile(r"[;,]|[^\s;,]+")
_UNITS = {"day": "days", "days": "days", "week": "weeks", "weeks": "weeks"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [(m.group().lower(), m.start() + 1) for m in _TOKEN.finditer(text)]
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else ""

    def fail(self, expected: str) -> NoReturn:
        word, col = self.tokens[self.i] if self.i < len(self.tokens) else ("", len(self.text) + 1)
        raise RegimenSyntaxError(self.text, word, col, expected)

    def take(self, *allowed: str) -> str:
        word = self.peek()
        if word not in allowed:
            self.fail(" or ".join(repr(a) for a in allowed))
        self.i += 1
        return word

    def number(self, what: str) -> float:
        word = self.peek()
        try:
            value = float(word)
        except ValueError:
            self.fail(f"a number ({what})")
        if not (value >= 0 and value < 1e6):
            self.fail(f"a number >= 0 ({what})")
        self.i += 1
        return value

    def unit(self) -> str:
        return _UNITS[self.take(*_UNITS)]

    def clause(self) -> dict[str, Any]:
        c: dict[str, Any] = {"dose": self.number("the dose")}
        if c["dose"] == 0:
            self.i -= 1
            self.fail("a dose > 0")
        c["dose_unit"] = self.take("mg/kg", "mg")
        if self.peek() in ("iv", "sc"):
            c["route"] = self.take("iv", "sc")
        kw = self.take("at", "every")
        if kw == "at":
            c["at_unit"] = self.unit()
            c["at"] = [self.number("a dose time")]
            while self.peek() == ",":
                self.i += 1
                c["at"].append(self.number("a dose time"))
            if any(b <= a for a, b in zip(c["at"], c["at"][1:])):
                self.i -= 1
                self.fail("times in ascending order")
            if self.peek() == "then":
                self.i += 1
                self.take("every")
                kw = "every"
        if kw == "every":
            c["every"] = self.number("the interval")
            if c["every"] == 0:
                self.i -= 1
                self.fail("an interval > 0")
            c["every_unit"] = self.unit()
            if self.peek() == "from" and "at" not in c:
                self.i += 1
                c["start_unit"] = self.unit()
                c["start"] = self.number("the first time")
            if self.peek() == "until":
                self.i += 1
                c["until_unit"] = self.unit()
                c["until"] = self.number("the last time")
        if self.peek() == "over":
            self.i += 1
            if c.get("route") == "sc":
                self.i -= 1
                self.fail("';' or end (SC doses have no infusion time)")
            value = self.number("the infusion duration")
            c["infusion_min"] = value * 60 if self.take("h", "min") == "h" else value
        return c

    def parse(self) -> Regimen:
        if not self.tokens:
            self.fail("a regimen such as '3 mg/kg at weeks 0,2,6 then every 8 weeks'")
        clauses = [self.clause()]
        while self.peek() == ";":
            self.i += 1
            clauses.append(self.clause())
        if self.i < len(self.tokens):
            self.fail("';' or end of regimen")
        try:
            return Regimen(clauses=[DoseClause(**c) for c in clauses])
        except ValidationError as exc:  # pydantic range checks (e.g. dose > 5000)
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "clause"
            raise InputError("regimen", self.text, f"{where}: {err['msg']}") from None


def parse_regimen(text: str) -> Regimen:
    """Parse the regimen language; RegimenSyntaxError points at the offending word."""
    return _Parser(text).parse()
