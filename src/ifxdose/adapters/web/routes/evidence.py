"""The evidence pages: every study of the seed that a recommendation may cite."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from ifxdose.adapters.store import NotFound
from ifxdose.adapters.web.deps import CurrentUser
from ifxdose.adapters.web.render import render
from ifxdose.core.errors import InputError
from ifxdose.domain.evidence import get_study, load_studies

router = APIRouter(include_in_schema=False)
StudyId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@router.get("/evidence")
def evidence_list(request: Request, user: CurrentUser):
    return render(request, "evidence_list.html", studies=load_studies())


@router.get("/evidence/{study_id}")
def evidence_page(request: Request, study_id: StudyId, user: CurrentUser):
    return render(request, "evidence.html", study=find_study(study_id))


def find_study(study_id: str):
    try:
        return get_study(study_id)
    except InputError:
        raise NotFound("study", study_id) from None
