"""`flask outbox ...`: the relay loop, in-process runs and retries of outbox jobs."""

import logging

import click
from flask.cli import with_appcontext

from extensions import db
from models import OutboxJob


@click.group("outbox")
def cli():
    """Outbox: after-commit work (notices, emails) and its delivery to the workers."""


@cli.command("relay")
@click.option("--interval", type=float, default=2.0, show_default=True, help="Seconds between passes.")
@with_appcontext
def relay(interval):
    """Re-send outbox rows that never reached RQ or whose job vanished; runs until SIGTERM."""
    from workers.relay import Relay

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    loop = Relay(interval=interval)
    loop.install_signal_handlers()
    click.echo("outbox relay running")
    loop.run()
    click.echo("outbox relay stopped")


@cli.command("run-once")
@click.option("--limit", type=int, default=1000, show_default=True)
@with_appcontext
def run_once(limit):
    """Run pending outbox jobs in this process (no Redis needed)."""
    from workers.inline import run_pending_jobs

    click.echo(f"{run_pending_jobs(limit=limit)} job(s) run")


@cli.command("retry")
@click.argument("outbox_id", type=int)
@with_appcontext
def retry(outbox_id):
    """Give a failed outbox row a fresh set of attempts."""
    from services.errors import DomainError
    from services.outbox import retry_job

    job = db.session.get(OutboxJob, outbox_id)
    if job is None:
        raise click.ClickException(f"no outbox row {outbox_id}")
    try:
        retry_job(job)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(f"outbox row {outbox_id} is pending again")


@cli.command("status")
@with_appcontext
def status():
    """Count outbox rows per state."""
    from sqlalchemy import func, select

    from services.outbox import oldest_pending_since, pending_too_long

    rows = db.session.execute(select(OutboxJob.state, func.count()).group_by(OutboxJob.state)).all()
    for state, count in sorted(rows):
        click.echo(f"{state:10} {count}")
    since = oldest_pending_since()
    if since is not None:
        late = " (too long: is `flask outbox relay` running?)" if pending_too_long(since) else ""
        click.echo(f"oldest pending row created {since.isoformat(timespec='seconds')}{late}")
