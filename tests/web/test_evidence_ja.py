"""Issue 13: the Japanese evidence pages name outcomes, arms, regimens, designs and
populations in Japanese, and show each study's assumptions, notes and verification record in
Japanese; only proper names, study acronyms, registry ids, units and citations stay in Latin
script (the seed's own summary, mixed-language as the seed writes it, is left out of the
check). The numbers of every translated note equal the English source's."""

from __future__ import annotations

import re

import pytest

from ifxdose.adapters.web import evidence_ja
from ifxdose.adapters.web.evidence_ja import design_ja, note_text_ja, population_ja, regimen_ja, term_ja, value_ja
from ifxdose.domain.evidence import load_studies
from web.test_japanese_pages import ALLOWED, CODES, USER_DATA, _Visible

#: Proper names and ids that stay in Latin script on the translated parts (and the language
#: switch's "English").
NAMES = USER_DATA | {"START", "modified", "van", "der", "Heijde", "I", "II", "English"}
REGISTRY = re.compile(r"^NCT\d{8}$")


class _Translated(_Visible):
    """Visible text without the seed's own summary (``data-seed-wording``), the citation line
    and the citations and proper names a translation copies verbatim (``class="cite"``).
    Text marked ``lang="en"`` otherwise counts: an untranslated term, note, assumption or
    verification record falls back to English marked so, and this check finds it."""

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        hidden = tag in self.SKIP or "data-seed-wording" in a or "cite" in classes or "citation" in classes
        self.stack.append((tag, hidden or (tag == "details" and "open" not in a)))


def latin_words(html: str) -> set[str]:
    parser = _Translated()
    parser.feed(html)
    words = set()
    for token in re.findall(r"[A-Za-z][A-Za-z0-9'\-/.αµμ]*", " ".join(parser.text)):
        token = token.strip(".-/'")
        if token in ALLOWED or token in NAMES:
            continue
        words |= {w for w in token.split("/") if w and w not in ALLOWED | NAMES and not CODES.match(w)}
    return {w for w in words if not CODES.match(w) and not REGISTRY.match(w) and not w.isdigit()}


def test_every_study_term_has_japanese():
    missing = set()
    for study in load_studies():
        names = [o.name for o in study.outcomes] + [o.arm for o in study.outcomes if o.arm]
        names += [a.name for a in study.arms] + [a.regimen_note for a in study.arms if a.regimen_note]
        names += [v.when for a in study.arms for v in a.variants]
        missing |= {n for n in names if term_ja(n) is None}
        missing |= {study.id for f in (design_ja, population_ja) if f(study.id) is None}
        regimens = [a.regimen for a in study.arms if a.regimen] + [v.regimen for a in study.arms for v in a.variants]
        missing |= {r for r in regimens if regimen_ja(r) is None}
    assert missing == set()


def test_regimens_and_values_by_hand():
    assert (
        regimen_ja("3 mg/kg at weeks 0,2,6 then every 8 weeks until week 46")
        == "3 mg/kg：0，2，6週，以降8週毎（46週まで）"
    )
    assert (
        regimen_ja("3 mg/kg at weeks 0,2,6; 10 mg/kg every 8 weeks from week 14")
        == "3 mg/kg：0，2，6週；10 mg/kg：14週から8週毎"
    )
    assert regimen_ja("5 mg/kg at days 0,4,8,12") == "5 mg/kg：0，4，8，12日目"
    assert regimen_ja("3 mg/kg as needed") is None  # outside the grammar: shown in English
    assert value_ja("18 of 19", "件") == "19例中18 件"  # the seed: 「19例中18例」
    assert value_ja("2.1 (1.5 to 2.9)", "") == "2.1 (1.5〜2.9)"


@pytest.fixture
def ja_client(client):
    assert client.put("/api/v1/session/locale", json={"locale": "ja"}).status_code == 200
    return client


def test_japanese_evidence_pages_leave_only_names_in_latin_script(ja_client):
    found = {}
    for study in load_studies():
        r = ja_client.get(f"/evidence/{study.id}")
        assert r.status_code == 200
        found[study.id] = sorted(latin_words(r.text))
    assert {k: v for k, v in found.items() if v} == {}


def test_japanese_outcome_names_are_shown_not_marked_english(ja_client):
    html = ja_client.get("/evidence/S0-remicade-label-jp").text
    assert "薬価（100 mg/瓶）" in html and "75,009円" in html  # the seed: 「100mg/瓶 75,009円」
    assert '<span lang="en">NHI price per 100 mg vial</span>' not in html
    html = ja_client.get("/evidence/S1-elliott-1993").text
    assert "19例中17" in html  # CRP normalised in 17 of 19 (Elliott 1993)
    en = ja_client.put("/api/v1/session/locale", json={"locale": "en"})
    assert en.status_code == 200
    html = ja_client.get("/evidence/S0-remicade-label-jp").text
    assert "NHI price per 100 mg vial" in html and "薬価（100 mg/瓶）" not in html
    assert "75,009 JPY" in html


# ------------------------------------------------ assumptions, notes and verification records
def _study_texts(study) -> list[str]:
    return list(study.assumptions) + list(study.notes) + ([study.verification] if study.verification else [])


MONTHS = {
    m: str(i)
    for i, m in enumerate(
        "January February March April May June July August September October November December".split(), start=1
    )
}
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> list[str]:
    """The numbers of a text, sorted (thousands commas dropped; an English month name counts as
    its number, as 2021年11月9日 writes 9 November 2021)."""
    for name, number in MONTHS.items():
        text = re.sub(rf"\b{name}\b", f" {number} ", text)
    return sorted(n.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", n) else n for n in NUMBER.findall(text))


def test_every_note_assumption_and_verification_record_has_japanese():
    missing = [text[:60] for study in load_studies() for text in _study_texts(study) if note_text_ja(text) is None]
    assert missing == []


def test_translated_notes_keep_every_number_of_the_english():
    """The English source (domain/evidence/data/*.toml) is the reference: the same numbers,
    as many times, in each Japanese text (doses, weeks, p-values, n, citations' volumes and pages)."""
    differ = {}
    for study in load_studies():
        for text in _study_texts(study):
            japanese = note_text_ja(text) or ""
            if numbers(text) != numbers(japanese.replace("⟦", " ").replace("⟧", " ")):
                differ[text[:50]] = (numbers(text), numbers(japanese))
    assert differ == {}


def test_numbers_by_hand():
    assert numbers("acceptance 9 November 2021, 458 randomised") == ["11", "2021", "458", "9"]
    assert numbers("2021年11月9日の受理，成人458名") == ["11", "2021", "458", "9"]
    assert numbers("75,009 JPY; 10.1002/art.10302; 3–8 mg/L") == ["10.1002", "10302", "3", "75009", "8"]


def test_verbatim_parts_are_copied_from_the_english():
    """What a translation marks as a citation or proper name (shown in Latin script, not checked
    for English words) must appear word for word in the English text: no prose hides there."""
    copied_wrongly = {}
    for study in load_studies():
        for text in _study_texts(study):
            parts = re.findall(r"⟦(.*?)⟧", note_text_ja(text) or "")
            wrong = [p for p in parts if p not in text]
            if wrong:
                copied_wrongly[text[:50]] = wrong
    assert copied_wrongly == {}


def test_an_untranslated_note_fails_the_english_words_check(ja_client, monkeypatch):
    """The check above would catch a note without Japanese (it falls back to English)."""
    study = next(s for s in load_studies() if s.id == "S4-attract-1999")
    html = ja_client.get(f"/evidence/{study.id}").text
    assert latin_words(html) == set()
    assert "盲検維持のため" in html and study.notes[0] not in html  # the Japanese, not the English
    assert "英語の原記録" not in html
    notes = {k: v for k, v in evidence_ja._notes().items() if k != study.notes[0]}
    monkeypatch.setattr(evidence_ja, "_notes", lambda: notes)
    html = ja_client.get(f"/evidence/{study.id}").text
    assert {"placebo", "infusions", "blind"} <= latin_words(html)


def test_english_pages_show_the_english_notes(client):
    html = client.get("/evidence/S4-attract-1999").text
    study = next(s for s in load_studies() if s.id == "S4-attract-1999")
    assert "Background MTX: median 15 mg/week (range 10–35) per the abstract." in html
    assert "盲検維持" not in html and study.verification.split(";")[0].split(",")[0] in html
