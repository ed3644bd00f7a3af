"""The application-service layer: the use cases every adapter shares.

The web pages, the JSON API, CDS Hooks, the FHIR routes and the CLI call these functions
instead of assembling store reads and domain calls themselves (docs/architecture.md):

- ``ifxdose.app.clinic``: ``record_entries``, ``import_patient``, ``patient_view``,
  ``recommend_and_store``, ``recommendations_of``, ``accept_recommendation``, ``worklist``,
  ``current_plan``, ``history_and_plan``;
- ``ifxdose.app.fhir``: ``import_bundle`` (a FHIR Bundle into the store), ``export_patient``
  (a stored patient and its recommendation as a Bundle);
- ``ifxdose.app.auth``: ``sign_in`` (rate limited, audited), ``sign_out``, ``set_locale``,
  ``create_user``, ``get_user``, ``open_clinic`` (the clinic database, for the web app and the CLI);
- ``ifxdose.app.exchange``: FHIR without the store (read a Bundle, write one, draft infliximab
  orders, the proposed MedicationRequest, the prefetch's Observation codes) for CDS Hooks and the CLI;
- ``ifxdose.app.reports``: ``plot_profile`` (PNG), ``write_trial_report`` (HTML);
- ``ifxdose.app.scale``: ``parse_scheduler``, ``executor``, ``emcee_pool``, ``map_tasks`` (Dask);
- ``ifxdose.app.engine``: the ``Recommender`` the use cases call (the domain's by default).

Floors (import-linter, pyproject.toml): the adapters that face users (``adapters.web``,
``adapters.cli``, independent of each other) sit above ``app`` and import none of the adapters
below it; ``app`` uses those: ``adapters.store`` (persistence), ``adapters.fhir`` (FHIR mapping:
pure conversion), ``adapters.plots`` and ``adapters.report`` (files for people, matplotlib),
``adapters.scale`` (Dask), and the domain. Nothing below imports ``app``. Submodules are
imported on use (the CLI starts fast).
"""
