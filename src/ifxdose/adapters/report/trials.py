"""Plots and one self-contained HTML report of trial replications.

Per trial: a forest-style plot of every compared quantity in % (published value or range
vs the simulated median and 95 % interval), written as PNG and SVG, and a table. The HTML
embeds the PNGs as data URIs and has no external assets (works offline).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ifxdose.domain.trials.runner import TrialResult  # noqa: E402


def _fmt(x) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _published_span(row: dict) -> tuple[float, float] | None:
    text = row["published"]
    if not text:
        return None
    import re

    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text.split("(")[0].replace("of", ""))]
    if not nums:
        return None
    return (nums[0], nums[1]) if "–" in text.split("(")[0] else (nums[0], nums[0])


def forest_figure(result: TrialResult):
    """Published (black) vs simulated median and 95 % interval (blue: inside, red: outside), % rows only."""
    rows = [r for r in result.rows() if r["unit"] == "%" and r["simulated_median"] is not None]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * max(len(rows), 3) + 1.2))
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        colour = "tab:blue" if r["inside_95"] in (True, None) else "tab:red"
        ax.plot([r["simulated_low95"], r["simulated_high95"]], [y, y], color=colour, lw=2.5, alpha=0.7)
        ax.plot(r["simulated_median"], y, "o", color=colour)
        span = _published_span(r)
        if span:
            ax.plot(span, [y, y], "k|-", ms=10, lw=1.5) if span[0] != span[1] else ax.plot(span[0], y, "kD", ms=6)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{r['quantity']} — {r['arm'] or ''}"[:70] for r in reversed(rows)], fontsize=7)
    ax.set_xlabel("%  (black: published; colour: simulated median and 95% interval; red = published outside)")
    ax.set_title(f"{result.trial.name}: {result.replicates} replicates, seed {result.seed}", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def write_plots(result: TrialResult, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fig = forest_figure(result)
    paths = {ext: folder / f"{result.trial.name}.{ext}" for ext in ("png", "svg")}
    for ext, path in paths.items():
        fig.savefig(path, dpi=110 if ext == "png" else None)
    plt.close(fig)
    return paths


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _table_html(result: TrialResult) -> str:
    head = ("quantity", "arm", "role", "published", "simulated median", "95% interval", "inside", "source / note")
    body = []
    for r in result.rows():
        interval = (
            "—" if r["simulated_low95"] is None else f"{_fmt(r['simulated_low95'])}–{_fmt(r['simulated_high95'])}"
        )
        ins = {True: "yes", False: "<b>no</b>", None: "—"}[r["inside_95"]]
        cells = (
            r["quantity"],
            r["arm"] or "",
            r["role"],
            r["published"] or "—",
            _fmt(r["simulated_median"]),
            interval,
            ins,
            " ".join(x for x in (r["source"], r["note"]) if x),
        )
        body.append(
            "<tr>" + "".join(f"<td>{c if c.startswith('<b>') else html.escape(str(c))}</td>" for c in cells) + "</tr>"
        )
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(body) + "</table>"


CSS = (
    "body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}table{border-collapse:collapse;"
    "font-size:12px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#eee}"
)


def write_html(results: list[TrialResult], folder: Path, command: str = "") -> Path:
    """One HTML file for all trials (plots embedded)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>ifxdose trial replication</title>"
        f"<style>{CSS}</style></head><body><h1>ifxdose trial replication</h1>"
    ]
    if command:
        parts.append(f"<p>Command: <code>{html.escape(command)}</code></p>")
    parts.append(
        "<ul>"
        + "".join(
            f"<li><a href='#{r.trial.name}'>{html.escape(r.trial.title)}</a>: {r.summary()['inside']} of "
            f"{r.summary()['compared']} published values inside the 95% interval</li>"
            for r in results
        )
        + "</ul>"
    )
    for r in results:
        png = write_plots(r, folder)["png"]
        parts.append(
            f"<h2 id='{r.trial.name}'>{html.escape(r.trial.title)}</h2>"
            f"<p>{r.replicates} replicates, seed {r.seed}, calibration v{html.escape(r.calibration_version)}, "
            f"n per arm: {html.escape(str(r.to_dict()['n_per_arm']))}</p>"
            + "".join(f"<p>{html.escape(n)}</p>" for n in r.trial.notes)
            + f"<img src='{_png_data_uri(png)}' alt='{r.trial.name}'>"
            + _table_html(r)
        )
    parts.append("</body></html>")
    path = folder / "trials.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
