"""The evidence pages: every study of the seed that a recommendation may cite."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ifxdose.adapters.web.deps import CurrentUser, StudyId, find_study
from ifxdose.adapters.web.render import render
from ifxdose.domain.evidence import load_studies

router = APIRouter(include_in_schema=False)


@router.get("/evidence")
def evidence_list(request: Request, user: CurrentUser):
    return render(request, "evidence_list.html", studies=load_studies())


@router.get("/evidence/{study_id}")
def evidence_page(request: Request, study_id: StudyId, user: CurrentUser):
    return render(request, "evidence.html", study=find_study(study_id))
