"""Pages: recording forms (field messages on bad input), the patient page, recommendations,
language, import/export and evidence."""

from __future__ import annotations

import json
import re

from ifxdose.adapters import store as st
from web.conftest import csrf_of, example_history


def _post(client, path, data, page=None):
    token = csrf_of(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_new_patient_form_and_field_errors(client):
    r = _post(client, "/patients/new", {"id": "bad code/1", "sex": "other", "birth_year": "1800"})
    assert r.status_code == 422
    for field in ("id", "sex", "birth_year"):
        assert f'id="err-{field}"' in r.text, field
    assert "[1900, 2100]" in r.text and "female, male" in r.text


def test_create_patient_then_duplicate(client):
    r = _post(client, "/patients/new", {"id": "NEW-2", "sex": "male", "birth_year": "1970"})
    assert r.status_code == 303 and r.headers["location"] == "/patients/NEW-2"
    r = _post(client, "/patients/new", {"id": "NEW-2", "sex": "male", "birth_year": "1970"})
    assert r.status_code == 422 and 'id="err-id"' in r.text


def test_infusion_form_bad_input_is_shown_next_to_each_field(client, with_example):
    path = "/patients/RA-0001/record/infusion"
    r = _post(client, path, {"date": "2024-09-02", "dose_mg": "-5", "route": "im", "vials": "2.5"})
    assert r.status_code == 422
    for field in ("dose_mg", "route", "vials"):
        assert f'id="err-{field}"' in r.text, field
    assert "(0, 5000] mg" in r.text and 'value="-5"' in r.text  # the entered value is kept


def test_record_infusion_labs_assessment_and_weight(client, app, with_example):
    assert (
        _post(
            client,
            "/patients/RA-0001/record/infusion",
            {
                "date": "2024-08-19",
                "time": "10:30",
                "dose_mg": "200",
                "dose_mg_per_kg": "3.6",
                "route": "iv",
                "duration_min": "120",
                "lot": "L-9",
                "vials": "2",
            },
        ).status_code
        == 303
    )
    assert (
        _post(
            client,
            "/patients/RA-0001/record/labs",
            {
                "date": "2024-08-20",
                "time": "09:00",
                "value_mg_l": "",
                "below_lloq": "on",
                "lloq_mg_l": "0.1",
                "ada_result": "positive",
                "titre": "30",
                "titre_unit": "ug/L",
                "crp_mg_l": "12",
            },
        ).status_code
        == 303
    )
    r = _post(
        client,
        "/patients/RA-0001/record/assessment",
        {
            "date": "2024-08-20",
            "tender_joints": ["left_wrist", "right_mcp2"],
            "swollen_joints": ["left_wrist"],
            "ptga_mm": "40",
            "phga_mm": "30",
            "crp_mg_l": "12",
        },
    )
    assert r.status_code == 303
    assert (
        _post(
            client, "/patients/RA-0001/record/weight", {"date": "2024-08-20", "weight_kg": "56.5", "dose_mg_week": "0"}
        ).status_code
        == 303
    )
    history = st.patient_history(app.state.store, "RA-0001")
    assert history.infusions[-1].date.isoformat() == "2024-08-19T10:30:00"
    assert history.levels[-1].below_lloq and history.ada[-1].titre == 30
    assert history.assessments[-1].tjc28 == 2 and history.assessments[-1].sjc28 == 1
    assert history.weights[-1].weight_kg == 56.5 and history.mtx[-1].dose_mg_week == 0
    assert st.entry_rows(app.state.store, "RA-0001", "assessments")[-1].scores["sdai"]["value"] > 0


def test_labs_form_needs_something_and_checks_each_section(client, with_example):
    path = "/patients/RA-0001/record/labs"
    r = _post(client, path, {"date": "2024-09-01"})
    assert r.status_code == 422 and 'id="err-__all__"' in r.text
    r = _post(
        client,
        path,
        {
            "date": "2024-09-01",
            "value_mg_l": "2000",
            "ada_result": "maybe",
            "albumin_g_dl": "9",
            "baseline_tnf_pg_ml": "-1",
        },
    )
    for field in ("value_mg_l", "ada_result", "albumin_g_dl", "baseline_tnf_pg_ml"):
        assert f'id="err-{field}"' in r.text, field
    # a level before the first infusion: the date is wrong, and nothing is half-written
    r = _post(client, path, {"date": "2024-01-01", "value_mg_l": "1", "crp_mg_l": "3"})
    assert r.status_code == 422 and 'id="err-date"' in r.text and "first infusion" in r.text


def test_unknown_joint_is_a_field_error(client, with_example):
    r = _post(client, "/patients/RA-0001/record/assessment", {"date": "2024-09-01", "tender_joints": ["left_hip"]})
    assert r.status_code == 422 and 'id="err-tender_joints"' in r.text


def test_patient_page_shows_plot_trend_calendar_and_worklist(client, with_example):
    page = client.get("/patients/RA-0001").text
    assert 'data-testid="conc-plot"' in page and 'class="obs"' in page and "pred-band" in page
    assert 'data-testid="trend-DAS28"' in page and 'data-testid="trend-SDAI"' in page
    assert 'data-testid="calendar"' in page
    listing = client.get("/patients").text
    assert re.search(r'data-testid="worklist".*RA-0001', listing, re.S)  # due 2024-09-02, today 2024-08-26


def test_recommend_accept_and_citations_link_to_evidence(client, with_example):
    assert _post(client, "/patients/RA-0001/recommendations", {}, page="/patients/RA-0001").status_code == 303
    page = client.get("/patients/RA-0001").text
    assert 'data-testid="options"' in page and "PTA" in page
    rec_id = re.search(r"/recommendations/(\d+)/decision", page).group(1)
    links = re.findall(r'href="(/evidence/S[^"]+)"', page)
    assert links and all(client.get(link).status_code == 200 for link in links)
    r = _post(
        client, f"/patients/RA-0001/recommendations/{rec_id}/decision", {"decision": "accept"}, page="/patients/RA-0001"
    )
    assert r.status_code == 303
    assert 'data-testid="decision"' in client.get("/patients/RA-0001").text


def test_override_without_reason_is_a_field_error(client, with_example):
    _post(client, "/patients/RA-0001/recommendations", {}, page="/patients/RA-0001")
    rec_id = re.search(r"/recommendations/(\d+)/decision", client.get("/patients/RA-0001").text).group(1)
    r = _post(
        client,
        f"/patients/RA-0001/recommendations/{rec_id}/decision",
        {"decision": "override", "reason": " "},
        page="/patients/RA-0001",
    )
    assert r.status_code == 422 and 'id="err-reason"' in r.text
    r = _post(
        client,
        f"/patients/RA-0001/recommendations/{rec_id}/decision",
        {"decision": "override", "reason": "patient travelling", "option_index": "0"},
        page="/patients/RA-0001",
    )
    assert r.status_code == 303


def test_language_switch_formats_dates_and_numbers(client, with_example):
    assert "Infusion calendar" in client.get("/patients/RA-0001").text
    _post(client, "/locale", {"locale": "ja", "next": "/patients/RA-0001"}, page="/patients/RA-0001")
    page = client.get("/patients/RA-0001").text
    assert "投与カレンダー" in page and "2024年4月1日" in page and 'lang="ja"' in page
    _post(client, "/locale", {"locale": "en", "next": "/patients"}, page="/patients")
    assert "1 Apr 2024" in client.get("/patients/RA-0001").text


def test_export_then_import_the_same_patient(client, app, with_example):
    exported = client.get("/patients/RA-0001/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = json.loads(exported.text)
    data["patient"]["id"] = "RA-0002"
    token = csrf_of(client.get("/patients").text)
    r = client.post(
        "/patients/import",
        data={"csrf_token": token},
        files={"history": ("h.json", json.dumps(data), "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    copy = st.patient_history(app.state.store, "RA-0002")
    assert copy.model_dump(exclude={"patient"}) == example_history().model_dump(exclude={"patient"})
    r = client.post(
        "/patients/import", data={"csrf_token": token}, files={"history": ("h.json", b"{not json", "application/json")}
    )
    assert r.status_code == 422 and 'id="err-history"' in r.text


def test_unknown_pages(client):
    assert client.get("/patients/NOPE").status_code == 404
    assert client.get("/evidence/S99-nothing").status_code == 404
    assert client.get("/patients/bad%20code").status_code == 422
    assert client.get("/patients/RA-0001/record/other").status_code == 422
