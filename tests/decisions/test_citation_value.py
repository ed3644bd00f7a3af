"""One citation type: ``Citation`` knows its key and evidence study id (no parsing of its text),
and travels as the same string through JSON, the store and the API."""

from __future__ import annotations

import json

from ifxdose.domain.decisions.cite import SOURCES, Citation, cite, split_joined
from ifxdose.domain.evidence import load_studies
from ifxdose.domain.recommend import Recommendation, Target
from recs import make_recommendation


def test_a_seed_study_is_cited_with_its_evidence_id():
    c = cite("S10")
    assert (c.key, c.study_id) == (
        "S10",
        "S10-attract-pk-2002",
    )  # src/ifxdose/domain/evidence/data/S10-attract-pk-2002.toml
    assert c == "St Clair 2002, Arthritis Rheum 46:1451 [S10-attract-pk-2002]"  # still the text, as before


def test_a_source_that_is_not_a_study_has_no_study_id():
    c = cite("label-jp")
    assert (str(c), c.key, c.study_id) == (SOURCES["label-jp"], "label-jp", None)


def test_a_stored_text_comes_back_as_the_same_citation():
    for study in load_studies():
        back = Citation.of(str(cite(study.id)))
        assert back.study_id == study.id
    assert Citation.of("Somebody 2031, a source no key gives").study_id is None


def test_a_recommendation_keeps_its_citations_as_strings_in_json():
    rec = make_recommendation(citations=[cite("S13"), cite("label-jp")])
    data = json.loads(rec.model_dump_json())
    assert data["citations"] == [str(cite("S13")), SOURCES["label-jp"]]
    back = Recommendation.model_validate(data)
    assert back == rec and [c.study_id for c in back.citations] == [cite("S13").study_id, None]


def test_the_page_links_studies_by_their_id_not_by_reading_the_text():
    from ifxdose.adapters.web.views import citation_links

    looks_like_a_study = "Made up 2099 [S99-not-a-study-2099]"
    assert citation_links([cite("S10"), Citation.of(looks_like_a_study)]) == [
        (str(cite("S10")), "S10-attract-pk-2002"),
        (looks_like_a_study, None),
    ]


def test_a_target_cites_its_sources_as_citations():
    """recommend.py: the lower bound 1 mg/L is St Clair 2002 (S10) and RISING (S11); the window
    3-8 mg/L is NOR-DRUM B (S13); a user's target says so."""
    assert Target.lower().source == (cite("S10"), cite("S11"))
    assert [c.study_id for c in Target.lower().source] == ["S10-attract-pk-2002", "S11-rising-2009"]
    assert Target.window().source == (cite("S13"),)
    user = Target.parse("3-8").source
    assert user == ("user-defined",) and (user[0].key, user[0].study_id) == ("", None)
    assert json.loads(Target.lower().model_dump_json())["source"] == [str(cite("S10")), str(cite("S11"))]


def test_an_old_joined_source_splits_on_whole_citations_only():
    """Older versions stored ``Target.source`` as one "; "-joined string. Two citations' own texts
    contain "; " (the JP patient information and the infusion-reaction Q&A): a plain split would
    cut them in pieces."""
    inner = cite("label-jp-infusion")
    assert "; " in inner and "; " in cite("infusion-reaction")
    joined = "; ".join([str(inner), str(cite("S13")), str(cite("infusion-reaction")), "a user's note"])
    back = split_joined(joined)
    assert back == (inner, cite("S13"), cite("infusion-reaction"), "a user's note")
    assert [c.key for c in back] == ["label-jp-infusion", "S13", "infusion-reaction", ""]
    assert split_joined("") == ()
    old = {"kind": "lower", "low_mg_l": 1.0, "high_mg_l": None, "source": f"{cite('S10')}; {cite('S11')}"}
    assert Target.model_validate(old) == Target.lower()
