def test_pages_render(client, with_example):
    for path in [
        "/patients",
        "/patients/RA-0001",
        "/patients/new",
        "/evidence",
        "/evidence/S4",
        "/api/docs",
        "/patients/RA-0001/record/infusion",
        "/patients/RA-0001/record/labs",
        "/patients/RA-0001/record/assessment",
        "/patients/RA-0001/record/weight",
    ]:
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[-3000:])
