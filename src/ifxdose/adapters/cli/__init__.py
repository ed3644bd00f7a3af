"""The ``ifxdose`` command line. Each sub-module registers its commands on ``app``.

Bad input raises :class:`ifxdose.core.errors.InputError` (or a pydantic ValidationError)
anywhere below; :func:`main` turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(
    name="ifxdose",
    help="Infliximab dosing for rheumatoid arthritis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Command modules register themselves on `app` when imported.
from ifxdose.adapters.cli import pk as _pk  # noqa: E402,F401
from ifxdose.adapters.cli import demo as _demo  # noqa: E402,F401
from ifxdose.adapters.cli import tdm as _tdm  # noqa: E402,F401
from ifxdose.adapters.cli import score as _score  # noqa: E402,F401
from ifxdose.adapters.cli import dosing as _dosing  # noqa: E402,F401
from ifxdose.adapters.cli import evidence as _evidence  # noqa: E402,F401
from ifxdose.adapters.cli import trial as _trial  # noqa: E402,F401
from ifxdose.adapters.cli import fhir as _fhir  # noqa: E402,F401
from ifxdose.adapters.cli import serve as _serve  # noqa: E402,F401


def _one_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "input"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


def main() -> None:
    """Console-script entry point: run the app, map bad input to exit code 2."""
    from pydantic import ValidationError

    from ifxdose.core.errors import InputError

    try:
        app()
    except (InputError, ValidationError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # a defect, not bad input: one line unless debugging
        if os.environ.get("IFXDOSE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set IFXDOSE_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)
