"""`flask seed demo`: the demo city Stadt Duisburg (departments, services, one account per role)."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from extensions import db
from models import Department, User
from services.seed import DemoLogin, seed_demo
from services.seed.users import DEMO_USERS
from services.tx import transaction

cli = AppGroup("seed", help="Demo data.")


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
