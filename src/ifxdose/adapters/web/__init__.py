"""The clinic web app: HTML pages, the JSON API (/api/v1), FHIR routes and CDS Hooks, all
calling the use cases of ``ifxdose.app`` (docs/architecture.md). Needs the ``[clinic]`` extra."""
