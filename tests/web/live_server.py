"""A real server for the browser and concurrency tests: ``python live_server.py PORT`` with
the IFXDOSE_* settings in the environment; creates the test accounts, then serves."""

import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

PASSWORD = "test-password-1"
USERS = {"doc": "physician", "pharm": "pharmacist", "viewer": "readonly"}
# For httpx calls to these plain-http loopback servers: ``verify=NO_TLS``. Without it httpx builds an
# SSL context for every client and loads certifi's CA bundle into it (0.1-0.3 s CPU each; ~90 per
# multi-worker test), though no certificate is ever checked. This shared context holds no CA, so an
# https URL would fail its verification rather than skip it.
NO_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def main() -> None:
    import uvicorn

    from ifxdose.adapters.web.app import create_app

    app = create_app()
    ensure_accounts(app.state.store)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_accounts(store) -> None:
    """The test accounts (USERS, PASSWORD) in ``store``; those already present are kept."""
    from ifxdose.adapters import store as st

    for name, role in USERS.items():
        try:
            st.create_user(store, name, PASSWORD, role, locale="en")
        except st.Conflict:
            pass


def add_accounts(database_url: str) -> None:
    """The test accounts, created by the test process before the server starts: there they get
    argon2's cheapest hashes (tests/conftest.py, ``cheap_password_hashes``), so the server's
    sign-ins verify those (the same code path, parameters read from the stored hash) instead of
    the production profile's ~0.3 s of CPU per account and per sign-in. The server's own loop
    in ``main`` then finds them present."""
    from ifxdose.adapters import store as st

    store = st.open_store(database_url)
    try:
        ensure_accounts(store)
    finally:
        store.close()


def start(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, str]:
    """Start the server (with the test accounts); return (process, base URL) once it answers."""
    import httpx

    add_accounts(env["IFXDOSE_DATABASE_URL"])
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, __file__, str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a loaded machine (parallel test runs) starts slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log_path.read_text())
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1, verify=NO_TLS).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + log_path.read_text())


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    main()
