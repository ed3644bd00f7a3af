"""Issue 13: the Japanese evidence pages name outcomes, arms, regimens, designs and
populations in Japanese; only proper names, study acronyms, registry ids and units stay in
Latin script (the seed's own summary, mixed-language as the seed writes it, and the English
record under the collapsed details are left out of the check)."""

from __future__ import annotations

import re

import pytest

from ifxdose.adapters.web.evidence_ja import design_ja, population_ja, regimen_ja, term_ja, value_ja
from ifxdose.domain.evidence import load_studies
from web.test_japanese_pages import ALLOWED, CODES, USER_DATA, _Visible

#: Proper names and ids that stay in Latin script on the translated parts.
NAMES = USER_DATA | {"START", "modified", "van", "der", "Heijde", "I", "II"}
REGISTRY = re.compile(r"^NCT\d{8}$")


class _Translated(_Visible):
    """Visible text without the seed's own summary (``data-seed-wording``)."""

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        hidden = tag in self.SKIP or a.get("lang") == "en" or "data-seed-wording" in a
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
