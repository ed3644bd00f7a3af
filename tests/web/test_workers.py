"""`ifxdose serve --workers 2` behaves as one app, on SQLite and on PostgreSQL: a sign-out ends the session in every
worker, the sign-in limit is shared (30 concurrent wrong passwords: exactly the allowed
number reach the password check). And `ifxdose serve` without a secret exits with one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ifxdose.adapters.cli import app as cli
from store.databases import make_db_url
from web.live_server import NO_TLS, PASSWORD, add_accounts, free_port


def test_serve_without_a_secret_exits_2_with_one_line(monkeypatch):
    for name in list(os.environ):
        if name.startswith("IFXDOSE_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2 and "IFXDOSE_SECRET_KEY" in result.output and "Traceback" not in result.output


@pytest.fixture(params=["sqlite", "postgresql"])
def worker_db(request, tmp_path):
    """A fresh SQLite file or PostgreSQL database (skipped without IFXDOSE_TEST_POSTGRES_URL)."""
    url, cleanup = make_db_url(request.param, tmp_path)
    yield url
    cleanup()


def test_two_workers_behave_as_one(tmp_path, worker_db):
    url = worker_db
    add_accounts(url)
    port = free_port()
    env = dict(
        os.environ,
        IFXDOSE_MODE="test",
        IFXDOSE_DATABASE_URL=url,
        IFXDOSE_SECRET_KEY="w" * 40,
        IFXDOSE_TODAY="2024-08-26",
    )
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("ifxdose")), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1, verify=NO_TLS).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        # a fresh connection per request: the kernel spreads them over both workers
        def attempt(_):
            return httpx.post(
                f"{base}/api/v1/session",
                json={"username": "pharm", "password": "wrong-pass"},
                timeout=60,
                verify=NO_TLS,
            ).status_code

        with ThreadPoolExecutor(30) as pool:
            codes = list(pool.map(attempt, range(30)))
        assert codes.count(401) == 5 and codes.count(429) == 25, codes
        signed = httpx.post(
            f"{base}/api/v1/session", json={"username": "doc", "password": PASSWORD}, timeout=60, verify=NO_TLS
        )
        cookies, token = signed.cookies, signed.json()["csrf_token"]
        assert all(
            httpx.get(f"{base}/api/v1/session", cookies=cookies, verify=NO_TLS).status_code == 200 for _ in range(6)
        )
        assert (
            httpx.delete(
                f"{base}/api/v1/session", cookies=cookies, headers={"X-CSRF-Token": token}, verify=NO_TLS
            ).status_code
            == 204
        )
        assert all(
            httpx.get(f"{base}/api/v1/session", cookies=cookies, verify=NO_TLS).status_code == 401 for _ in range(6)
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
