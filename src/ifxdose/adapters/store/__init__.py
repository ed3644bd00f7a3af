"""Storage: SQLAlchemy 2 tables, Alembic migrations shipped in the package, repository
functions that speak the domain's models (``PatientHistory`` and its entries).

>>> store = open_store("sqlite:///clinic.sqlite3")        # migrates to the newest schema
>>> import_history(store, history, user="alice")
>>> patient_history(store, "RA-0001") == history
"""

from ifxdose.adapters.store.audit import audit_trail
from ifxdose.adapters.store.cache import cached, cached_many, claim, data_state, data_versions, put_cached
from ifxdose.adapters.store.db import Store, open_store
from ifxdose.adapters.store.errors import Conflict, NotFound
from ifxdose.adapters.store.limiter import forget_attempts, reserve_attempt
from ifxdose.adapters.store.recommendations import (
    accepted_plan,
    accepted_rows,
    chosen_option,
    decide,
    history_hash,
    is_superseded,
    page_records,
    recommendations,
    save_recommendation,
    stored_recommendation,
    taken_option,
)
from ifxdose.adapters.store.records import (
    ENTRY_KINDS,
    PatientSummary,
    add_entries,
    add_entry,
    all_histories,
    amend_entry,
    create_patient,
    entry_rows,
    histories,
    import_history,
    list_patients,
    patient_history,
    patient_records,
    row_entry,
    set_baseline_tnf,
    void_entry,
)
from ifxdose.adapters.store.users import (
    LOCALES,
    ROLES,
    WRITER_ROLES,
    authenticate,
    create_user,
    end_sessions,
    get_user,
    record_sign_in,
    set_locale,
)

__all__ = [
    "Conflict",
    "ENTRY_KINDS",
    "LOCALES",
    "NotFound",
    "PatientSummary",
    "ROLES",
    "Store",
    "WRITER_ROLES",
    "accepted_plan",
    "accepted_rows",
    "add_entries",
    "add_entry",
    "all_histories",
    "amend_entry",
    "audit_trail",
    "authenticate",
    "cached",
    "cached_many",
    "chosen_option",
    "claim",
    "create_patient",
    "create_user",
    "data_state",
    "data_versions",
    "decide",
    "end_sessions",
    "entry_rows",
    "forget_attempts",
    "get_user",
    "histories",
    "history_hash",
    "import_history",
    "is_superseded",
    "list_patients",
    "open_store",
    "page_records",
    "patient_history",
    "patient_records",
    "put_cached",
    "recommendations",
    "record_sign_in",
    "reserve_attempt",
    "row_entry",
    "save_recommendation",
    "set_baseline_tnf",
    "set_locale",
    "stored_recommendation",
    "taken_option",
    "void_entry",
]
