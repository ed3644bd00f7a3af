"""Japanese and English message catalogs (``ja.json``, ``en.json``) and locale formatting.

``translator(locale)("key", n=3)`` formats the message with ``str.format``; a key missing in
a catalog falls back to English, then to the key itself (a test keeps the catalogs complete).
Dates: ja ``2024年7月8日``, en ``8 Jul 2024``; numbers: grouping with commas in both.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from importlib import resources
from typing import Callable

from markupsafe import Markup, escape

LOCALES = ("ja", "en")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@cache
def catalog(locale: str) -> dict[str, str]:
    return json.loads((resources.files(__package__) / f"{locale}.json").read_text(encoding="utf-8"))


def translator(locale: str) -> Callable[..., str]:
    messages, fallback = catalog(locale if locale in LOCALES else "en"), catalog("en")

    def t(key: str, **values: object) -> str:
        text = messages.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def format_date(value: dt.date | dt.datetime | str | None, locale: str) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    day = value.date() if isinstance(value, dt.datetime) else value
    text = (
        f"{day.year}年{day.month}月{day.day}日"
        if locale == "ja"
        else f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    )
    if isinstance(value, dt.datetime) and (value.hour or value.minute):
        text += f" {value.hour:02d}:{value.minute:02d}"
    return text


_ISO_IN_TEXT = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?)?(?![\d-])")


def localize_dates(text: str, locale: str) -> str:
    """ISO dates (and date-times) inside prose — the domain writes rationales, warnings and
    advice with ISO dates, language-neutral — in the reader's format: ``2026年12月1日`` /
    ``1 Dec 2026`` (a time stays ``HH:MM``). Anything that is not a real date is left as is."""

    def one(match: re.Match[str]) -> str:
        year, month, day, hour, minute = match.groups()
        try:
            value: dt.date = dt.date(int(year), int(month), int(day))
            if hour is not None:
                value = dt.datetime(value.year, value.month, value.day, int(hour), int(minute))
        except ValueError:
            return match.group(0)
        text = format_date(value, locale)
        return text + " 00:00" if hour is not None and not (int(hour) or int(minute)) else text

    return _ISO_IN_TEXT.sub(one, text or "")


def format_number(value: float | int | None, locale: str, digits: int = 1) -> str:
    """Grouped with commas, ``digits`` decimals with trailing zeros dropped ("—" for None)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    if digits and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_percent(value: float | None, locale: str) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def format_yen(value: float | None, locale: str) -> str:
    return "—" if value is None else (f"{value:,.0f}円" if locale == "ja" else f"¥{value:,.0f}")


_JAPANESE_RUN = re.compile(
    r"[\u3000-\u30ff\u3400-\u9fff\uff01-\uff60]+(?:[\s0-9A-Za-z.,:;/<>&()\-]*[\u3000-\u30ff\u3400-\u9fff\uff01-\uff60]+)*"
)


def mark_japanese(text: str) -> Markup:
    """Escaped ``text`` with each run of Japanese marked ``<span lang="ja">`` (a quote of the
    Japanese label inside English prose or a citation: screen readers and fonts pick the
    right language, and the English-page check knows it is a quote)."""
    out, last = [], 0
    for match in _JAPANESE_RUN.finditer(text or ""):
        out.append(escape(text[last : match.start()]))
        out.append(Markup('<span lang="ja">{}</span>').format(match.group(0)))
        last = match.end()
    out.append(escape((text or "")[last:]))
    return Markup("").join(out)
