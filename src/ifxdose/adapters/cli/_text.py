"""Plain-text and JSON output of result models for the CLI, without importing rich.

``ifxdose score ...`` must start in under 0.5 s (issue 14); rich's console and table modules
cost about a sixth of that command's import time, and a score is a short key/value list, so
these tables are laid out here with ``str.ljust``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel


def cell(value: Any) -> str:
    """One table cell: a dict of flags as ``key:yes/no``, a float at full precision, None as empty."""
    if isinstance(value, dict):
        return " ".join(f"{k}:{'yes' if v else 'no'}" for k, v in value.items())
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def format_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A titled table with left-aligned columns, a rule under the header, two spaces between columns."""
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([title, line(header), rule, *(line(r) for r in rows)])


def tables(title: str, data: dict[str, Any]) -> list[str]:
    """A field/value table for the scalars and one table per list of items (e.g. ACR components)."""
    scalars: list[list[str]] = []
    extra: list[str] = []
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            header = list(value[0].keys())
            extra.append(format_table(key, header, [[cell(row.get(k)) for k in header] for row in value]))
        else:
            scalars.append([key, cell(value)])
    return [format_table(title, ["field", "value"], scalars), *extra]


def emit_results(results: dict[str, BaseModel | None], as_json: bool) -> None:
    """Print the non-None results: one JSON object (the bare result when there is one), or tables."""
    shown = {name: r.model_dump(mode="json") for name, r in results.items() if r is not None}
    if as_json:
        import json  # here: a table needs no json module (start-up of `ifxdose score`)

        typer.echo(json.dumps(next(iter(shown.values())) if len(shown) == 1 else shown, indent=2))
        return
    typer.echo("\n\n".join(t for name, data in shown.items() for t in tables(name, data)))
