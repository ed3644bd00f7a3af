"""The scripts outside the package (benchmarks/, validation/) import names that exist.

They are not run by the suite (they take minutes), so a module move can break them silently: a
benchmark once failed with ``ImportError: cannot import name 'load_model' from 'ifxdose.core.pk'``
after the model files moved to the domain. Every ``from ifxdose... import name`` in them is checked
against the package, without running the script.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted([*ROOT.glob("benchmarks/*.py"), *ROOT.glob("validation/*.py")])


def _ifxdose_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ifxdose"):
            out += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            out += [(alias.name, "") for alias in node.names if alias.name.startswith("ifxdose")]
    return out


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_package_name_a_script_imports_exists(path):
    missing = []
    for module, name in _ifxdose_imports(path):
        mod = importlib.import_module(module)
        if name and not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ModuleNotFoundError:
                missing.append(f"{module}.{name}")
    assert not missing, f"{path.name} imports names that do not exist: {missing}"
