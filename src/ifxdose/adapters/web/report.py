"""A printable one-page PDF per stored recommendation, in Japanese or English, for the chart:
patient, the concentration-time plot, options, the chosen dose, rationale, warnings,
citations, model and version, the inputs hash, who computed and who decided, when (clinic
time zone). Drawn with matplotlib (the ``[plot]`` extra: a clinic that prints reports installs
``ifxdose[clinic,plot]``) on A4; Japanese text in IPA Gothic
(Debian fonts-ipafont-gothic), embedded as a TrueType font so the PDF prints anywhere.
Rendering only: every number comes from the stored recommendation and the domain's profile.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from pathlib import Path
from typing import Any

IPA_GOTHIC = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")
A4_INCHES = (8.27, 11.69)


def _font():
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=str(IPA_GOTHIC)) if IPA_GOTHIC.exists() else FontProperties(family="DejaVu Sans")


def _wrap(text: str, width_em: float) -> str:
    """Wrap for a column ``width_em`` (full-width characters count double)."""
    lines = []
    for paragraph in str(text).splitlines() or [""]:
        line, used = "", 0.0
        for ch in paragraph:
            w = 2.0 if unicodedata.east_asian_width(ch) in "WF" else 1.0
            if used + w > width_em and line:
                cut = line.rfind(" ") if w == 1.0 and " " in line[-20:] else -1
                lines.append(line[:cut] if cut > 0 else line)
                line, used = (line[cut + 1 :] if cut > 0 else ""), 0.0
                used = sum(2.0 if unicodedata.east_asian_width(c) in "WF" else 1.0 for c in line)
            line += ch
            used += w
        lines.append(line)
    return "\n".join(lines)


def recommendation_pdf(
    *, code: str, patient: dict[str, Any], stored, profile, loc, superseded: bool, png: bool = False
) -> bytes:
    """The report as PDF bytes (one A4 page). ``stored``: the stored recommendation
    (``ifxdose.app.clinic.StoredRecommendation``: its row, the domain's ``Recommendation``
    and the option taken); ``profile``:
    the domain's Profile (or None: no plot); ``loc``: the page Locale (language, dates, zone)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    t, ja, font = loc.t, loc.code == "ja", _font()
    row, rec = stored.row, stored.recommendation
    chosen = stored.taken or rec.chosen
    fig = Figure(figsize=A4_INCHES)
    y = 0.965

    def line(text: str, size: float = 9, weight: str = "normal", gap: float = 0.0, width: float = 110) -> None:
        nonlocal y
        wrapped = _wrap(text, width * 9 / size)
        fig.text(0.06, y, wrapped, fontproperties=font, fontsize=size, weight=weight, va="top")
        y -= (wrapped.count("\n") + 1) * size * 1.45 / 72 / A4_INCHES[1] + gap

    line(f"{t('report.title')} — {t('patient.title', code=code)}", 14, "bold", 0.004)
    line(
        f"{t('sex.' + patient['sex'])} · {t('patient.born', year=patient['birth_year'])} · "
        f"{t('report.printed')} {loc.stamp(dt.datetime.now(dt.timezone.utc))}",
        8.5,
        gap=0.006,
    )
    action = t(f"rec.action.{rec.action}")
    action = rec.action if action.startswith("rec.action.") else action
    status = t(f"rec.status.{row.status}") + (f" ({t('rec.superseded')})" if superseded else "")
    line(f"{t('rec.title')}: {action} — {status}", 11, "bold", 0.003)
    low, high = rec.target.low_mg_l, rec.target.high_mg_l
    line(
        f"{t('rec.target')}: "
        + (f"{loc.num(low, 2)}–{loc.num(high, 2)} mg/L" if high else f">= {loc.num(low, 2)} mg/L")
        + (f" · {t('rec.pta_threshold')} {loc.pct(rec.pta_threshold)}" if rec.pta_threshold else ""),
        9,
    )
    if chosen:
        line(
            f"{t('report.chosen')}: {loc.num(chosen.dose_mg, 0)} mg ({loc.fixed(chosen.dose_mg_per_kg, 1)} mg/kg), "
            + t("rec.every_weeks", n=loc.num(chosen.interval_weeks, 1))
            + f", {t('rec.next')} {loc.date(chosen.next_date)}, PTA {loc.pct(chosen.pta)}",
            10,
            "bold",
            0.004,
        )
    else:
        line(t("rec.no_infusion_title"), 10, "bold", 0.004)
    if profile is not None:
        ax = fig.add_axes((0.1, y - 0.22, 0.84, 0.2))
        weeks = [d / 7 for d in profile.time_days]
        ax.fill_between(weeks, profile.lower_mg_l, profile.upper_mg_l, color="#1f5fa8", alpha=0.2, lw=0)
        ax.plot(weeks, profile.ipred_mg_l, color="#1f5fa8", lw=1.2)
        if low:
            ax.axhspan(low, high or max(profile.upper_mg_l + [low * 10]), color="#2e7d32", alpha=0.12, lw=0)
        for d, v, blq in profile.observed:
            ax.plot(d / 7, max(v, 0.01), marker="v" if blq else "o", color="#c62828", mfc="white" if blq else "#c62828")
        for d in profile.dose_days:
            ax.axvline(d / 7, color="#8a96a3", lw=0.6, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel(t("plot.x"), fontproperties=font, fontsize=8)
        ax.set_ylabel("mg/L", fontproperties=font, fontsize=8)
        ax.tick_params(labelsize=7)
        y -= 0.265
    from ifxdose.adapters.web.i18n import localize_dates
    from ifxdose.adapters.web.views import option_rows

    main, _ = option_rows(rec)  # the chosen option first, then by PTA and cost (as on the page)
    options = [o for _, o, _ in main]
    if options:
        ax = fig.add_axes((0.06, y - 0.02 * (len(options) + 1), 0.88, 0.02 * (len(options) + 1)))
        ax.axis("off")
        head = [t("rec.dose"), t("rec.interval"), t("rec.next"), t("rec.trough"), "PTA", t("rec.cost")]
        cells = [
            [
                f"{loc.num(o.dose_mg, 0)} mg ({loc.fixed(o.dose_mg_per_kg, 1)})",
                t("rec.every_weeks", n=loc.num(o.interval_weeks, 1)),
                loc.date(o.next_date),
                f"{loc.fixed(o.predicted_trough_median_mg_l, 1)} ({loc.fixed(o.predicted_trough_p10_mg_l, 1)}"
                f"–{loc.fixed(o.predicted_trough_p90_mg_l, 1)})",
                loc.pct(o.pta),
                loc.yen(o.cost_per_year_jpy) + t("rec.per_year"),
            ]
            for o in options
        ]
        table = ax.table(cellText=cells, colLabels=head, loc="upper left", cellLoc="left")
        table.auto_set_font_size(False)
        for (r, _), cell in table.get_celld().items():
            cell.set_text_props(fontproperties=font, fontsize=7.5)
            cell.set_height(1 / (len(options) + 1))
            if r > 0 and main[r - 1][2]:
                cell.set_facecolor("#eef7ee")
        y -= 0.02 * (len(options) + 1) + 0.012
    rationale = rec.rationale_ja if ja and rec.rationale_ja else rec.rationale
    line(t("report.rationale"), 9.5, "bold")
    line(localize_dates(rationale, "ja" if ja else "en"), 8.5, gap=0.004)
    warnings = rec.warnings_ja if ja and rec.warnings_ja else rec.warnings
    for w in warnings[:4]:
        line(f"※ {localize_dates(w, 'ja' if ja else 'en')}", 8)
    line(t("rec.citations"), 9.5, "bold")
    for c in rec.citations[:8]:
        line(f"· {c}", 7.5)
    y -= 0.004
    line(
        f"{t('report.model')}: {row.model} v{row.model_version} · {t('report.inputs')}: {rec.inputs_sha256 or '—'}",
        7.5,
    )
    line(f"{t('report.computed')}: {row.created_by}, {loc.stamp(row.created_at)}", 7.5)
    if row.decided_by:
        line(
            f"{t('report.decided')}: {t('rec.status.' + row.status)} — {row.decided_by}, {loc.stamp(row.decided_at)}"
            + (f" — {t('rec.reason')}: {row.decision_reason}" if row.decision_reason else ""),
            7.5,
        )
    else:
        line(f"{t('report.decided')}: —", 7.5)
    fig.text(0.06, 0.02, _wrap(t("app.disclaimer"), 120), fontproperties=font, fontsize=6.5, color="#5b6775")
    buffer = io.BytesIO()
    if png:  # a preview of the same page (tests, documentation)
        fig.savefig(buffer, format="png", dpi=70)
        return buffer.getvalue()
    with matplotlib.rc_context({"pdf.fonttype": 42}):
        with PdfPages(
            buffer,
            metadata={
                "Title": f"ifxdose recommendation {row.id} for {code}",
                "Subject": f"inputs_sha256 {rec.inputs_sha256}",
                "Creator": "ifxdose clinic",
            },
        ) as pdf:
            pdf.savefig(fig)
    return buffer.getvalue()
