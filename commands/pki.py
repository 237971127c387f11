"""`flask pki init`: the development PKI (root CA, issuing CA, department seals, CRLs, local TSA)."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from extensions import db
from models import Department
from services.notices.pki import TEST_LABEL, dev_pki_from_config

cli = AppGroup("pki", help="Siegel-Zertifikate und Zeitstempeldienst (Entwicklung).")


@cli.command("init")
def init() -> None:
    """Create the development PKI under PKI_DIR if missing (idempotent; refreshes expiring CRLs)."""
    config = current_app.config
    if config.get("SIGNING_PKCS12") or config.get("SIGNING_PKCS11_MODULE"):
        click.echo("A production seal is configured (SIGNING_PKCS12/SIGNING_PKCS11_*): nothing to create.")
        return
    if config["ENV_NAME"] == "production":
        raise click.ClickException(
            "Production needs SIGNING_PKCS12 or SIGNING_PKCS11_* and TSA_URL; the development PKI "
            "is not for production (see docs/notices.md)."
        )
    pki = dev_pki_from_config(config)
    created = pki.ensure(_departments())
    click.echo(f"Development PKI in {pki.dir} ({TEST_LABEL}).")
    click.echo("  created: " + (", ".join(created) if created else "nothing (already complete)"))


def _departments() -> list[tuple[str, str]]:
    """(slug, name) of every department; none before the database exists (seals then come on first use)."""
    try:
        departments = db.session.scalars(db.select(Department).order_by(Department.id))
        return [(d.slug, d.name_de) for d in departments]
    except SQLAlchemyError:
        db.session.rollback()
        return []
