"""`flask uploads ...`: housekeeping of the upload directory."""

import click
from flask.cli import with_appcontext

from extensions import db


@click.group("uploads")
def cli():
    """Uploaded files: remove expired anonymous drafts and files nothing references."""


@cli.command("sweep")
@with_appcontext
def sweep():
    """Delete expired anonymous drafts (with their files) and old unreferenced upload files."""
    from services.sweeper import sweep_uploads

    try:
        report = sweep_uploads()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    for public_id in report.drafts:
        click.echo(f"removed anonymous draft {public_id}")
    for name in report.files:
        click.echo(f"removed orphan file {name}")
    click.echo(
        f"{len(report.drafts)} expired anonymous draft(s) with {report.draft_files} file(s), "
        f"{len(report.files)} orphan file(s) removed"
    )
