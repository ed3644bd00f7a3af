"""The browser test: Playwright driving Debian's Chromium (headless) against a real server.
Sign in, create a patient, record the induction infusions, a weight and a trough, see the
plot and a recommendation, accept it, switch language. Screenshots: tests/artifacts/."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from web.live_server import NO_TLS, PASSWORD, start, stop

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for both tests (they use different patients: BR-0001 and RA-0001)."""
    tmp_path = tmp_path_factory.mktemp("browser")
    env = dict(
        os.environ,
        IFXDOSE_MODE="test",
        IFXDOSE_DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}",
        IFXDOSE_SECRET_KEY="b" * 40,
        IFXDOSE_TODAY="2024-07-08",
        IFXDOSE_DEFAULT_LOCALE="en",
    )
    proc, base = start(env, tmp_path / "server.log")
    yield base
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    """One Chromium for both tests; every test opens its own contexts (fresh cookies and storage)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)  # a fresh temporary profile
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    yield context.new_page()
    context.close()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _record(page, base: str, form: str, fields: dict[str, str]) -> None:
    page.goto(f"{base}/patients/BR-0001/record/{form}")
    for name, value in fields.items():
        page.fill(f"#f-{name}", value)
    page.click("[data-testid=save]")
    page.wait_for_url(f"{base}/patients/BR-0001")


def test_clinic_workflow_in_the_browser(server, page):
    base = server
    page.goto(f"{base}/patients")  # redirected to sign-in
    assert "/login" in page.url
    page.fill("#f-username", "doc")
    page.fill("#f-password", "wrong password")
    page.click("button[type=submit]")
    assert page.locator("#err-password").is_visible()
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/patients")
    _shot(page, "01-patients")

    page.click("text=New patient")
    page.fill("#f-id", "BR-0001")
    page.select_option("#f-sex", "female")
    page.fill("#f-birth_year", "18")  # bad input first: the message appears next to the field
    page.click("button[type=submit]")
    assert page.locator("#err-birth_year").is_visible()
    _shot(page, "02-field-error")
    page.fill("#f-birth_year", "1968")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/patients/BR-0001")

    _record(page, base, "weight", {"date": "2024-03-30", "weight_kg": "55"})
    for day in ("2024-04-01", "2024-04-15", "2024-05-13"):
        _record(page, base, "infusion", {"date": day, "dose_mg": "165", "dose_mg_per_kg": "3"})
    _record(page, base, "labs", {"date": "2024-07-08", "time": "09:30", "value_mg_l": "0.8", "lloq_mg_l": "0.1"})
    page.goto(f"{base}/patients/BR-0001/record/assessment")
    for joint in ("tender-left_wrist", "tender-right_mcp2", "swollen-left_wrist"):
        page.click(f'[data-joint="{joint}"]')
    assert page.locator("output[data-count=tender]").inner_text() == "2"
    page.fill("#f-ptga_mm", "30")
    page.fill("#f-phga_mm", "25")
    page.fill("#f-crp_mg_l", "4")
    _shot(page, "03-joint-diagram")
    page.click("[data-testid=save]")
    page.wait_for_url(f"{base}/patients/BR-0001")

    assert page.locator("[data-testid=conc-plot] svg circle.obs").count() == 1
    assert page.locator("[data-testid=conc-plot] svg polyline.ipred").count() == 1
    page.click("[data-testid=compute]")
    page.wait_for_selector("[data-testid=options] tbody tr")
    assert page.locator("[data-testid=options] tbody tr").count() >= 1
    assert "PTA" in page.locator("[data-testid=recommendation]").inner_text()
    _shot(page, "04-patient-recommendation")

    page.click("[data-testid=accept]")
    page.wait_for_selector("[data-testid=decision]")
    assert "accepted" in page.locator("[data-testid=rec-status]").inner_text()

    page.click("[data-testid=lang-ja]")
    page.wait_for_selector("text=投与カレンダー")
    assert "承認済み" in page.locator("[data-testid=rec-status]").inner_text()
    assert "2024年4月1日" in page.content()
    _shot(page, "05-patient-ja")
    page.goto(f"{base}/patients")
    assert "患者一覧" in page.content()


def _png_size(path: Path) -> tuple[int, int]:
    import struct

    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


#: The text a reader sees: text nodes the browser renders (``checkVisibility``), outside
#: collapsed <details> bodies, scripts and elements marked as another language (``lang``
#: other than the page's: a source's own English wording, the language switch).
VISIBLE_TEXT = """(lang) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim()) continue;
    if (el.closest('script, style, template, details:not([open]) > :not(summary)')) continue;
    const marked = el.closest('[lang]');
    if (marked && marked.getAttribute('lang') !== lang) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    out.push(node.textContent);
  }
  return out.join(' ');
}"""
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]")


def test_layouts_at_1280_and_390_px_in_both_languages(server, browser):
    """Every page a clinician uses (15: worklist, patient, forms, entries, amend, evidence),
    at desktop and phone width, Japanese and English, in one browser: nothing wider than the
    screen; on Japanese pages no English word outside the allow-list in the text the browser
    renders, on English pages no Japanese; the target band, labelled joints and one
    "recommended" badge drawn. Screenshots
    tests/artifacts/layout-{ja,en}-{1280,390}-{patient,patients,assessment,evidence}.png."""
    import httpx

    from web.conftest import underexposed_example_history
    from web.test_japanese_pages import english_in_text, ja_pages

    with httpx.Client(base_url=server, timeout=120, verify=NO_TLS) as api:
        token = api.post("/api/v1/session", json={"username": "doc", "password": PASSWORD}).json()["csrf_token"]
        api.headers["X-CSRF-Token"] = token
        # under-exposed: a recommendation with a chosen option under any RA model (see the helper)
        low = underexposed_example_history().model_dump(mode="json")
        assert api.post("/api/v1/patients/import", json=low).status_code == 201
        assert api.post("/api/v1/patients/RA-0001/recommendations").status_code == 201
        infusion_id = api.get("/api/v1/patients/RA-0001/infusions").json()[0]["id"]
    pages = ja_pages("RA-0001", infusion_id)
    shot_names = {"patient": "patient", "patients": "patients", "form assessment": "assessment"}
    shot_names["evidence S4-attract-1999"] = "evidence"
    shots, stray = [], {}
    for lang in ("ja", "en"):
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="ja-JP")
            page = context.new_page()
            page.goto(f"{server}/login")
            page.fill("#f-username", "doc")
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/patients")
            if page.locator(f"[data-testid=lang-{lang}]").count():
                page.click(f"[data-testid=lang-{lang}]")
                page.wait_for_load_state()
            for name, path in pages.items():
                page.goto(f"{server}{path}")
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, (lang, width, name, overflow)
                visible = page.evaluate(VISIBLE_TEXT, lang)
                # BR-0001 (the workflow test's patient, on the shared server) is data like RA-0001
                found = sorted(english_in_text(visible) - {"BR-0001"}) if lang == "ja" else JAPANESE.findall(visible)
                if found:
                    stray[f"{lang} {width} {name}"] = found
                text = page.inner_text("main")
                if lang == "ja":
                    assert any(word in text for word in ("患者", "投与", "関節", "試験", "群")), (width, name)
                if name == "patient":
                    assert page.locator("[data-testid=conc-plot] rect.target-band").count() == 1
                    assert page.locator("[data-testid=options] tbody tr").count() >= 1
                    label = page.locator("[data-testid=options] tbody tr.chosen td").nth(1).inner_text()
                    assert label.count("推奨" if lang == "ja" else "recommended") <= 1, label
                if name == "form assessment":
                    labels = page.locator("svg.body text.joint-label").all_text_contents()
                    assert "MCP" in labels and ("肩" in labels if lang == "ja" else "shoulder" in labels)
                    box = page.locator("svg.body").first.bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= width
                if name in shot_names:
                    target = ARTIFACTS / f"layout-{lang}-{width}-{shot_names[name]}.png"
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(target), full_page=True)
                    assert _png_size(target)[0] == width
                    shots.append(target)
            context.close()
    assert stray == {}, "\n".join(f"{k}: {v}" for k, v in stray.items())
    assert len(shots) == 16
