"""Loading the evidence base: one TOML file per seed item in ``data/``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from ifxdose.core.errors import InputError
from ifxdose.domain.evidence.models import Study


def _data_files() -> dict[str, str]:
    folder = resources.files("ifxdose.domain.evidence") / "data"
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".toml")}


def _seed_order(study: Study) -> int:
    return int(study.seed_tag[1:])


@lru_cache(maxsize=1)
def _studies() -> tuple[Study, ...]:
    studies = []
    for filename, text in sorted(_data_files().items()):
        study = Study.model_validate(tomllib.loads(text))
        if filename != f"{study.id}.toml":
            raise ValueError(f"{filename}: file name must be the study id ({study.id}.toml)")
        studies.append(study)
    names = [s.id for s in studies] + [s.key for s in studies] + [s.seed_tag for s in studies]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"evidence ids/keys/seed tags repeat: {repeated}")
    return tuple(sorted(studies, key=_seed_order))


def load_studies() -> list[Study]:
    """Every record, in seed order (S0, S1, …); parsed and validated once, then cached."""
    return list(_studies())


def get_study(id_or_key: str) -> Study:
    """A record by id ('S4-attract-1999'), key ('attract') or seed tag ('S4'), any case."""
    wanted = id_or_key.strip().lower()
    for study in _studies():
        if wanted in (study.id.lower(), study.key, study.seed_tag.lower()):
            return study
    known = ", ".join(s.id for s in _studies())
    raise InputError("study", id_or_key, f"known studies are {known} (or their keys / seed tags)")


def cite(id_or_key: str) -> str:
    """How a policy or report cites a record: 'Maini 1999, Lancet 354:1932 [S4-attract-1999]'."""
    study = get_study(id_or_key)
    return f"{study.short_citation()} [{study.id}]"
