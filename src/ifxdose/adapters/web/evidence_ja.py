"""Japanese for the evidence pages (issue 13): outcome and arm names, regimen notes, each
study's design and population from ``i18n/evidence_ja.json`` (worded after the seed's own
Japanese: PBO, IFX, 群, 週毎, 漸増, 効果不十分, 休薬), and the structured regimens
("3 mg/kg at weeks 0,2,6 then every 8 weeks until week 46", the grammar
``ifxdose.domain.evidence.models`` checks) written as 「3 mg/kg：0，2，6週，以降8週毎（46週まで）」.
Each study's premises, notes and verification record come from ``i18n/evidence_notes_ja.json``
(keyed by the English text: a changed English text has no Japanese until translated), with
citations and proper names copied verbatim between ⟦ and ⟧ (:func:`note_ja` marks them
``lang="en"``). A text with no Japanese gives ``None``: the page then shows the English, marked
``lang="en"``."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape


@cache
def _dictionary() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (resources.files("ifxdose.adapters.web.i18n") / "evidence_ja.json").read_text(encoding="utf-8")
    )
    return data


@cache
def _notes() -> dict[str, str]:
    data: dict[str, str] = json.loads(
        (resources.files("ifxdose.adapters.web.i18n") / "evidence_notes_ja.json").read_text(encoding="utf-8")
    )["texts"]
    return data


_VERBATIM = re.compile(r"⟦(.*?)⟧")


def note_text_ja(text: str | None) -> str | None:
    """A study's premise, note or verification record in Japanese, as stored (with ⟦…⟧)."""
    return _notes().get(text) if text else None


def note_ja(text: str | None) -> Markup | None:
    """:func:`note_text_ja` as HTML: each verbatim citation or proper name marked ``lang="en"``."""
    japanese = note_text_ja(text)
    if japanese is None:
        return None
    parts, last = [], 0
    for match in _VERBATIM.finditer(japanese):
        parts.append(escape(japanese[last : match.start()]))
        parts.append(Markup('<span class="cite" lang="en">{}</span>').format(match.group(1)))
        last = match.end()
    parts.append(escape(japanese[last:]))
    return Markup("").join(parts)


def term_ja(text: str | None) -> str | None:
    """An outcome name, arm name, variant or regimen note in Japanese (None if not listed)."""
    return _dictionary()["terms"].get(text) if text else None


def design_ja(study_id: str) -> str | None:
    return _dictionary()["design"].get(study_id)


def population_ja(study_id: str) -> str | None:
    return _dictionary()["population"].get(study_id)


def _numbers(text: str) -> str:
    return "，".join(part.strip() for part in text.split(","))


_STEPS = (
    (re.compile(r" at weeks? ([\d, ]+?)(?= then|;|$| until)"), lambda m: f"：{_numbers(m.group(1))}週"),
    (re.compile(r" at days? ([\d, ]+?)(?= then|;|$)"), lambda m: f"：{_numbers(m.group(1))}日目"),
    (re.compile(r" then every (\d+) weeks"), lambda m: f"，以降{m.group(1)}週毎"),
    (re.compile(r" every (\d+) weeks from week (\d+)"), lambda m: f"：{m.group(2)}週から{m.group(1)}週毎"),
    (re.compile(r" until week (\d+)"), lambda m: f"（{m.group(1)}週まで）"),
)
_LEFT_OVER = re.compile(r"[A-Za-z]+")


def regimen_ja(text: str | None) -> str | None:
    """A structured regimen in Japanese; None when a part does not follow the grammar."""
    if not text:
        return None
    parts = []
    for part in text.split(";"):
        out = part.strip()
        for pattern, replace in _STEPS:
            out = pattern.sub(replace, out)
        if set(_LEFT_OVER.findall(out)) - {"mg", "kg"}:
            return None
        parts.append(out)
    return "；".join(parts)


_OF_TOTAL = re.compile(r"^(.*) of (\d+)$")


def value_ja(value_text: str, unit_label: str) -> str:
    """An outcome's value in Japanese: ranges with 〜, "17 of 19" as 「19例中17」 (the seed's
    「19例中18例」 form), followed by the unit's Japanese label."""
    text = value_text.replace(" to ", "〜")
    match = _OF_TOTAL.match(text)
    if match:
        return f"{match.group(2)}例中{match.group(1)} {unit_label}".rstrip()
    return f"{text} {unit_label}".rstrip()
