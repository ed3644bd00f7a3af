"""CDS Hooks 2.0 (https://cds-hooks.hl7.org) for the clinic app: discovery, the
``order-select`` / ``order-sign`` services for infliximab orders, the ``patient-view``
service for patients due a trough level, and feedback. Helpers only: requests are parsed
in ``request``, FHIR data gathered in ``prefetch``, the engine called in ``respond``
(``recommend`` / ``due_status`` — no clinical rule lives here), cards written in ``cards``.
FHIR itself (reading Bundles and draft orders, writing the proposed MedicationRequest) is
reached through ``ifxdose.app.exchange``, never ``ifxdose.adapters.fhir`` (import-linter).
The route is ``ifxdose.adapters.web.routes.cds``; docs/fhir.md "CDS Hooks" describes it."""
