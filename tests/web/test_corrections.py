"""Correcting records over HTTP: a double-clicked Save stores one infusion; duplicate,
same-day and future entries are field errors at write time (form and API); void and amend
through the API and the pages; imports (history JSON and FHIR) merge or refuse, and
replace only when asked, with the replaced entries kept and audited."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ifxdose.adapters import store as st
from ifxdose.adapters.fhir.exporter import history_to_bundle
from ifxdose.domain.patient import JointAssessment
from web.conftest import csrf_of, example_history, sign_in


def _form(client, path: str) -> dict[str, str]:
    html = client.get(path).text
    return {"csrf_token": csrf_of(html), "request_id": re.search(r'name="request_id" value="([^"]+)"', html).group(1)}


def test_a_double_clicked_save_stores_one_infusion(client, with_example):
    hidden = _form(client, "/patients/RA-0001/record/infusion")
    data = {**hidden, "date": "2024-08-20", "dose_mg": "330", "duration_min": "120"}
    first = client.post("/patients/RA-0001/record/infusion", data=data, follow_redirects=False)
    second = client.post("/patients/RA-0001/record/infusion", data=data, follow_redirects=False)
    assert first.status_code == second.status_code == 303
    infusions = st.patient_history(client.app.state.store, "RA-0001").infusions
    assert [str(i.date) for i in infusions].count("2024-08-20") == 1


def test_the_same_infusion_entered_twice_is_a_field_error(client, with_example):
    data = {"date": "2024-08-20", "dose_mg": "330"}
    for expected in (303, 422):  # two renders of the form: two request ids
        r = client.post(
            "/patients/RA-0001/record/infusion",
            data={**_form(client, "/patients/RA-0001/record/infusion"), **data},
            follow_redirects=False,
        )
        assert r.status_code == expected
    assert 'id="err-date"' in r.text and "already recorded" in r.text


def test_api_write_time_checks(client, with_example):
    r = client.post("/api/v1/patients/RA-0001/infusions", json={"date": "2024-09-30", "dose_mg": 330})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "date"
    assert "not after today (2024-08-26)" in r.json()["detail"][0]["allowed"]
    r = client.post("/api/v1/patients/RA-0001/infusions", json={"date": "2024-04-01T14:00", "dose_mg": 200})
    assert r.status_code == 422 and "one infusion per day" in r.json()["detail"][0]["allowed"]


def test_api_idempotency_key(client, with_example):
    body = {"date": "2024-08-20", "dose_mg": 330}
    key = {"Idempotency-Key": "retry-0123456789"}
    first = client.post("/api/v1/patients/RA-0001/infusions", json=body, headers=key)
    again = client.post("/api/v1/patients/RA-0001/infusions", json=body, headers=key)
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]


def test_api_void_and_amend(client, with_example):
    rows = client.get("/api/v1/patients/RA-0001/infusions").json()
    assert len(rows) == 4 and rows[0]["entry"]["dose_mg"] == 165
    last = rows[-1]["id"]
    r = client.post(f"/api/v1/patients/RA-0001/infusions/{last}/void", json={"reason": ""})
    assert r.status_code == 422
    assert (
        client.post(f"/api/v1/patients/RA-0001/infusions/{last}/void", json={"reason": "wrong patient"}).status_code
        == 200
    )
    assert len(client.get("/api/v1/patients/RA-0001/history").json()["infusions"]) == 3
    voided = client.get("/api/v1/patients/RA-0001/infusions", params={"voided": True}).json()
    assert voided[0]["id"] == last and voided[0]["voided_by"] == "doc" and voided[0]["void_reason"] == "wrong patient"
    first = rows[0]["id"]
    r = client.post(
        f"/api/v1/patients/RA-0001/infusions/{first}/amend",
        json={"reason": "dose mistyped", "entry": {**rows[0]["entry"], "dose_mg": 170}},
    )
    assert r.status_code == 200, r.text
    current = client.get("/api/v1/patients/RA-0001/infusions").json()
    assert current[0]["entry"]["dose_mg"] == 170 and current[0]["amends_id"] == first
    r = client.post(
        f"/api/v1/patients/RA-0001/infusions/{first}/amend",
        json={"reason": "x", "entry": {**rows[0]["entry"], "dose_mg": True}},
    )
    assert r.status_code in (409, 422)


def test_void_and_amend_pages(client, with_example):
    page = client.get("/patients/RA-0001/entries/weights")
    assert page.status_code == 200 and 'data-testid="entries"' in page.text
    ids = [int(i) for i in re.findall(r'data-entry-id="(\d+)"', page.text)]
    token = csrf_of(page.text)
    r = client.post(f"/patients/RA-0001/entries/weights/{ids[0]}/void", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 422 and "reason" in r.text
    r = client.post(
        f"/patients/RA-0001/entries/weights/{ids[0]}/void", data={"csrf_token": token, "reason": "scale not calibrated"}
    )
    assert r.status_code == 200 and 'data-testid="voided"' in r.text and "scale not calibrated" in r.text
    form = client.get(f"/patients/RA-0001/entries/weights/{ids[1]}")
    assert form.status_code == 200
    r = client.post(
        f"/patients/RA-0001/entries/weights/{ids[1]}",
        data={"csrf_token": token, "date": "2024-06-03", "weight_kg": "true", "reason": "typo"},
    )
    assert r.status_code == 422 and 'id="err-weight_kg"' in r.text
    r = client.post(
        f"/patients/RA-0001/entries/weights/{ids[1]}",
        data={"csrf_token": token, "date": "2024-06-03", "weight_kg": "56.5", "reason": "typo"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert [w.weight_kg for w in st.patient_history(client.app.state.store, "RA-0001").weights] == [56.5]


def test_read_only_users_get_no_correction_or_record_forms(app, with_example):
    with TestClient(app) as viewer:
        sign_in(viewer, "viewer")
        page = viewer.get("/patients/RA-0001/entries/infusions")
        assert page.status_code == 200 and "void-form" not in page.text
        assert viewer.get("/patients/RA-0001/record/infusion").status_code == 403
        assert 'data-testid="record-infusion"' not in viewer.get("/patients/RA-0001").text


def test_history_import_merges_or_refuses_and_replaces_only_when_asked(client, with_example):
    only_patient = {"patient": {"id": "RA-0001", "sex": "female", "birth_year": 1968}}
    assert client.post("/api/v1/patients/import", json=only_patient).status_code == 409
    assert client.post("/api/v1/patients/import", json=only_patient, params={"merge": True}).status_code == 201
    assert len(client.get("/api/v1/patients/RA-0001/history").json()["infusions"]) == 4
    assert client.post("/api/v1/patients/import", json=only_patient, params={"replace": True}).status_code == 201
    assert client.get("/api/v1/patients/RA-0001/history").json()["infusions"] == []
    audit = st.audit_trail(client.app.state.store, "RA-0001")[0]
    assert audit.action == "replace" and len(audit.detail["replaced"]["infusions"]) == 4


def test_fhir_import_of_a_bundle_with_only_the_patient_wipes_nothing(client, with_example):
    history = example_history()
    only_patient = history.model_copy(update={k: [] for k in st.ENTRY_KINDS})
    bundle = history_to_bundle(only_patient)
    r = client.post("/api/v1/fhir/import", json=bundle)
    assert r.status_code == 201 and r.json()["created"] is False
    stored = st.patient_history(client.app.state.store, "RA-0001")
    assert len(stored.infusions) == 4 and len(stored.levels) == 1
    # new data in a later bundle are added
    data = only_patient.model_dump(mode="json")
    data["weights"] = [*history.model_dump(mode="json")["weights"], {"date": "2024-08-01", "weight_kg": 57}]
    more = type(history).model_validate(data)
    assert client.post("/api/v1/fhir/import", json=history_to_bundle(more)).status_code == 201
    assert len(st.patient_history(client.app.state.store, "RA-0001").weights) == 3
    # replace only with the flag; the replaced entries stay in the audit
    assert client.post("/api/v1/fhir/import", json=bundle, params={"replace": True}).status_code == 201
    assert st.patient_history(client.app.state.store, "RA-0001").infusions == []
    assert len(st.audit_trail(client.app.state.store, "RA-0001")[0].detail["replaced"]["infusions"]) == 4


def test_amend_page_has_typed_fields_and_amends_joint_lists(client, with_example):
    """Dates as date (and time) inputs, numbers with the model's range, choices as selects,
    joint lists as the joint picker; joints amended one by one and the counts follow; errors
    in the page's language."""
    store = client.app.state.store
    infusion = st.entry_rows(store, "RA-0001", "infusions")[-1]
    html = client.get(f"/patients/RA-0001/entries/infusions/{infusion.id}").text
    assert re.search(r'name="date" type="date" value="2024-07-08"', html)
    assert re.search(r'name="time" type="time" value="10:00"', html)
    assert re.search(r'name="dose_mg" type="number"[^>]*min="0.0" max="5000.0"', html, re.S)
    assert re.search(r'<select id="f-route" name="route">.*<option value="iv" selected', html, re.S)
    r = client.post(
        f"/patients/RA-0001/entries/infusions/{infusion.id}",
        data={
            "csrf_token": csrf_of(html),
            "date": "2024-07-08",
            "time": "11:30",
            "dose_mg": "170",
            "route": "iv",
            "duration_min": "120",
            "product": "Remicade",
            "reason": "pump log",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    amended = st.patient_history(store, "RA-0001").infusions[-1]
    assert (amended.date.isoformat(), amended.dose_mg) == ("2024-07-08T11:30:00", 170)

    st.add_entry(
        store,
        "RA-0001",
        "assessments",
        JointAssessment(
            date="2024-08-01",
            tjc28=2,
            sjc28=1,
            tender_joints=["right_wrist", "left_knee"],
            swollen_joints=["right_wrist"],
        ),
        user="t",
    )
    row = st.entry_rows(store, "RA-0001", "assessments")[-1]
    html = client.get(f"/patients/RA-0001/entries/assessments/{row.id}").text
    assert 'name="joint_lists"' in html and html.count('name="tender_joints"') == 28
    assert re.search(r'name="tender_joints" value="left_knee" checked', html) and 'name="tjc28"' not in html
    data = {
        "csrf_token": csrf_of(html),
        "date": "2024-08-01",
        "joint_lists": "1",
        "reason": "knee was not tender",
        "tender_joints": ["right_wrist"],
        "swollen_joints": ["right_wrist", "left_wrist"],
    }
    r = client.post(f"/patients/RA-0001/entries/assessments/{row.id}", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    latest = st.patient_history(store, "RA-0001").assessments[-1]
    assert (latest.tender_joints, latest.tjc28, latest.swollen_joints, latest.sjc28) == (
        ["right_wrist"],
        1,
        ["right_wrist", "left_wrist"],
        2,
    )

    assert client.put("/api/v1/session/locale", json={"locale": "ja"}).status_code == 200
    weight = st.entry_rows(store, "RA-0001", "weights")[0]
    html = client.get(f"/patients/RA-0001/entries/weights/{weight.id}").text
    r = client.post(
        f"/patients/RA-0001/entries/weights/{weight.id}",
        data={"csrf_token": csrf_of(html), "date": "2024-03-25", "weight_kg": "500", "reason": "誤入力"},
    )
    assert r.status_code == 422 and "許容範囲 (0, 350] kg" in r.text and "allowed range" not in r.text
    assert 'name="date" type="date" value="2024-03-25"' in r.text
