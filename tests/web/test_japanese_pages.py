"""Japanese pages show Japanese (issue 13): the visible text of every page a clinician uses,
in Japanese, holds no English word outside an allow-list (drug and product names, units,
score and study abbreviations, Latin terms). Text the page marks as English on purpose
(``lang="en"``: a source's own wording) and collapsed ``<details>`` bodies are not visible
prose and are left out."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ifxdose.adapters import store as st
from ifxdose.domain.patient import Infusion

#: Words allowed on Japanese pages: abbreviations, units, names (case-sensitive).
ALLOWED = set(
    """
    IFX MTX ADA ACR ACR20 ACR50 ACR70 ACR-N DAS28 DAS28-CRP DAS28-ESR SDAI CDAI HAQ HAQ-DI EULAR CRP ESR TNF TNF-α
    PK TDM MAP LLOQ BLQ PTA RA RCT PBO IR MTX-IR OR HR CI SD PDF JSON FHIR API CSV ID mg kg mL mg/L mg/kg mg/dL g/dL
    mm mm/h L dL μg µg pg pg/mL pg/ml µg/ml μg/ml mg/week IV SC q4w q8w q6w cA2 ifxdose Remicade ELISA NSAIDs GCs DMARDs
    csDMARDs Bio ETN UTI TJC SJC TJC28 SJC28 PtGA PhGA PGA VAS PsA SpA UC CD Paulus Sharp mTSS TSS Induction Outcome
    Primary Secondary Early Infusion reaction infusion open label uncontrolled seropositive naïve non responder
    responder Pt PhGA in vitro Standard Programmed Overall TDM P Hazard ratio adjusted difference Inductionは
    ATTRACT ASPIRE RISING NOR-DRUM RRRR Elliott Maini Lipsky St Clair Rahman Bendtzen Takeuchi Tanaka Syversen
    Lancet JAMA Ann Rheum Dis Arthritis Mod Rheumatol Engl Med New J et al ja en RA-0001
    g/mL g/L AU/mL ug/L min MCP PIP X III B N TNFα vs p n w
    PMID DOI ACR50/70 ACR20/50/70 CRP/ESR TJC/SJC
    """.split()
)
#: Seed tags (S0-S15), joint names (MCP1-5, PIP1-5), model identifiers (ifxdose_ra_mbma) and
#: versions (v1) are codes, not words.
CODES = re.compile(r"^(S\d{1,2}|MCP\d|PIP\d|[a-z0-9]+(?:_[a-z0-9]+)+|v\d+)$")
#: What a user typed (the signed-in user's name; the example's lot number and reaction text):
#: data, not the app's words.
USER_DATA = {"doc", "EX-LOT-01", "mild", "flushing", "rate", "slowed", "example"}


class _Visible(HTMLParser):
    """Visible text: not script/style, not ``lang="en"`` elements, not collapsed details bodies."""

    SKIP = {"script", "style", "template"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "col", "area", "base", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        hidden = tag in self.SKIP or attrs.get("lang") == "en" or (tag == "details" and "open" not in attrs)
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        tags = [t for t, _ in self.stack]
        inside_summary = "summary" in tags[tags.index("details") :] if "details" in tags else False
        hidden = [h for t, h in self.stack if not (t == "details" and inside_summary)]
        if not any(hidden):
            self.text.append(data)


def english_words(html: str) -> set[str]:
    parser = _Visible()
    parser.feed(html)
    return english_in_text(" ".join(parser.text))


def english_in_text(text: str) -> set[str]:
    """The words in Latin script of visible text that the allow-list does not name (also used
    on the text a real browser renders: tests/web/test_browser.py)."""
    words = re.findall(r"[A-Za-z][A-Za-z0-9_'\-/.αµμ]*", text)
    words = {w.strip(".-/'") for w in words} - ALLOWED - USER_DATA - {""}
    return {w for w in words if not CODES.match(w)}


def ja_pages(code: str, infusion_id: int) -> dict[str, str]:
    """The 15 pages a clinician uses, by name: path."""
    return {
        "patients": "/patients",
        "patient": f"/patients/{code}",
        "new patient": "/patients/new",
        "evidence": "/evidence",
        **{
            f"evidence {s}": f"/evidence/{s}"
            for s in ("S0-remicade-label-jp", "S4-attract-1999", "S13-nor-drum-b-2021")
        },
        **{f"form {f}": f"/patients/{code}/record/{f}" for f in ("infusion", "labs", "assessment", "weight")},
        **{f"entries {k}": f"/patients/{code}/entries/{k}" for k in ("infusions", "labs", "assessments")},
        "amend infusion": f"/patients/{code}/entries/infusions/{infusion_id}",
    }


def _pages(client, code: str) -> dict[str, str]:
    pages = ja_pages(code, st.entry_rows(client.app.state.store, code, "infusions")[0].id)
    out = {}
    for name, path in pages.items():
        r = client.get(path)
        assert r.status_code == 200, (name, r.status_code)
        out[name] = r.text
    return out


def test_japanese_pages_have_no_stray_english_words(client, with_example):
    assert client.put("/api/v1/session/locale", json={"locale": "ja"}).status_code == 200
    store = client.app.state.store
    st.add_entry(store, with_example, "infusions", Infusion(date="2024-08-26", dose_mg=165), user="t")
    found = {name: sorted(english_words(html)) for name, html in _pages(client, with_example).items()}
    stray = {name: words for name, words in found.items() if words}
    assert stray == {}, "\n".join(f"{n}: {w}" for n, w in stray.items())


def test_the_check_finds_english_and_ignores_marked_text():
    assert english_words("<p>投与 <b>due</b> Save</p>") == {"due", "Save"}
    assert english_words('<p lang="en">placebo arm</p><details><summary>詳細</summary>notes here</details>') == set()
    assert english_words("<script>var x = 1</script><p>3 mg/kg q8w、ACR20</p>") == set()
