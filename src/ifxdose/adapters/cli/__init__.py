"""The ``ifxdose`` command line. Each sub-module registers its commands on ``app``.

Bad input raises :class:`ifxdose.core.errors.InputError` (or a pydantic ValidationError)
anywhere below; :func:`main` turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

#: Every command: name -> (module that registers it on ``app``, one-line help). The help
#: lines are shown by ``ifxdose --help`` without importing the command modules (which pull in
#: scipy, pydantic, FastAPI ...); tests/test_cli_lazy.py checks this table against the
#: commands the modules really register, so the two cannot drift apart.
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("pk", "Simulate a regimen for one typical patient of a model."),
    "models": ("pk", "The population-PK model library."),
    "model": ("modelcmd", "Model files: check one in the general language, import a NONMEM control stream."),
    "demo": ("demo", "Simulate the Japanese label regimen for a 55 kg RA patient on MTX."),
    "estimate": ("estimate", "Estimate the patient's own PK (MAP, Laplace, SIR) from measured levels and ADA."),
    "recommend": (
        "estimate",
        "Recommend the next dose and interval: PTA, predicted trough, cost, label flags, rationale, next visit.",
    ),
    "advise": ("dosing", "Advise the next infusion (or stop/switch) for a patient under a policy."),
    "regimen": ("dosing", "Check a regimen against the label, cost it, or lay out its calendar."),
    "score": ("score", "RA disease activity and response: DAS28, SDAI, CDAI, Boolean, EULAR, ACR, Paulus."),
    "evidence": ("evidence", "The evidence base: the seed's studies (S0–S15) with citations, arms and outcomes."),
    "trial": ("trial", "Replicate the seed's trials (arms, policies, published vs simulated)."),
    "fhir": ("fhir", "Import a FHIR R4/R4B Bundle as a patient history, or export one."),
    "serve": ("serve", "Start the clinic web app."),
    "clinic-user": (
        "serve",
        "Add a local account to the clinic database (password from IFXDOSE_NEW_PASSWORD or a prompt).",
    ),
}


class LazyGroup(TyperGroup):
    """The top-level group: lists commands from :data:`COMMANDS`, imports a module only to run it.

    ``ifxdose --help`` shows stub commands carrying the help line; resolving a command name
    (running it, or its own ``--help``) imports its module, which registers the real command
    on ``app``, and returns that command.
    """

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> TyperCommand | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1], short_help=COMMANDS[cmd_name][1])

    def resolve_command(self, ctx: typer.Context, args: list[str]):
        name = args[0] if args else None
        if name in COMMANDS and name not in self.commands:
            self.commands[name] = load_command(name)
        return super().resolve_command(ctx, args)


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import the module that registers ``name`` and return the real (typer) command."""
    importlib.import_module(f"ifxdose.adapters.cli.{COMMANDS[name][0]}")
    return typer.main.get_group(app).commands[name]


app = typer.Typer(
    name="ifxdose",
    help="Infliximab dosing for rheumatoid arthritis.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=LazyGroup,
)


@app.callback()
def _root() -> None:
    """Infliximab dosing for rheumatoid arthritis."""


def _one_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "input"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)


_PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_plugin_loader() -> None:
    """With pydantic's plugins disabled, skip importing the module that would find them.

    pydantic imports ``pydantic.plugin._loader`` when it builds its first validator, and that
    module imports ``importlib.metadata`` (email, zipfile, csv: about 6 % of `ifxdose score`'s
    start-up) even when ``PYDANTIC_DISABLE_PLUGINS`` says its ``get_plugins()`` will return no
    plugin. This stand-in answers ``get_plugins()`` with no plugin, as the real one does then;
    any other name (a later pydantic) imports the real module and is read from it, so nothing
    breaks if pydantic changes: it only gets slower again.
    """
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in ("__all__", "1", "true") or _PLUGIN_LOADER in sys.modules:
        return
    import types

    stand_in = types.ModuleType(_PLUGIN_LOADER)

    def get_plugins() -> tuple[()]:
        return ()

    def real(name: str) -> object:
        if name.startswith("__"):  # the import system asks for __path__, __spec__ ...: a plain module
            raise AttributeError(name)
        sys.modules.pop(_PLUGIN_LOADER, None)
        return getattr(importlib.import_module(_PLUGIN_LOADER), name)

    stand_in.get_plugins = get_plugins  # type: ignore[attr-defined]
    stand_in.__getattr__ = real  # type: ignore[method-assign]
    sys.modules[_PLUGIN_LOADER] = stand_in


def main() -> None:
    """Console-script entry point: run the app, map bad input to exit code 2."""
    # pydantic looks for plugins (an entry-point scan of every installed distribution) when the
    # first model is built; the CLI uses none. A user who wants them sets
    # PYDANTIC_DISABLE_PLUGINS to an empty value (then the real loader is imported and scans).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _no_plugin_loader()
    try:
        app()
    except Exception as exc:
        from pydantic import ValidationError  # imported here: `ifxdose --help` never pays for it

        from ifxdose.core.errors import InputError, MissingExtraError, missing_extra

        if isinstance(exc, ModuleNotFoundError) and missing_extra(exc) is not None:
            exc = missing_extra(exc)
        if isinstance(exc, (InputError, ValidationError, MissingExtraError)):
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        if os.environ.get("IFXDOSE_DEBUG"):  # a defect, not bad input: one line unless debugging
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set IFXDOSE_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)
