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
- ``ifxdose.app.engine``: the ``Recommender`` the use cases call (the domain's by default).

Floors (import-linter, pyproject.toml): the adapters that face users (``adapters.web``,
``adapters.cli``, independent of each other, neither importing the store) sit above ``app``; ``app`` uses the ports below
it, ``adapters.store`` (persistence) and ``adapters.fhir`` (FHIR mapping: pure conversion),
and the domain. Nothing below imports ``app``. Submodules are imported on use (the CLI starts fast).
"""
