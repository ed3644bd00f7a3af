"""``ifxdose evidence list|show``: the seed's studies (S0–S15) from the command line.

Each command calls one function of :mod:`ifxdose.domain.evidence` and renders a Rich
table or, with ``--json``, the record itself. An unknown id raises InputError, which
``ifxdose.adapters.cli.main`` turns into one line on stderr and exit code 2.
"""

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ifxdose.adapters.cli import app
from ifxdose.domain.evidence import Study, get_study, load_studies

console = Console()
evidence_app = typer.Typer(
    help="The evidence base: the seed's studies (S0–S15) with citations, arms and outcomes.", no_args_is_help=True
)
app.add_typer(evidence_app, name="evidence")

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def study_summary(study: Study) -> dict:
    return {
        "id": study.id,
        "seed_tag": study.seed_tag,
        "key": study.key,
        "kind": study.kind,
        "short_citation": study.short_citation(),
        "design": study.design,
        "n": study.population.n,
    }


def study_detail(study: Study) -> dict:
    return {
        **study.model_dump(mode="json"),
        "short_citation": study.short_citation(),
        "full_citation": study.citation.full(),
    }


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Table:
    table = Table(title=title, show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _arm_rows(study: Study) -> list[tuple[str, ...]]:
    rows = []
    for arm in study.arms:
        n = "" if arm.n is None else str(arm.n)
        dosing = arm.regimen or arm.regimen_note or ""
        rows.append((arm.name, n, dosing, arm.co_medication or ""))
        rows += [(f"  └ {v.when}", "" if v.n is None else str(v.n), v.regimen, "") for v in arm.variants]
    return rows


def _outcome_rows(study: Study) -> list[tuple[str, ...]]:
    return [
        (
            o.name,
            o.arm or "",
            o.comparator or "",
            o.value_text(),
            o.unit,
            o.time_point,
            "seed" if o.source == "seed" else "publication",
        )
        for o in study.outcomes
    ]


@evidence_app.command("list")
def evidence_list(as_json: Json = False) -> None:
    """List every record: id, seed tag, short citation, design and n."""
    rows = [study_summary(s) for s in load_studies()]
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    console.print(
        _table(
            "ifxdose evidence base",
            ("id", "tag", "citation", "design", "n"),
            [
                (r["id"], r["seed_tag"], r["short_citation"], r["design"], "" if r["n"] is None else str(r["n"]))
                for r in rows
            ],
        )
    )


@evidence_app.command("show")
def evidence_show(
    study_id: Annotated[str, typer.Argument(metavar="ID", help="Record id, key or seed tag (e.g. S4, attract).")],
    as_json: Json = False,
) -> None:
    """Show one record: citation, population, arms with regimens, outcomes."""
    study = get_study(study_id)
    if as_json:
        print(json.dumps(study_detail(study), indent=2, ensure_ascii=False))
        return
    pop = study.population
    console.print(f"[bold]{study.id}[/bold] ({study.seed_tag}, key '{study.key}'): {study.title}")
    console.print(study.citation.full())
    console.print(f"Design: {study.design}")
    console.print(
        f"Population: n={pop.n if pop.n is not None else '—'}; {pop.description}"
        + (f"; {pop.country}" if pop.country else "")
        + (f"; {pop.mtx_status}" if pop.mtx_status else "")
    )
    if pop.n_note:
        console.print(f"  note: {pop.n_note}")
    console.print(_table("arms", ("arm", "n", "regimen", "co-medication"), _arm_rows(study)))
    console.print(
        _table("outcomes", ("outcome", "arm", "vs", "value", "unit", "time point", "source"), _outcome_rows(study))
    )
    for line in [*study.notes, *study.assumptions]:
        console.print(f"• {line}")
    console.print(f"Verification: {study.verification}")
