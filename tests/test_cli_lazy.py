"""The lazy top-level CLI: its command table matches what the modules register, and
``ifxdose --help`` imports none of the heavy libraries (issue 14: start-up under 0.5 s)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest
import typer.main
from typer.testing import CliRunner

import ifxdose.adapters.cli as cli


def _all_registered() -> dict[str, str]:
    """Import every command module, then read the real commands off the Typer app."""
    for mod in pkgutil.iter_modules(cli.__path__):
        __import__(f"ifxdose.adapters.cli.{mod.name}")
    group = typer.main.get_group(cli.app)
    return {name: cmd.get_short_help_str(limit=1000) for name, cmd in group.commands.items()}


def test_command_table_matches_the_registered_commands():
    registered = _all_registered()
    assert set(registered) == set(cli.COMMANDS), "add new commands to COMMANDS in adapters/cli/__init__.py"
    for name, (_module, help_line) in cli.COMMANDS.items():
        assert registered[name] == help_line, name


def test_each_command_is_found_in_the_module_the_table_names():
    for name, (module, _help) in cli.COMMANDS.items():
        command = cli.load_command(name)
        callback_module = getattr(command.callback, "__module__", "") or ""
        if command.callback is not None and callback_module.startswith("ifxdose.adapters.cli."):
            assert callback_module.endswith(module), (name, callback_module)


def test_help_lists_every_command_and_a_subcommand_runs():
    runner = CliRunner()
    out = runner.invoke(cli.app, ["--help"])
    assert out.exit_code == 0
    for name in cli.COMMANDS:
        assert name in out.stdout
    sdai = runner.invoke(
        cli.app,
        [
            "score",
            "sdai",
            "--tjc28",
            "1",
            "--sjc28",
            "1",
            "--ptga-mm",
            "10",
            "--phga-mm",
            "10",
            "--crp-mg-l",
            "5",
            "--json",
        ],
    )
    assert sdai.exit_code == 0, sdai.output
    assert json.loads(sdai.stdout)["value"] == 4.5  # 1 + 1 + 1.0 cm + 1.0 cm + 0.5 mg/dL, by hand
    assert runner.invoke(cli.app, ["no-such-command"]).exit_code == 2


def test_help_imports_no_heavy_library():
    # One subprocess (a fresh interpreter is the only honest way to see what an import pulls in).
    code = (
        "import sys; sys.argv = ['ifxdose', '--help']\n"
        "from ifxdose.adapters.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'scipy', 'pydantic', 'fastapi', 'sqlalchemy', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY=", out[-300:]


@pytest.mark.parametrize(
    "argv, not_loaded",
    [
        # simulating a linear model needs neither the ODE solver nor the estimation package
        (
            ["simulate", "--regimen", "3 mg/kg at weeks 0,2,6", "--weight-kg", "60", "--json"],
            ("scipy.integrate", "scipy.stats", "scipy.special", "ifxdose.core.estimation"),
        ),
        # one score loads its own measure, not every measure (nor numpy); its table is plain text
        # (no rich)
        (
            ["score", "das28-crp", "--tjc28", "4", "--sjc28", "5", "--crp-mg-l", "7", "--ptga-mm", "40"],
            ("numpy", "ifxdose.domain.scores._assess", "ifxdose.domain.scores.acr", "rich"),
        ),
    ],
)
def test_a_command_imports_only_what_it_needs(argv, not_loaded):
    code = (
        f"import sys; sys.argv = ['ifxdose', *{argv!r}]\n"
        "from ifxdose.adapters.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        f"print('LOADED=' + ','.join(m for m in {not_loaded!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "LOADED=", out[-300:]


def test_a_missing_optional_package_names_the_extra_to_install(monkeypatch, tmp_path, capsys):
    # Hide matplotlib (the [plot] extra) as if it were not installed: `import matplotlib`
    # then raises ModuleNotFoundError, which main() must turn into one line naming the extra.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "ifxdose.adapters.plots", raising=False)
    monkeypatch.setattr(sys, "argv", ["ifxdose", "demo", "--out-dir", str(tmp_path)])
    try:
        cli.main()
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert "ifxdose[plot]" in err and "Traceback" not in err
