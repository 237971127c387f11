"""`flask retention ...`: deleting closed requests after their retention period (Aufbewahrungsfrist)."""

import click
from flask.cli import with_appcontext

from extensions import db


@click.group("retention")
def cli():
    """Retention periods: delete closed requests whose service's retention period is over."""


@cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted; change nothing.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Delete at most N requests.")
@with_appcontext
def purge(dry_run, limit):
    """Delete closed requests past their retention period, with their files; keep a record of each."""
    from services.retention import due_for_deletion, purge_due, retention_ends

    if dry_run:
        due = due_for_deletion(limit=limit)
        for req in due:
            click.echo(
                f"würde löschen {req.reference} (abgeschlossen {req.closed_at:%Y-%m-%d}, "
                f"Frist {req.service.retention_years} Jahre, abgelaufen {retention_ends(req):%Y-%m-%d})"
            )
        db.session.rollback()
        click.echo(f"{len(due)} Antrag/Anträge würden gelöscht (Probelauf, nichts geändert).")
        return
    try:
        report = purge_due(limit=limit)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for record in report.deleted:
        click.echo(
            f"gelöscht {record.reference} (abgeschlossen {record.closed_at:%Y-%m-%d}, "
            f"{record.event_count} Verlaufseinträge, {record.counts.get('files', 0)} Datei(en))"
        )
    for reference, reason in report.refused:
        click.echo(f"NICHT gelöscht {reference}: {reason}", err=True)
    click.echo(f"{len(report.deleted)} Antrag/Anträge gelöscht, {report.files} Datei(en) entfernt.")
    if report.refused:
        click.echo(f"{len(report.refused)} Antrag/Anträge nicht gelöscht (siehe oben).", err=True)
        raise SystemExit(1)


@cli.command("deleted")
@with_appcontext
def deleted():
    """List the requests deleted after their retention period, with the chain head they ended at."""
    from sqlalchemy import select

    from models import RetentionDeletion

    query = select(RetentionDeletion).order_by(RetentionDeletion.deleted_at, RetentionDeletion.id)
    for record in db.session.scalars(query):
        click.echo(
            f"{record.reference}\tgelöscht {record.deleted_at:%Y-%m-%d}"
            f"\tabgeschlossen {record.closed_at:%Y-%m-%d}\tFrist {record.retention_years} J."
            f"\tKette endete bei {record.final_seq}: {record.final_hash}"
        )
