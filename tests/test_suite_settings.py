"""The suite-wide test settings of tests/conftest.py: what they change, and that production
keeps what they replace (docs/development.md)."""

from __future__ import annotations

import pytest

from ifxdose.core.estimation import compiled
from ifxdose.core.pk import kernel


def test_production_passwords_use_the_rfc_9106_low_memory_argon2id_profile(
    tmp_path, monkeypatch, cheap_password_hashes
):
    """RFC 9106 section 4, second recommended option: Argon2id, t = 3 passes, p = 4 lanes,
    m = 2^16 KiB (64 MiB), 128-bit salt, 256-bit tag. The tests' accounts use cheap parameters
    (tests/conftest.py); a hash made by the production hasher carries the RFC's."""
    import base64

    from ifxdose.adapters import store as st
    from ifxdose.adapters.store import users

    monkeypatch.setattr(users, "_hasher", cheap_password_hashes)
    store = st.open_store(f"sqlite:///{tmp_path / 'u.sqlite3'}")
    try:
        st.create_user(store, "prod", "correct horse battery", "physician", locale="en")
        stored = store_hash(store, "prod")
        assert st.authenticate(store, "prod", "correct horse battery") is not None
        assert st.authenticate(store, "prod", "wrong horse battery") is None
    finally:
        store.close()
    _, kind, version, params, salt, tag = stored.split("$")
    assert (kind, version, params) == ("argon2id", "v=19", "m=65536,t=3,p=4")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731  (PHC strings drop base64 padding)
    assert len(base64.b64decode(pad(salt))) * 8 == 128 and len(base64.b64decode(pad(tag))) * 8 == 256


def store_hash(store, username: str) -> str:
    from sqlalchemy import select

    from ifxdose.adapters.store.tables import User

    with store.transaction() as session:
        return session.scalars(select(User.password_hash).where(User.username == username)).one()


def test_the_tests_accounts_use_cheap_hashes(tmp_path):
    from ifxdose.adapters import store as st

    store = st.open_store(f"sqlite:///{tmp_path / 'u.sqlite3'}")
    try:
        st.create_user(store, "cheap", "correct horse battery", "readonly", locale="en")
        assert store_hash(store, "cheap").split("$")[3] == "m=8,t=1,p=1"
        assert st.authenticate(store, "cheap", "correct horse battery") is not None
    finally:
        store.close()


def test_tests_take_the_numpy_path_unless_they_force_compiled_code():
    assert not kernel.use_kernel(10**9, 10**3) and not kernel.loaded()
    assert not compiled.use_compiled(10**6)


@pytest.mark.production_thresholds
def test_the_marker_keeps_the_production_thresholds():
    """The documented production values (kernel.py, compiled.py module docstrings)."""
    import os

    if "IFXDOSE_KERNEL_MIN_WORK" not in os.environ:
        assert kernel.KERNEL_MIN_WORK == 100_000_000 and kernel.KERNEL_MIN_WORK_LOADED == 20_000
        assert compiled.MAP_MIN_FITS == 200
