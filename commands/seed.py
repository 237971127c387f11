"""`flask seed demo`: the demo city Stadt Duisburg (departments, services, one account per role)."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Department, Service, User
from services.notices.shipped import refresh_unedited_copies
from services.seed import DemoLogin, seed_demo
from services.seed.users import DEMO_USERS
from services.tx import transaction

cli = AppGroup("seed", help="Demo data and the shipped notice templates.")


@cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Only seed when the database has no departments yet.")
@click.option(
    "--allow-production", is_flag=True, help="Seed even with AMTSWEG_ENV=production (known passwords!)."
)
def demo(if_empty: bool, allow_production: bool) -> None:
    """Create or update the demo city; idempotent. Prints the demo logins and the URL."""
    if current_app.config["ENV_NAME"] == "production" and not allow_production:
        raise click.ClickException(
            "Refusing to create demo accounts with published passwords in production "
            "(use --allow-production for a staging system)."
        )
    if if_empty and db.session.execute(db.select(Department.id).limit(1)).first() is not None:
        click.echo("Database already holds data: demo seed skipped.")
        _print_logins(_existing_demo_logins())
        return
    # Demo content is German (the default language); a CLI run has no request to pick a locale from.
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]), transaction():
        report = seed_demo()
    click.echo("Demo city Stadt Duisburg is ready" + ("" if report.changed else " (nothing changed)") + ".")
    for line in report.lines():
        click.echo(f"  {line}")
    _print_logins(report.logins)


@cli.command("shipped-templates")
def shipped_templates() -> None:
    """Republish stored notice templates that are unedited copies of an earlier shipped release."""
    try:
        with transaction():
            report = refresh_unedited_copies()
            refreshed = [_template_name(t) for t in report.refreshed]
            edited = [_template_name(t) for t in report.edited]
    except IntegrityError:  # another process (a second container starting) published them first
        click.echo("Shipped notice templates: refreshed by another process.")
        return
    listed = f" ({', '.join(refreshed)})" if refreshed else ""
    click.echo(f"Shipped notice templates: {len(refreshed)} refreshed{listed}.")
    if edited:
        click.echo(f"  left as edited by their department: {', '.join(edited)}")


def _template_name(template) -> str:
    owner = db.session.get(Service, template.service_id).slug if template.service_id else "city-wide"
    return f"{owner}:{template.kind}"


def _existing_demo_logins() -> list[DemoLogin]:
    wanted = [u.email for u in DEMO_USERS]
    emails = set(db.session.scalars(db.select(User.email).where(User.email.in_(wanted))))
    return [DemoLogin(u.email, u.password, u.role) for u in DEMO_USERS if u.email in emails]


def _print_logins(logins: list[DemoLogin]) -> None:
    if logins:
        click.echo("\nDemo logins (DEMO ONLY – never use these accounts for real data):")
        width = max(len(login.email) for login in logins)
        for login in logins:
            click.echo(f"  {login.email:<{width}}  {login.password:<26}  {login.role}")
    click.echo(f"\nOpen {current_app.config['BASE_URL']}/")
