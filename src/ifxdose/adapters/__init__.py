"""Thin adapters: CLI, web (pages, JSON API, FHIR routes, CDS Hooks), store, FHIR mapping, report, plots.

No clinical logic lives here; use cases are in :mod:`ifxdose.app` (docs/architecture.md)."""
