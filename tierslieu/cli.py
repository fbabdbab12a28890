"""The ``tierslieu`` command: serve, db upgrade, site check|load, users create."""

from __future__ import annotations

import ipaddress
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from tierslieu import __version__
from tierslieu.errors import TiersLieuError
from tierslieu.extras import MissingExtra
from tierslieu.models.enums import ROLES
from tierslieu.runtime import Runtime
from tierslieu.settings import Settings
from tierslieu.site.programme import ProgrammeSpec
from tierslieu.sites import TRILPORT

app = typer.Typer(help="tierslieu — le tiers-lieu et son FabLab.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Base de données.", no_args_is_help=True)
site_app = typer.Typer(help="Description du site (fichier YAML).", no_args_is_help=True)
users_app = typer.Typer(help="Comptes.", no_args_is_help=True)
mqtt_app = typer.Typer(help="Broker MQTT.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(mqtt_app, name="mqtt")
app.add_typer(site_app, name="site")
app.add_typer(users_app, name="users")


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"tierslieu {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="affiche la version et quitte")
    ] = False,
) -> None:
    """tierslieu — le tiers-lieu et son FabLab."""


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            typer.secho(f"configuration: {'.'.join(map(str, err['loc']))}: {err['msg']}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _say(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _migrated_runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on an up-to-date schema, for one-shot commands (no background work)."""
    from tierslieu.migrations import upgrade_database

    runtime = Runtime.create(settings)
    try:
        upgrade_database(runtime.db.url)
        yield runtime
    finally:
        runtime.db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port HTTP")] = 8000,
    simulate: Annotated[bool, typer.Option(help="démarrer des appareils simulés (démo)")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    role: Annotated[
        str | None,
        typer.Option(
            help="all (tout en un processus, par défaut), api (HTTP seulement) ou controller "
            "(portes, badges, tâches ; un seul mène, les autres attendent)",
        ),
    ] = None,
) -> None:
    """Run the service: by default everything in one process (API, web, device controller, scheduler)."""
    settings = _settings()
    if role is not None:
        if role not in ("all", "api", "controller"):
            typer.secho(f"--role {role!r} : choisir all, api ou controller", fg="red", err=True)
            raise typer.Exit(2)
        settings = settings.model_copy(update={"role": role})
    if simulate:
        settings = settings.model_copy(update={"simulate": True})
    _refuse_second_sqlite_controller(settings)
    _serve(settings, host, port, log_level)


def _refuse_second_sqlite_controller(settings: Settings) -> None:
    """A clear message (not a start-up traceback) when a controller already runs on this SQLite
    folder. The lock the running service holds is taken again by its leader gate at start."""
    from tierslieu.cluster import ControllerAlreadyRunning, SqliteControllerLock, leader_lock_for

    if settings.role == "api":
        return
    lock = leader_lock_for(settings.resolved_database_url, settings.data_dir, settings.controller_group)
    if not isinstance(lock, SqliteControllerLock):
        return
    try:
        lock.try_acquire()
    except ControllerAlreadyRunning as refused:
        typer.secho(str(refused), fg="red", err=True)
        raise typer.Exit(2) from refused
    lock.release()


def _serve(settings: Settings, host: str, port: int, log_level: str) -> None:
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from tierslieu.api.http_protocol import KEEP_ALIVE_S, MAX_HEADER_BYTES, GuardedH11Protocol
    from tierslieu.app import create_app
    from tierslieu.logs import configure_logging

    configure_logging(log_level, settings.log_format, settings.role)
    _say(f"base de données : {settings.resolved_database_url}")
    _say(f"MQTT : {settings.mqtt_url or 'broker embarqué'}")
    _say(f"rôle : {settings.role}")
    if settings.simulate:
        _say(
            f"appareils simulés : oui (délai {settings.simulate_delay_ms} ms, perte {settings.simulate_loss:.0%}, "
            f"messages corrompus {settings.simulate_garbage:.0%})"
        )
    if settings.site:
        _load_site_file(settings, settings.site)
    _warn_if_exposed(settings, host)
    _say(f"http://{host}:{port}/  (API : http://{host}:{port}/docs)")
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level.lower(),
        # JSON logs: uvicorn's loggers go through ours instead of its own text handlers.
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
        # Open event streams (live occupancy) must not hold a shutdown forever.
        timeout_graceful_shutdown=5,
        # Slow clients: headers within a deadline and a size, idle connections closed.
        http=GuardedH11Protocol,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_keep_alive=KEEP_ALIVE_S,
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _warn_if_exposed(settings: Settings, host: str) -> None:
    """Passwords and session cookies cross the network in clear unless TLS stands in front."""
    if not _is_loopback(host) and not settings.behind_tls_proxy:
        logging.getLogger("tierslieu").warning(
            "écoute sur %s sans TLS : les mots de passe et cookies de session circulent en clair. "
            "Placez un proxy HTTPS devant (puis TIERSLIEU_BEHIND_TLS_PROXY=true) ou écoutez sur 127.0.0.1.",
            host,
        )


@app.command()
def demo(
    site: Annotated[Path, typer.Option(help="fichier YAML du site")] = TRILPORT,
    host: Annotated[str, typer.Option(help="adresse d'écoute")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port HTTP")] = 8000,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
    data_dir: Annotated[
        Path | None,
        typer.Option(help="dossier de la démo, gardé (par défaut : un dossier temporaire effacé à la fin)"),
    ] = None,
) -> None:
    """Demo: the site and its programme, the demo people (badges for the members), and simulated devices that move.

    It never runs on the configured data folder, database or broker: by default on a
    throwaway folder (SQLite, embedded broker) removed at the end; ``--data-dir`` keeps one,
    refused when its database holds anyone but the demo people.
    """
    from tierslieu.simulator.demo import DEMO_PASSWORD, DEMO_PEOPLE, ensure_demo_people, non_demo_members

    throwaway = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="tierslieu-demo-")) if data_dir is None else data_dir
    demo_values = {"simulate": True, "site": site, "data_dir": folder, "database_url": "", "mqtt_url": None}
    settings = _settings().model_copy(update=demo_values)
    _say(f"démo dans {folder}" + (" (effacé à la fin)" if throwaway else ""))
    try:
        with _migrated_runtime(settings) as runtime:
            others = non_demo_members(runtime)
            if others:
                typer.secho(
                    f"{folder} contient {others} compte(s) qui ne sont pas ceux de la démo : "
                    "la démo refuse d'y écrire. Choisissez un autre dossier.",
                    fg="red",
                    err=True,
                )
                raise typer.Exit(2)
            ensure_demo_people(runtime)
        for name, email, roles, uid in DEMO_PEOPLE:
            badge = f"badge {uid}" if uid else "sans badge"
            _say(f"  {name} <{email}> ({', '.join(roles)}), {badge}, mot de passe {DEMO_PASSWORD}")
        _serve(settings, host, port, log_level)
    finally:
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (SQLite or PostgreSQL)."""
    from tierslieu.migrations import upgrade_database

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _say(f"migration de {settings.resolved_database_url} …")
    upgrade_database(settings.resolved_database_url)
    _say("base de données à jour.")


@site_app.command("check")
def site_check(file: Annotated[Path, typer.Argument(help="fichier YAML du site")]) -> None:
    """Report every problem in a site description, with its location; exit 1 if any."""
    from tierslieu.site import check_site_file

    site, problems = check_site_file(file)
    for problem in problems:
        typer.echo(f"{file}:{problem}", err=True)
    if problems or site is None:
        typer.secho(f"{len(problems)} problème(s) dans {file}.", fg="red", err=True)
        raise typer.Exit(1)
    spaces = sum(1 for _ in site.walk())
    resources = sum(len(s.resources) for _p, s, _q in site.walk())
    devices = sum(len(s.devices) for _p, s, _q in site.walk())
    workshops = sum(len(entry.programme.workshops) for _p, entry in site.entries() if entry.programme)
    typer.echo(f"{file}: OK — {spaces} espaces, {resources} ressources, {devices} appareils, {workshops} ateliers.")


def _load_site_file(settings: Settings, file: Path) -> None:
    from tierslieu.site import check_site_file, load_site

    site, problems = check_site_file(file)
    for problem in problems:
        typer.echo(f"{file}:{problem}", err=True)
    if site is None:
        raise typer.Exit(1)
    with _migrated_runtime(settings) as runtime, runtime.db.session(write=True) as session:
        try:
            report = load_site(session, runtime.secrets, site, progress=lambda m: _say(f"  · {m}"))
            session.commit()
        except TiersLieuError as exc:
            session.rollback()
            typer.secho(f"{file}: {exc.message_fr}", fg="red", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"{file}: chargé — {report.summary()}" + ("" if report.changed else " (aucun changement)"))
    for _prefix, entry in site.entries():
        if entry.programme is not None:
            _load_programme(settings, entry.programme, entry.site.resolved_slug, entry.site.timezone)


def _load_programme(settings: Settings, programme: ProgrammeSpec, slug: str, timezone: str) -> None:
    """The coming weeks' sessions of one site's programme, in that site's local time (each
    books its room; refusals are listed)."""
    from zoneinfo import ZoneInfo

    from tierslieu.db.types import utcnow
    from tierslieu.services.sites import site_by_slug
    from tierslieu.site.programme_loader import load_programme

    with _migrated_runtime(settings) as runtime, runtime.db.session(write=True) as session:
        row = site_by_slug(session, slug)
        report = load_programme(
            session,
            programme,
            now=utcnow(),
            tz=ZoneInfo(timezone),
            events=runtime.events,
            programme=runtime.programme_events,
            progress=lambda m: _say(f"  · {m}"),
            site_id=row.id if row is not None else None,
        )
        session.commit()
    typer.echo(f"programme ({slug}) : {report.summary()}")
    for refusal in report.refused:
        typer.echo(f"  séance non créée — {refusal}")


@site_app.command("load")
def site_load(file: Annotated[Path, typer.Argument(help="fichier YAML du site")]) -> None:
    """Import a site description idempotently (upsert by name; nothing is deleted)."""
    _load_site_file(_settings(), file)


@mqtt_app.command("acl")
def mqtt_acl(
    file: Annotated[Path, typer.Argument(help="fichier YAML du site")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="dossier où écrire passwd, acl et credentials.json (mots de passe gardés d'une fois sur l'autre)"
        ),
    ] = None,
) -> None:
    """Password file and ACL for an external Mosquitto: one account per device, each writing only
    its own topics; tierslieu's account sends the commands. Without --out, prints both and the
    passwords to give each device."""
    from devices.model import DeviceKind, DeviceRef
    from firmware_bridges import BRIDGES
    from tierslieu.hardware.broker_acl import SERVICE_USER, Credentials, build_access, write_private
    from tierslieu.site import check_site_file

    site, problems = check_site_file(file)
    for problem in problems:
        typer.echo(f"{file}:{problem}", err=True)
    if site is None or problems:
        raise typer.Exit(1)
    devices = [
        DeviceRef(index, d.name, DeviceKind(d.kind.value), d.bridge.value, d.address, d.options)
        for index, d in enumerate((d for _p, s, _q in site.walk() for d in s.devices), start=1)
    ]
    access = build_access(devices, BRIDGES)
    credentials = Credentials.load(out / "credentials.json") if out is not None else Credentials()
    passwords = access.password_file(credentials)
    logins = "".join(f"# {user} {credentials.password(user)}\n" for user in access.users())
    if out is None:
        typer.echo("# --- password_file (mosquitto.conf: password_file, allow_anonymous false) ---")
        typer.echo(passwords, nl=False)
        typer.echo("# --- acl_file ---")
        typer.echo(access.acl(), nl=False)
        typer.echo("# --- comptes à configurer (tierslieu : TIERSLIEU_MQTT_URL=mqtt://tierslieu:…@hôte) ---")
        typer.echo(logins, nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    write_private(out / "passwd", passwords)
    write_private(out / "acl", access.acl())
    credentials.save()
    typer.echo(f"{out}: passwd, acl, credentials.json — {len(access.users())} comptes dont {SERVICE_USER}.")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="adresse e-mail (identifiant)")],
    password: Annotated[str, typer.Option(help="mot de passe (8 caractères minimum)")],
    role: Annotated[list[str], typer.Option(help=f"rôle(s) : {', '.join(ROLES)}")] = ["member"],  # noqa: B006
    name: Annotated[str | None, typer.Option(help="nom affiché")] = None,
) -> None:
    """Create an account non-interactively (for example the first admin)."""
    from tierslieu.services import members as member_service

    with _migrated_runtime(_settings()) as runtime, runtime.db.session(write=True) as session:
        try:
            member = member_service.create_member(
                session, runtime.secrets, name=name or email.split("@")[0], email=email, roles=role, password=password
            )
            session.commit()
        except TiersLieuError as exc:
            typer.secho(f"erreur : {exc.message_fr}", fg="red", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"compte {member.email} créé (id {member.id}, rôles : {', '.join(member.roles)}).")


def main() -> None:
    """The `tierslieu` program: the commands above, and one line instead of a traceback when an
    optional dependency (an extra) is missing."""
    try:
        app(prog_name="tierslieu")
    except MissingExtra as missing:
        typer.secho(str(missing), fg="red", err=True)
        sys.exit(2)
    sys.exit(0)
