"""What `ifxdose score ...` skips at start-up (issue 14: median <= 0.42 s, benchmarks/cli_startup.py),
and that skipping it changes no answer.

- Command modules keep their annotations as objects (no ``from __future__ import annotations``):
  typer reads every command's signature when it builds the command group, and string
  annotations cost a compile and an eval each (about 8x the group's build time).
- With pydantic's plugins disabled (``main()`` disables them unless the user set
  ``PYDANTIC_DISABLE_PLUGINS``), ``pydantic.plugin._loader`` and the ``importlib.metadata`` it
  imports are not loaded: a stand-in answers ``get_plugins()`` with no plugin, as the real one
  does then, and hands any other name to the real module.
"""

from __future__ import annotations

import ast
import json
import os
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import ifxdose.adapters.cli as cli

#: The adapters below ``app`` and the app modules that route to them: neither `ifxdose --help` nor
#: `ifxdose score` needs them (the CLI reaches them only through ``app``, lazily, in the commands
#: that write FHIR, plots, reports or use Dask).
PORTS = (
    "ifxdose.adapters.fhir",
    "ifxdose.adapters.report",
    "ifxdose.adapters.plots",
    "ifxdose.adapters.scale",
    "ifxdose.adapters.store",
    "ifxdose.app.exchange",
    "ifxdose.app.reports",
    "ifxdose.app.scale",
    "ifxdose.app.fhir",
)
SCORE = ["score", "das28-crp", "--tjc28", "4", "--sjc28", "5", "--crp-mg-l", "7", "--ptga-mm", "40", "--json"]


def _run(argv: list[str], env: dict[str, str]) -> dict:
    """``main()`` in a fresh interpreter (the only honest view of what a start-up imports)."""
    code = (
        f"import json, sys; sys.argv = ['ifxdose', *{argv!r}]\n"
        "from ifxdose.adapters.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "loader = sys.modules.get('pydantic.plugin._loader')\n"
        "print(json.dumps({'metadata': 'importlib.metadata' in sys.modules,\n"
        "                  'loader_file': getattr(loader, '__file__', None),\n"
        f"                  'ports': [m for m in {PORTS!r} if m in sys.modules]}}))"
    )
    environ = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"} | env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=environ)
    lines = out.stdout.strip().splitlines()
    return {"result": json.loads("\n".join(lines[:-1])), **json.loads(lines[-1])}


@pytest.mark.parametrize(
    "env, skipped",
    [({}, True), ({"PYDANTIC_DISABLE_PLUGINS": "1"}, True), ({"PYDANTIC_DISABLE_PLUGINS": ""}, False)],
)
def test_score_skips_the_plugin_scan_only_when_plugins_are_off(env, skipped):
    run = _run(SCORE, env)
    # DAS28-CRP(4) = 0.56*sqrt(4) + 0.28*sqrt(5) + 0.36*ln(7+1) + 0.014*40 + 0.96 = 4.0147 (by hand)
    assert run["result"]["value"] == pytest.approx(4.014698, abs=1e-6) and run["result"]["category"] == "moderate"
    assert run["metadata"] is not skipped
    assert (run["loader_file"] is None) is skipped  # the stand-in has no file; the real module has one
    assert run["ports"] == []


def test_help_imports_no_port():
    code = (
        "import sys; sys.argv = ['ifxdose', '--help']\n"
        "from ifxdose.adapters.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('PORTS=' + ','.join(m for m in {PORTS!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "PORTS=", out[-300:]


def test_the_stand_in_answers_like_the_real_loader_and_hands_other_names_on(monkeypatch):
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")
    real = sys.modules.pop(cli._PLUGIN_LOADER, None)
    try:
        cli._no_plugin_loader()
        stand_in = sys.modules[cli._PLUGIN_LOADER]
        assert isinstance(stand_in, types.ModuleType) and not hasattr(stand_in, "__file__")
        assert tuple(stand_in.get_plugins()) == ()
        # a name only the real module has: the real module is imported and answers
        assert stand_in.PYDANTIC_ENTRY_POINT_GROUP == "pydantic"
        assert getattr(sys.modules[cli._PLUGIN_LOADER], "__file__", None)
        assert tuple(sys.modules[cli._PLUGIN_LOADER].get_plugins()) == ()  # plugins off: none
    finally:
        if real is not None:
            sys.modules[cli._PLUGIN_LOADER] = real


def test_command_modules_keep_annotations_as_objects():
    folder = Path(cli.__file__).parent
    lazy = []
    for mod in pkgutil.iter_modules([str(folder)]):
        tree = ast.parse((folder / f"{mod.name}.py").read_text(encoding="utf-8"))
        registers = any(isinstance(node, ast.Attribute) and node.attr == "command" for node in ast.walk(tree))
        future = any(
            isinstance(node, ast.ImportFrom)
            and node.module == "__future__"
            and any(a.name == "annotations" for a in node.names)
            for node in tree.body
        )
        if registers and future:
            lazy.append(mod.name)
    assert lazy == [], f"typer evaluates string annotations on every start-up: drop the __future__ import in {lazy}"
