"""Routers: one per concern, combined here. Pages render templates; ``api`` mirrors them as JSON."""

from fastapi import FastAPI

from ifxdose.adapters.web.routes import api, auth, cds, docs, evidence, fhir, patients, records


def include_routes(app: FastAPI) -> None:
    for module in (auth, patients, records, evidence, docs):
        app.include_router(module.router)
    app.include_router(api.router, prefix="/api/v1")
    app.include_router(fhir.router, prefix="/api/v1")
    app.include_router(cds.router)
