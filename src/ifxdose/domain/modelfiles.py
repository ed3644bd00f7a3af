"""Find and load a model by library name, by file path, or from the user's models directory.

A clinic adds a model without touching the package: put ``NAME.toml`` (library format or
the general language, docs/model-language.md) in a directory and point
``IFXDOSE_MODELS_DIR`` at it (several directories separated by ``os.pathsep``), or pass the
file's path. Library names come first; a user file may not reuse a library name.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ifxdose.core.errors import InputError
from ifxdose.core.pk.general import GeneralModel, from_pkmodel, parse_general_model
from ifxdose.core.pk.model import PKModel
from ifxdose.core.pk.parse import parse_model

MODELS_DIR_ENV = "IFXDOSE_MODELS_DIR"

#: The default model for RA; the choice is justified in docs/models.md.
DEFAULT_RA_MODEL = "ifxdose_ra_mbma"


def default_model_name() -> str:
    return DEFAULT_RA_MODEL


@lru_cache(maxsize=1)
def _library_files() -> dict[str, str]:
    """NAME -> text of every model file shipped in the package (``domain/data/models/*.toml``)."""
    folder = resources.files("ifxdose.domain") / "data" / "models"
    return {p.name[:-5]: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".toml")}


def list_models() -> list[str]:
    """Names of the models in the library, sorted."""
    return sorted(_library_files())


@lru_cache(maxsize=None)
def load_library_model(name: str) -> PKModel:
    """Load a library model by name; InputError listing the known names otherwise."""
    files = _library_files()
    if name not in files:
        raise InputError("model", name, f"known models are {', '.join(sorted(files))}")
    return parse_model(tomllib.loads(files[name]), name)


def models_dirs() -> list[Path]:
    raw = os.environ.get(MODELS_DIR_ENV, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def user_models() -> dict[str, Path]:
    """NAME -> path of every ``*.toml`` in the models directories (first directory wins)."""
    out: dict[str, Path] = {}
    for d in models_dirs():
        if not d.is_dir():
            raise InputError(MODELS_DIR_ENV, str(d), "every entry must be an existing directory")
        for p in sorted(d.glob("*.toml")):
            out.setdefault(p.stem, p)
    return out


def model_from_text(text: str, name: str) -> PKModel | GeneralModel:
    """Parse a model file's text: the general language if it says so, else the library format."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("model", name, f"not valid TOML ({exc})") from None
    if "language" in doc:
        return parse_general_model(doc, name, text)
    try:
        return parse_model(doc, name)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            "model",
            name,
            f"not a valid library-format model ({exc}); see docs/model-language.md for the general language",
        ) from None


def load_model(name_or_path: str | os.PathLike[str]) -> PKModel | GeneralModel:
    """A library model by name, a file by path, or NAME.toml from $IFXDOSE_MODELS_DIR."""
    s = str(name_or_path)
    if s in list_models():
        return load_library_model(s)
    path = Path(s)
    if s.endswith(".toml") or os.sep in s:
        if not path.is_file():
            raise InputError("model", s, "no such model file")
        return model_from_text(path.read_text(encoding="utf-8"), path.stem)
    users = user_models()
    if s in users:
        return model_from_text(users[s].read_text(encoding="utf-8"), s)
    known = sorted(set(list_models()) | set(users))
    raise InputError(
        "model",
        s,
        f"known models are {', '.join(known)} (or give a path to a .toml file; user models go in ${MODELS_DIR_ENV})",
    )


def as_general(model: PKModel | GeneralModel) -> GeneralModel:
    """The model in the general language (library models are translated; linear ones only)."""
    return model if isinstance(model, GeneralModel) else from_pkmodel(model)
