"""``ifxdose serve``: the clinic web app (uvicorn); ``ifxdose clinic-user``: add an account."""

import os
import secrets
from pathlib import Path

import typer

from ifxdose.adapters.cli import app

DEMO_DATABASE = Path("out") / "demo-clinic.sqlite3"


@app.command("serve")
def serve(
    demo: bool = typer.Option(False, "--demo", help="fictional demo clinic in out/demo-clinic.sqlite3 (recreated)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on (loopback by default)"),
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(
        1,
        min=1,
        max=32,
        help="worker processes (sessions, sign-in limits and caches live in the database, so they behave as one)",
    ),
) -> None:
    """Start the clinic web app. Settings come from IFXDOSE_* variables (docs/clinic.md)."""
    import uvicorn
    from pydantic import ValidationError

    from ifxdose.adapters.web.settings import WebSettings

    if demo:
        url = os.environ.get("IFXDOSE_DATABASE_URL")
        if url is None:
            DEMO_DATABASE.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{DEMO_DATABASE}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{DEMO_DATABASE}"
        settings = WebSettings(mode="demo", database_url=url, secret_key=secrets.token_urlsafe(48))
    else:
        try:
            settings = WebSettings()
        except ValidationError as exc:
            for error in exc.errors():
                typer.echo(f"error: {str(error['msg']).removeprefix('Value error, ')}", err=True)
            raise typer.Exit(2) from None
    banner = f"ifxdose clinic on http://{host}:{port}/  (API: http://{host}:{port}/api/docs)  Ctrl+C to stop"
    if workers > 1 and not demo:
        # The workers build the app from the environment; this process only migrates the
        # database once before they start (the web app's imports and construction, ~3-4 s of
        # CPU, would be spent on an app that never serves).
        from ifxdose.app.auth import open_clinic

        open_clinic(settings.database_url).close()
        typer.echo(banner)
        _run_workers(workers, host, port)
        return
    from ifxdose.adapters.web.app import create_app
    from ifxdose.adapters.web.demo import ACCOUNTS, CLINIC_NAME, PASSWORD, seed_demo

    application = create_app(settings)
    if demo:
        seed_demo(application.state.store, application.state.recommender, settings.current_date())
        typer.echo(f"{CLINIC_NAME}: every patient is invented.")
        typer.echo(
            f"Sign in as {ACCOUNTS[0][0]} / {PASSWORD} "
            f"(also {ACCOUNTS[1][0]}, {ACCOUNTS[2][0]} (read-only), same password)"
        )
    typer.echo(banner)
    if workers > 1:  # the demo: the workers read their settings from the environment: pass the demo's on
        os.environ.update(
            IFXDOSE_MODE="demo",
            IFXDOSE_DATABASE_URL=settings.database_url,
            IFXDOSE_SECRET_KEY=settings.secret_key.get_secret_value(),
        )
        application.state.store.close()
        _run_workers(workers, host, port)
        return
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning")


def _run_workers(workers: int, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        "ifxdose.adapters.web.app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
    )


@app.command("clinic-user")
def clinic_user(
    username: str = typer.Argument(..., help="sign-in name"),
    role: str = typer.Option("physician", help="physician | pharmacist | readonly"),
    locale: str = typer.Option("ja", help="ja | en"),
) -> None:
    """Add a local account to the clinic database (password from IFXDOSE_NEW_PASSWORD or a prompt)."""
    from ifxdose.app import auth

    password = os.environ.get("IFXDOSE_NEW_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    store = auth.open_clinic()
    try:
        auth.create_user(store, username, password, role, locale=locale, by="cli")
    finally:
        store.close()
    typer.echo(f"added {username} ({role})")
