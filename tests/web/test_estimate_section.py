"""The patient page shows the estimate behind the latest recommendation (issue 14): model, method
(with the SIR effective sample size), each individual parameter with its unit and 80% interval,
the fit per level (observed vs predicted, below-LLOQ marked) and the estimate's warnings, in
English and Japanese.

The expected values are read from the stored, typed Recommendation (``app.clinic``), never from
the HTML; each parameter interval is recomputed here from the eta posterior SD with scipy's normal
quantile (the page's numbers have 3 significant digits: compared within 0.5%)."""

from __future__ import annotations

import json
import math
import re

import lxml.html
import pytest
from fastapi.testclient import TestClient
from scipy.stats import norm

from ifxdose.adapters import store as st
from ifxdose.adapters.web.i18n import catalog
from ifxdose.app import clinic
from ifxdose.app.engine import Recommender
from ifxdose.domain.estimation import EstimateSummary
from ifxdose.domain.patient import PatientHistory
from recs import make_estimate, make_recommendation
from web.conftest import EXAMPLE, make_app, sign_in
from web.test_japanese_pages import english_words

SLOW_SIR = "the posterior sample needed 20 proposals per draw (importance weights were degenerate with 5)"
SLOW_SIR_JA = "事後サンプルの抽出に1件あたり20の提案が必要でした。"  # written here: the stand-in's own translation
FAKE = make_recommendation(
    estimation=make_estimate(
        individual_parameters={
            "CL": {"value": 0.37, "unit": "L/day"},
            "V1": {"value": 3.1, "unit": "L"},
            "Q": {"value": 1.8, "unit": "L/day"},  # no eta: no interval
        },
        samples=[
            {"day": 42.0, "observed_mg_l": None, "below_lloq": True, "lloq_mg_l": 0.3, "ipred_mg_l": 0.41},
            {"day": 98.0, "observed_mg_l": 0.8, "below_lloq": False, "lloq_mg_l": 0.1, "ipred_mg_l": 0.9},
        ],
        warnings=[SLOW_SIR],
    ),
    warnings=["stand-in engine", SLOW_SIR],
    warnings_ja=["代替エンジン", SLOW_SIR_JA],
)


def _numbers(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)]


def _close(shown: float, value: float) -> bool:
    """``shown`` is ``value`` to 3 significant digits (half a unit of the third digit, at most 0.5%)."""
    return math.isclose(shown, value, rel_tol=5e-3, abs_tol=1e-12)


def _section(html: str):
    found = lxml.html.fromstring(html).xpath('//section[@data-testid="estimate"]')
    assert len(found) == 1, "the patient page has one estimate section"
    return found[0]


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _check_section(html: str, summary: EstimateSummary, warnings_shown: list[str], lang: str) -> None:
    words = catalog(lang)
    section = _section(html)
    assert _text(section.xpath(".//h2")[0]) == words["est.title"]
    model = _text(section.xpath('.//*[@data-testid="est-model"]')[0])
    assert summary.model in model and f"v{summary.model_version}" in model
    method = _text(section.xpath('.//*[@data-testid="est-method"]')[0])
    assert words[f"est.method.{summary.posterior.kind}"] in method
    if summary.ess is not None:
        ess, proposals = _numbers(_text(section.xpath('.//*[@data-testid="est-ess"]')[0]))
        assert ess == round(summary.ess) and proposals == summary.posterior.proposals
    ofv = _numbers(_text(section.xpath('.//*[@data-testid="est-ofv"]')[0]))
    assert ofv == [round(summary.objective.ofv, 2), round(summary.objective.ofv_prior_mode, 2)]

    rows = section.xpath('.//table[@data-testid="est-parameters"]/tbody/tr')
    assert [r.get("data-parameter") for r in rows] == list(summary.individual_parameters)
    z = norm.ppf(0.9)  # the 80% interval: 10th to 90th percentile
    for row in rows:
        name = row.get("data-parameter")
        value = summary.individual_parameters[name]
        cells = row.xpath("./td")
        assert _close(_numbers(_text(cells[1]))[0], value.value)
        unit_shown = words.get(f"est.unit.{value.unit}", value.unit)
        assert _text(cells[1]).endswith(unit_shown)
        if name in summary.eta_parameters:
            sd = summary.eta_sd_posterior[summary.eta_parameters.index(name)]
            low, high = _numbers(_text(cells[2]))[:2]
            assert _close(low, value.value * math.exp(-z * sd)) and _close(high, value.value * math.exp(z * sd))
        else:
            assert _text(cells[2]) == words["est.fixed"]

    fit = section.xpath('.//table[@data-testid="est-fit"]/tbody/tr')
    assert len(fit) == len(summary.samples)
    for row, sample in zip(fit, summary.samples):
        day, observed, predicted = (_text(c) for c in row.xpath("./td"))
        assert float(day) == round(sample.day, 1)
        assert _close(_numbers(predicted)[0], sample.ipred_mg_l)
        if sample.below_lloq:
            assert observed.startswith("<") and words["est.blq"] in observed
            assert _close(_numbers(observed)[0], sample.lloq_mg_l)
        else:
            assert words["est.blq"] not in observed and _close(_numbers(observed)[0], sample.observed_mg_l)
    blq = section.xpath('.//*[@data-testid="est-blq"]')
    assert len(blq) == sum(s.below_lloq for s in summary.samples)
    shown = [_text(w).lstrip("⚠ ") for w in section.xpath('.//*[@data-testid="est-warning"]')]
    assert shown == warnings_shown
    if lang == "ja":
        stray = english_words(lxml.html.tostring(section, encoding="unicode"))
        assert stray == set(), stray


def _stored_summary(app, code: str):
    latest = clinic.recommendations_of(app.state.store, code)[0]
    assert latest.recommendation.estimation is not None
    return latest.recommendation


def _page(client: TestClient, code: str, lang: str) -> str:
    assert client.put("/api/v1/session/locale", json={"locale": lang}).status_code == 200
    response = client.get(f"/patients/{code}")
    assert response.status_code == 200
    return response.text


def _app_answering(rec, db):
    """The app on a new SQLite file ``db`` with the example patient, whose recommendation
    engine answers ``rec`` (the plot's profile fails: the page shows its error there)."""
    fake = Recommender(
        recommend=lambda history, *, today: rec,
        predict_profile=lambda history: (_ for _ in ()).throw(ValueError("no model")),
    )
    app = make_app(f"sqlite:///{db}", recommender=fake)
    st.import_history(app.state.store, PatientHistory.model_validate(json.loads(EXAMPLE.read_text())), user="t")
    return app


def test_the_page_shows_the_stored_estimate_in_both_languages(tmp_path):
    app = _app_answering(FAKE, tmp_path / "e.sqlite3")
    with TestClient(app) as c:
        sign_in(c)
        assert c.post("/api/v1/patients/RA-0001/recommendations").status_code in (200, 201)
        rec = _stored_summary(app, "RA-0001")
        summary = rec.estimation
        assert summary.samples[0].below_lloq and summary.parameter_interval("Q") is None  # the case is covered
        _check_section(_page(c, "RA-0001", "en"), summary, list(summary.warnings), "en")
        _check_section(_page(c, "RA-0001", "ja"), summary, [SLOW_SIR_JA], "ja")
    app.state.store.close()


def test_no_estimate_no_section(tmp_path):
    app = _app_answering(make_recommendation(estimation=None), tmp_path / "n.sqlite3")
    with TestClient(app) as c:
        sign_in(c)
        assert c.post("/api/v1/patients/RA-0001/recommendations").status_code in (200, 201)
        html = c.get("/patients/RA-0001").text
        assert 'data-testid="recommendation"' in html and 'data-testid="estimate"' not in html
    app.state.store.close()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_real_engines_estimate_with_a_level_below_the_lloq(client, app, lang):
    """The default engine on the example plus an undetectable week-6 level: what it stored is shown."""
    data = json.loads(EXAMPLE.read_text())
    data["levels"].insert(0, {"date": "2024-05-13T09:00:00", "below_lloq": True, "lloq_mg_l": 0.3})
    st.import_history(app.state.store, PatientHistory.model_validate(data), user="t")
    assert client.post("/api/v1/patients/RA-0001/recommendations").status_code in (200, 201)
    rec = _stored_summary(app, "RA-0001")
    summary = rec.estimation
    assert [s.below_lloq for s in summary.samples] == [True, False]
    warnings = list(summary.warnings)
    if lang == "ja":
        ja = dict(zip(rec.warnings, rec.warnings_ja))
        warnings = [ja[w] for w in warnings]
    _check_section(_page(client, "RA-0001", lang), summary, warnings, lang)
