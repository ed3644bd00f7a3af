"""Which incoming codes mean what: the configurable code map of the FHIR importer.

Three layers, later ones winning for the same (system, code):

1. the codes ifxdose itself writes (``codes.py``);
2. import-only alternatives shipped in ``data/codes.toml`` (other LOINC terms, product
   RxCUIs, ATC L01BA01);
3. a clinic's own file (``--mapping FILE.toml``), same format, typically the local
   laboratory codes for the infliximab level and the anti-drug antibody test::

       [[observation]]
       kind = "ada"
       system = "urn:oid:1.2.392.200119.4.504"   # e.g. a JLAC10 code
       code = "5J999000002327101"
       source = "our laboratory catalogue"

       [[medication]]
       kind = "infliximab"
       system = "https://hospital.example/drug-codes"
       code = "IFX-BS1"
       product = "Infliximab BS (CT-P13)"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ifxdose.adapters.fhir import codes as c
from ifxdose.core.errors import InputError

OBSERVATION_KINDS = ("ifx_level", "ada", "crp", "esr", "albumin", "weight")
MEDICATION_KINDS = ("infliximab", "methotrexate")

_BUILT_IN_OBSERVATIONS = {
    c.LOINC_IFX.key: "ifx_level",
    c.ADA.key: "ada",
    c.LOINC_CRP.key: "crp",
    c.LOINC_ESR.key: "esr",
    c.LOINC_ALBUMIN.key: "albumin",
    c.LOINC_WEIGHT.key: "weight",
}
_BUILT_IN_MEDICATIONS = {
    c.RXNORM_IFX.key: ("infliximab", None),
    c.ATC_IFX.key: ("infliximab", None),
    c.RXNORM_MTX.key: ("methotrexate", None),
    c.ATC_MTX.key: ("methotrexate", None),
}


@dataclass
class CodeMap:
    """(system, code) -> kind, for observations and medications."""

    observations: dict[tuple[str, str], str] = field(default_factory=dict)
    medications: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)

    def observation_kind(self, codings: Iterable[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
        """The kind of the first coding that is mapped, with that coding."""
        for coding in codings:
            kind = self.observations.get((coding.get("system", ""), coding.get("code", "")))
            if kind:
                return kind, coding
        return None

    def medication_kind(self, codings: Iterable[dict[str, Any]]) -> tuple[str, str | None] | None:
        """(kind, product name or None) of the first mapped coding."""
        for coding in codings:
            found = self.medications.get((coding.get("system", ""), coding.get("code", "")))
            if found:
                return found
        return None

    def merged(self, entries: dict[str, Any], origin: str) -> "CodeMap":
        """A new map with the ``[[observation]]`` / ``[[medication]]`` entries of a TOML document."""
        result = CodeMap(dict(self.observations), dict(self.medications))
        for section, allowed in (("observation", OBSERVATION_KINDS), ("medication", MEDICATION_KINDS)):
            for i, entry in enumerate(entries.get(section, [])):
                where = f"{origin}: {section}[{i}]"
                key, kind = _entry_key(entry, allowed, where)
                if section == "observation":
                    result.observations[key] = kind
                else:
                    result.medications[key] = (kind, entry.get("product"))
        unknown = sorted(set(entries) - {"observation", "medication"})
        if unknown:
            raise InputError(origin, unknown, "allowed tables are [[observation]] and [[medication]]")
        return result


def _entry_key(entry: Any, allowed: tuple[str, ...], where: str) -> tuple[tuple[str, str], str]:
    if not isinstance(entry, dict):
        raise InputError(where, entry, "expected a table with kind, system and code")
    kind, system, code = entry.get("kind"), entry.get("system"), entry.get("code")
    if kind not in allowed:
        raise InputError(f"{where}.kind", kind, "allowed kinds are " + ", ".join(allowed))
    for name, value in (("system", system), ("code", code)):
        if not isinstance(value, str) or not value:
            raise InputError(f"{where}.{name}", value, "a non-empty string")
    return (system, code), kind


def _read_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(origin, "TOML", f"a valid TOML file ({exc})") from None


def default_mapping() -> CodeMap:
    """Built-in codes plus ``data/codes.toml``."""
    text = resources.files("ifxdose.adapters.fhir").joinpath("data/codes.toml").read_text(encoding="utf-8")
    built_in = CodeMap(dict(_BUILT_IN_OBSERVATIONS), dict(_BUILT_IN_MEDICATIONS))
    return built_in.merged(_read_toml(text, "codes.toml"), "codes.toml")


def load_mapping(user_file: str | Path | None = None) -> CodeMap:
    """The default map, overridden by a user TOML file if given."""
    mapping = default_mapping()
    if user_file is None:
        return mapping
    path = Path(user_file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("mapping", str(path), f"a readable TOML file ({exc.strerror})") from None
    return mapping.merged(_read_toml(text, str(path)), str(path))
