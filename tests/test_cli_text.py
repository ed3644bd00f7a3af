"""The CLI's plain-text tables (``adapters/cli/_text.py``): layout checked against hand-written text."""

from __future__ import annotations

from ifxdose.adapters.cli._text import cell, format_table, tables


def test_columns_are_padded_to_the_widest_cell_and_ruled_under_the_header():
    text = format_table("t", ["field", "value"], [["a", "1"], ["longer", "22"]])
    assert text.splitlines() == ["t", "field   value", "------  -----", "a       1", "longer  22"]


def test_cells_show_flags_full_precision_floats_and_empty_none():
    assert cell({"20": True, "50": False}) == "20:yes 50:no"
    assert cell(0.1 + 0.2) == "0.30000000000000004"  # repr, not a rounded display
    assert cell(None) == "" and cell(3) == "3"


def test_a_list_of_items_gets_its_own_table_after_the_scalars():
    out = tables("acr", {"level": 20, "components": [{"name": "tjc68", "pct": 41.5}, {"name": "sjc66", "pct": 50.0}]})
    assert out[0].splitlines()[-1] == "level  20"
    assert out[1].splitlines() == ["components", "name   pct", "-----  ----", "tjc68  41.5", "sjc66  50.0"]
