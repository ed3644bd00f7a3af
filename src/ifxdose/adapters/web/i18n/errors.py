"""Field errors in the page's language. The API keeps the English text (field, value,
allowed, msg); a Japanese page shows the same facts in Japanese: the allowed range or values
(numbers and units unchanged), or a translated rule. Messages without a translation show a
Japanese lead-in and the English detail rather than nothing."""

from __future__ import annotations

import re

from ifxdose.adapters.web.i18n import localize_dates

_JA_RULES: list[tuple[str, str]] = [
    (r"^required; (.*)$", "必須です。{0}"),
    (r"^allowed range is (.+)$", "許容範囲 {0}"),
    (r"^allowed values are (.+)$", "選べる値: {0}"),
    (r"^allowed: ([<>]=?) (.+)$", "{0} {1}"),
    (
        r"^a date YYYY-MM-DD \(or date and time YYYY-MM-DDTHH:MM\), (\S+) to (\S+)$",
        "日付 YYYY-MM-DD（または日時 YYYY-MM-DDTHH:MM）、{0}〜{1}",
    ),
    (r"^a date not after today \((\S+)\)$", "今日（{0}）以前の日付"),
    (r"^a date not before the patient's birth year \((\d+)\)$", "患者の生年（{0}年）以降の日付"),
    (r"^an adult weight is (\S+)-(\S+) kg$", "成人の体重 {0}〜{1} kg"),
    (
        r"^this (.+) is already recorded \(amend or void the recorded one instead\)$",
        "この記録（{0}）は既に登録されています（登録済みの記録を修正または無効化してください）",
    ),
    (
        r"^one infusion per day: an infusion is already recorded on (\S+) \(amend or void it instead\)$",
        "投与は1日1回まで: {0} に既に投与が記録されています（修正または無効化してください）",
    ),
    (r"^a reason is required to void or amend an entry$", "訂正・無効化には理由の入力が必要です"),
    (r"^a reason is required to override a recommendation$", "推奨を採用しない場合は理由の入力が必要です"),
    (r"^text of at most (\d+) characters$", "{0}文字以内"),
    (r"^at most (\d+) characters$", "{0}文字以内"),
    (r"^a whole number from (\S+) to (\S+)$", "{0}〜{1} の整数"),
    (r"^a local date and time without a UTC offset.*$", "UTCオフセットのない現地（診療所）時刻"),
    (r"^a code not used by another patient$", "他の患者で使われていないコード"),
    (r"^a pseudonymous code of letters.*$", "英数字と . _ - からなる仮名コード（1〜64文字、英数字で始まる）"),
    (r"^at least one result$", "少なくとも1つの結果"),
    (r"^an option number$", "選択肢の番号"),
    (r"^a number, not true or false$", "数値（true/false は不可）"),
    (
        r"^(.*)was computed before data were recorded or corrected.*$",
        "この推奨の計算後に記録の追加または訂正がありました（失効）。推奨を再計算してください",
    ),
    (r"^(.*)was already (accepted|overridden)$", "この推奨は既に判断済みです"),
    (r"^(.*)was voided by (\S+) on (\S+)$", "この記録は {1} により {2} に無効化されています"),
    (r"^.*value_mg_l is required unless below_lloq is true.*$", "濃度の値が必要です（定量下限未満の場合を除く）"),
    (
        r"^.*below_lloq: true needs lloq_mg_l and no value_mg_l.*$",
        "定量下限未満には定量下限の値が必要で、濃度の値は入力しません",
    ),
    (r"^.*titre needs titre_unit.*$", "抗体価には単位が必要です（例: ug/L）"),
    (r"^.*before the first infusion.*$", "初回投与より前の日付は記録できません"),
]
_COMPILED = [(re.compile(pattern, re.S), template) for pattern, template in _JA_RULES]


def localize(text: str, locale: str) -> str:
    """``text`` (an English rule or range) in ``locale``; unchanged for English."""
    if locale != "ja" or not text:
        return text
    for pattern, template in _COMPILED:
        match = pattern.match(text.strip())
        if match:
            groups = [
                localize(g, locale) if i == 0 and template.startswith("必須") else g
                for i, g in enumerate(match.groups())
            ]
            return template.format(*groups)
    return f"入力内容を確認してください（{text}）"


def field_message(error, locale: str, t) -> str:
    """One line for a form field: what is wrong and what is allowed, in the page's language
    (dates in it as the language writes them: 2024年8月26日 / 26 Aug 2024)."""
    return localize_dates(_field_message(error, locale, t), locale)


def _field_message(error, locale: str, t) -> str:
    translated = t(error.msg)
    if locale == "ja":
        allowed = localize(error.allowed, locale) if error.allowed else ""
        lead = translated if translated != error.msg else ""
        if not lead and not allowed:
            return localize(error.msg, locale)
        return " — ".join(part for part in (lead, f"{t('form.allowed')}: {allowed}" if allowed else "") if part)
    return translated + (f" — {t('form.allowed')}: {error.allowed}" if error.allowed else "")
