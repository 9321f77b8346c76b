"""The ``samverkan`` command: run the platform, migrate, manage municipalities and users.

Every command reads ``SAMVERKAN_*`` settings (``SAMVERKAN_DATABASE_URL`` above all) and
commits once at its end, as a request does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import click
from sqlalchemy.orm import Session

from services.config import SERVICES, Settings, load_settings

ALL_APPS = ("platform", *SERVICES)
CLI_ACTOR = "cli"
STOP_ON_THEIR_OWN_SECONDS = 5.0
"""How long ``run`` waits for its worker and beat to stop on their own before asking."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Samverkan: the shared services of the municipalities' cooperation."""
    ctx.obj = load_settings()


def _settings() -> Settings:
    return click.get_current_context().find_root().obj


def _session() -> contextlib.AbstractContextManager[Session]:
    from services.settings_ext import committing_session

    return committing_session(_settings())


def _fail(message: str) -> None:
    raise click.ClickException(message)


# --- running ---------------------------------------------------------------------------


@main.command()
@click.option("--port", default=5000, show_default=True, help="Port of the web server.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Load the demo data (idempotent) before starting.")
def run(port: int, host: str, demo: bool) -> None:
    """Run everything on the embedded default: web, a worker and beat, one process tree."""
    settings = _settings()
    _upgrade(settings)
    if demo:
        _load_demo(settings)
    children = [
        subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "--concurrency", "2"]),
        subprocess.Popen([sys.executable, "-m", "services.cli", "beat"]),
    ]
    click.echo(f"\nSamverkan is running at http://localhost:{port}/ (Ctrl-C stops everything)")
    if demo:
        _print_demo_logins()
    try:
        from werkzeug.serving import run_simple

        from services.embedded import create_embedded_app

        run_simple(host, port, create_embedded_app(settings), threaded=True,
                   use_reloader=False, use_debugger=False)
    finally:
        _stop(children)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """Stop the worker and beat that ``run`` started.

    Ctrl-C in a terminal reaches the whole process group, the worker and beat with the web
    server, and they are already stopping: they get a moment to end on their own, since a
    second signal breaks into their shutdown (beat printed a traceback from inside logging's
    shutdown). Whatever still runs then is asked with SIGTERM, and killed if it will not go.
    """
    deadline = time.monotonic() + STOP_ON_THEIR_OWN_SECONDS
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


@main.command()
@click.argument("service", type=click.Choice(ALL_APPS))
@click.option("--port", default=5000, show_default=True, help="Port of the web server.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
def serve(service: str, port: int, host: str) -> None:
    """Serve one service alone (production runs it under gunicorn: see deploy/)."""
    from werkzeug.serving import run_simple

    from services.embedded import create_service

    click.echo(f"{service} at http://{host}:{port}/")
    run_simple(host, port, create_service(service, _settings()), threaded=True)


@main.command()
@click.option("--queues", "-Q", default=None,
              help="Comma-separated queues to consume (default: every service's queue).")
@click.option("--concurrency", "-c", default=2, show_default=True, help="Worker processes.")
@click.option("--hostname", "-n", default=None,
              help="Node name, unique per worker (default: celery@<host>).")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(queues: str | None, concurrency: int, hostname: str | None, loglevel: str) -> None:
    """Run a Celery worker for the configured broker."""
    from worker.app import QUEUES, celery_app

    arguments = [
        "worker", f"--queues={queues or ','.join(QUEUES)}", f"--concurrency={concurrency}",
        f"--loglevel={loglevel}", "--without-gossip", "--without-mingle",
    ]
    if hostname:
        arguments.append(f"--hostname={hostname}")
    celery_app.worker_main(arguments)


@main.command()
@click.option("--loglevel", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run Celery beat, which sends the scheduled tasks (run exactly one)."""
    from worker.app import celery_app

    celery_app.start(["beat", f"--loglevel={loglevel}"])


# --- the database ----------------------------------------------------------------------


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Upgrade every service's schema to the newest revision (as the database owner)."""
    _upgrade(_settings())


def _upgrade(settings: Settings) -> None:
    from services.migrate import upgrade_all

    upgrade_all(settings, progress=lambda message: click.echo(f"  {message}", err=True))


@main.command("demo-data")
def demo_data() -> None:
    """Load the demo municipalities, users and service data (idempotent)."""
    _load_demo(_settings())
    _print_demo_logins()


def _load_demo(settings: Settings) -> None:
    from services.demo import load_demo_data

    click.echo("loading demo data", err=True)
    with _session() as session:
        load_demo_data(session, progress=lambda message: click.echo(f"  {message}", err=True))


def _print_demo_logins() -> None:
    from services.demo import DEMO_PASSWORD, demo_logins

    click.echo(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
    for login in demo_logins():
        click.echo(f"  {login.username:<34} {login.role:<20} {login.scope}")
    from library_loans.demo import demo_patron_cards

    click.echo("\nDemo library cards (log in at /library/login with card number and PIN):")
    for card in demo_patron_cards():
        note = f"  ({card.note})" if card.note else ""
        click.echo(f"  {card.card_number:<10} PIN {card.pin}  {card.name}, "
                   f"{card.municipality}{note}")


# --- municipalities --------------------------------------------------------------------


@main.group()
def municipalities() -> None:
    """The cooperation's municipalities (tenants)."""


@municipalities.command("list")
def municipalities_list() -> None:
    """List municipalities, their SCB codes, populations and services."""
    from services.tenancy.operations import list_municipalities

    with _session() as session:
        for m in list_municipalities(session):
            latest = m.populations[-1] if m.populations else None
            population = f"{latest.population} ({latest.year})" if latest else "-"
            joined = ", ".join(
                f"{p.service}{'' if p.level == 'full' else ' (' + p.level + ')'}"
                for p in sorted(m.participations, key=lambda p: p.service)
            )
            click.echo(f"{m.slug:<14} {m.scb_code}  {m.name:<14} {population:<14} {joined or '-'}")


@municipalities.command("add")
@click.argument("slug")
@click.option("--scb-code", required=True, help="The four-digit SCB municipality code.")
@click.option("--name", required=True)
@click.option("--county", default="")
@click.option("--joined", "joined_on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Date joined (default: today).")
@click.option("--population", type=int, default=None)
@click.option("--population-year", type=int, default=None)
@click.option("--service", "services_joined", multiple=True, type=click.Choice(SERVICES),
              help="A service it joins (repeat for more).")
def municipalities_add(slug: str, scb_code: str, name: str, county: str, joined_on,
                       population: int | None, population_year: int | None,
                       services_joined: tuple[str, ...]) -> None:
    """Add a municipality; it takes part in no service unless --service says so."""
    from services.tenancy.operations import (
        MunicipalityError,
        add_municipality,
        join_service,
        set_population,
    )

    joined = joined_on.date() if joined_on else date.today()
    try:
        with _session() as session:
            municipality = add_municipality(session, slug, scb_code, name, county=county,
                                            joined_on=joined)
            if population is not None:
                set_population(session, municipality, population_year or joined.year, population)
            for service in services_joined:
                join_service(session, municipality, service, joined_on=joined)
    except MunicipalityError as error:
        _fail(str(error))
    click.echo(f"added {slug}")


# --- users, grants, tokens -------------------------------------------------------------


@main.group()
def users() -> None:
    """Staff users and their role grants."""


@users.command("add")
@click.argument("username")
@click.option("--municipality", "slug", required=True, help="Slug of the home municipality.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--display-name", default="")
@click.option("--email", default="")
def users_add(username: str, slug: str, password_stdin: bool, display_name: str,
              email: str) -> None:
    """Add a staff user (with no password unless --password-stdin gives one)."""
    from services.identity.operations import IdentityError, create_user
    from services.tenancy.operations import MunicipalityError, find_municipality

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        with _session() as session:
            create_user(session, username, find_municipality(session, slug), password=password,
                        display_name=display_name, email=email, created_by=CLI_ACTOR)
    except (IdentityError, MunicipalityError) as error:
        _fail(str(error))
    click.echo(f"added {username.strip().lower()}")


@users.command("grant")
@click.argument("username")
@click.argument("role")
@click.option("--municipality", "slug", default=None, help="Where the role holds.")
@click.option("--all", "everywhere", is_flag=True, help="The role holds in every municipality.")
def users_grant(username: str, role: str, slug: str | None, everywhere: bool) -> None:
    """Grant ROLE to USERNAME in one municipality (--municipality) or all (--all)."""
    from services.identity.operations import IdentityError, find_user, grant_role
    from services.tenancy.operations import MunicipalityError, find_municipality

    if bool(slug) == everywhere:
        _fail("give exactly one of --municipality SLUG or --all")
    try:
        with _session() as session:
            municipality = find_municipality(session, slug) if slug else None
            grant_role(session, find_user(session, username), role, municipality,
                       granted_by=CLI_ACTOR)
    except (IdentityError, MunicipalityError) as error:
        _fail(str(error))
    click.echo(f"granted {role} to {username} in {slug or 'all municipalities'}")


@main.group()
def token() -> None:
    """Bearer tokens for the API."""


@token.command("create")
@click.option("--user", "username", required=True)
@click.option("--label", default="created on the command line")
@click.option("--days", default=None, type=int, help="Lifetime (default: the configured one).")
def token_create(username: str, label: str, days: int | None) -> None:
    """Create a bearer token for USER and print only the token (for scripts)."""
    from services.identity.operations import IdentityError, find_user, issue_token

    lifetime = timedelta(days=days or _settings().token_lifetime_days)
    try:
        with _session() as session:
            secret, _ = issue_token(session, find_user(session, username), label=label,
                                    lifetime=lifetime)
    except IdentityError as error:
        _fail(str(error))
    click.echo(secret)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()


# Each service adds its own commands under its name (``samverkan library import-marc …``).
from library_loans.cli import register as _register_library_commands  # noqa: E402

_register_library_commands(main)
