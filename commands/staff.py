"""`flask staff ...`: create staff accounts (clerk, department admin, platform admin) from the shell."""

import secrets

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from services import accounts
from services.errors import ValidationFailed
from services.tx import transaction


@click.group("staff")
def cli():
    """Staff accounts: the first platform admin is created here, everyone else also in the UI."""


@cli.command("create")
@click.option("--email", required=True, help="Login address of the new staff member.")
@click.option("--name", "full_name", required=True, help="Full name as shown to colleagues.")
@click.option(
    "--role", type=click.Choice(accounts.STAFF_ROLES), required=True, help="clerk / admin need --department."
)
@click.option("--department", "department_slug", default=None, help="Department slug, e.g. buergeramt.")
@click.option("--generate-password", is_flag=True, help="Generate a password and print it once (no prompt).")
@with_appcontext
def create(email, full_name, role, department_slug, generate_password):
    """Create a staff account with a role; the password is typed in (hidden) or generated."""
    department = None
    if department_slug:
        department = accounts.find_department_by_slug(department_slug)
        if department is None:
            raise click.BadParameter(f"no department {department_slug!r}", param_hint="--department")
    if generate_password:
        password = secrets.token_urlsafe(15)  # 20 characters
    else:
        password = click.prompt("Password (12+ characters)", hide_input=True, confirmation_prompt=True)
    try:
        # No request here: pin the language so messages don't ask the browser for one.
        with force_locale("de"), transaction():
            user = accounts.create_staff_user(None, email, full_name, role, department, password=password)
    except ValidationFailed as exc:
        raise click.ClickException(exc.message) from exc
    where = f" in {department.slug}" if department is not None else ""
    click.echo(f"Created staff account {user.email} ({role}{where}).")
    if generate_password:
        click.echo(f"Password (shown once): {password}")


@cli.command("list")
@with_appcontext
def list_staff():
    """List staff accounts with their roles."""
    for user in accounts.list_staff_users():
        roles = ["platform-admin"] if user.is_platform_admin else []
        roles += [f"{m.role}@{m.department.slug}" for m in user.memberships]
        state = "" if user.is_active_account else "  (deactivated)"
        click.echo(f"{user.email}  {', '.join(roles) or '-'}{state}")
