"""Unit conversions against hand arithmetic (the factors are written out, not taken from units.py).

(This folder has no ``__init__.py`` on purpose: a regular package named ``fhir`` would
shadow the ``fhir.resources`` namespace package.)
"""

from __future__ import annotations

import pytest

from ifxdose.adapters.fhir.units import ada_unit_code, convert
from ifxdose.core.errors import InputError


@pytest.mark.parametrize(
    "value, unit, target, expected",
    [
        (4.2, "ug/mL", "mg/L", 4.2),  # 1 ug/mL = 1e-6 g / 1e-3 L = 1e-3 g/L = 1 mg/L
        (4.2, "µg/mL", "mg/L", 4.2),  # micro sign read as UCUM 'u'
        (4.2, "mcg/mL", "mg/L", 4.2),  # US 'mcg' read as 'ug'
        (850, "ng/mL", "mg/L", 0.85),  # 850 ng/mL = 850e-9 g / 1e-3 L = 0.85e-3 g/L = 0.85 mg/L
        (1.2, "mg/dL", "mg/L", 12.0),  # CRP: 1.2 mg per 0.1 L = 12 mg per L
        (0.3, "mg/dL", "mg/L", 3.0),  # 0.3 x 10
        (35, "g/L", "g/dL", 3.5),  # albumin: 35 g per L = 3.5 g per 0.1 L
        (41, "g/L", "g/dL", 4.1),
        (4100, "mg/dL", "g/dL", 4.1),  # 4100 mg = 4.1 g
        (121, "[lb_av]", "kg", 54.88467677),  # 121 x 0.45359237 kg (avoirdupois pound, exact by definition)
        (56000, "g", "kg", 56.0),
        (0.165, "g", "mg", 165.0),
        (2.5, "h", "min", 150.0),
        (38, "mm/h", "mm/h", 38.0),
        (12, "ng/L", "pg/mL", 12.0),  # 1 ng/L = 1e-9 g / 1 L = 1e-12 g / 1e-3 L = 1 pg/mL
    ],
)
def test_conversion_matches_hand_arithmetic(value, unit, target, expected):
    assert convert(value, unit, target, where="Observation/x valueQuantity", what="test") == pytest.approx(
        expected, rel=1e-12
    )


def test_same_unit_is_exact():
    x = 0.1 + 0.2  # a float with a long expansion survives untouched
    assert convert(x, "mg/L", "mg/L", where="w", what="t") == x
    assert convert(x, "ug/mL", "mg/L", where="w", what="t") == x


@pytest.mark.parametrize("unit", ["mmol/L", "nmol/L", "lb", "%", "mg", ""])
def test_unknown_unit_names_the_resource_and_the_code(unit):
    with pytest.raises(InputError) as err:
        convert(5, unit, "mg/L", where="Observation/abc valueQuantity", what="LOINC 1988-5")
    message = str(err.value)
    assert message.startswith("Observation/abc valueQuantity.code:")
    assert "LOINC 1988-5" in message and "mg/L" in message


def test_ada_units():
    assert ada_unit_code("AU/mL", where="w") == "[arb'U]/mL"
    assert ada_unit_code("µg/L", where="w") == "ug/L"
    with pytest.raises(InputError, match="titre units"):
        ada_unit_code("1:40", where="ada")
