"""The API documentation as a server-rendered page (from the OpenAPI document; no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ifxdose.adapters.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request):
    spec = request.app.openapi()
    operations = [
        (path, method.upper(), op) for path, methods in spec["paths"].items() for method, op in methods.items()
    ]
    return render(request, "api_docs.html", spec=spec, operations=operations)
