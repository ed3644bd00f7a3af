"""Every name ``import ifxdose`` promises resolves (the exports are lazy)."""

import pytest

import ifxdose


@pytest.mark.parametrize("name", ifxdose.__all__)
def test_export_resolves(name):
    assert getattr(ifxdose, name) is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        ifxdose.nope  # noqa: B018
