"""`flask audit ...`: checks of the tamper-evident request history."""

import click
from flask.cli import with_appcontext


@click.group("audit")
def cli():
    """Audit trail: verify the hash chains of every request's history."""


@cli.command("verify")
@with_appcontext
def verify():
    """Recompute every event hash; print OK with counts or the first broken link per request."""
    from services.retention import deletions_count
    from services.workflow.audit import count_chains, verify_chains

    breaks = verify_chains()
    requests, events = count_chains()
    purged = deletions_count()
    if purged:  # their rows and events are gone on purpose: not breaks (`flask retention deleted`)
        click.echo(f"{purged} Anträge nach Ablauf der Aufbewahrungsfrist gelöscht (flask retention deleted).")
    if not breaks:
        click.echo(f"OK: {requests} Anträge, {events} Einträge, alle Ketten intakt.")
        return
    for b in breaks:
        click.echo(f"BROKEN {b.reference} (id {b.request_id}) at seq {b.seq}: {b.reason}", err=True)
    click.echo(
        f"{len(breaks)} von {requests} Anträgen mit gebrochener Kette ({events} Einträge geprüft).", err=True
    )
    raise SystemExit(1)
