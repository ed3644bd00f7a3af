"""Rendering pages: the Jinja2 environment (autoescaped) and the context every page has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from ifxdose.adapters.web.deps import get_locale, optional_user, session_of
from ifxdose.adapters.web.evidence_ja import design_ja, note_ja, population_ja, regimen_ja, term_ja, value_ja
from ifxdose.adapters.web.i18n import localize_dates, mark_japanese
from ifxdose.adapters.web.i18n.errors import field_message
from ifxdose.adapters.web.sessions import CSRF_FIELD
from ifxdose.adapters.web.views import estimate_view, option_rows, sig

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals["CSRF_FIELD"] = CSRF_FIELD
TEMPLATES.env.globals["field_message"] = field_message
TEMPLATES.env.globals["option_rows"] = option_rows
TEMPLATES.env.globals.update(estimate_view=estimate_view, sig=sig)
TEMPLATES.env.globals.update(
    term_ja=term_ja,
    regimen_ja=regimen_ja,
    design_ja=design_ja,
    population_ja=population_ja,
    value_ja=value_ja,
    note_ja=note_ja,
)
TEMPLATES.env.globals["mark_japanese"] = mark_japanese


def _prose(text: str, loc: Any) -> Any:
    """Domain prose: ISO dates in the reader's format; on English pages a Japanese quote (the
    label's 段階的に) is marked lang="ja"."""
    text = localize_dates(text, loc.code)
    return text if loc.code == "ja" else mark_japanese(text)


TEMPLATES.env.globals["prose"] = _prose


def render(request: Request, template: str, status: int = 200, **context: Any):
    loc = get_locale(request)
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "loc": loc,
            "t": loc.t,
            "user": optional_user(request),
            "csrf": session_of(request)["csrf"],
            "settings": request.app.state.settings,
            "errors": {},
            "values": {},
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
