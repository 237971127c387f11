"""Accounts: registration, login, passwords, email confirmation, staff users and memberships."""

import secrets

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from extensions import db
from models import ConfigChange, Department, Membership, MembershipRole, User, UserKind
from models.base import utcnow
from services import access
from services.errors import EmailNotConfirmed, PermissionDenied, ValidationFailed
from services.mail import external_url, mail_context, queue_mail, supported_locale
from services.passwords import (
    MIN_PASSWORD_LENGTH,
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from services.tokens import make_token, max_age

MAX_PASSWORD_LENGTH = 256  # argon2 would take anything; a bound keeps hashing cost predictable
PLATFORM_ADMIN = "platform-admin"
STAFF_ROLES = (MembershipRole.CLERK.value, MembershipRole.ADMIN.value, PLATFORM_ADMIN)


# --- citizens: registration, confirmation, login --------------------------------------------


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def validate_password(password: str, field: str = "password") -> None:
    """Raise ValidationFailed unless the password has 12 to 256 characters."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("Das Passwort muss mindestens %(n)d Zeichen lang sein.", n=MIN_PASSWORD_LENGTH), field=field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            _("Das Passwort darf höchstens %(n)d Zeichen lang sein.", n=MAX_PASSWORD_LENGTH), field=field
        )


def register_citizen(email: str, password: str, full_name: str = "", locale: str = "de") -> User | None:
    """Create an unconfirmed citizen account and queue the confirmation email.

    If the address is already registered, nothing is created and the owner gets a hint by email
    instead, so the form never reveals which addresses have accounts. Returns the new user or None.
    """
    validate_password(password)
    password_hash = hash_password(password)  # also for existing addresses: equal work for both
    existing = find_user_by_email(email)
    if existing is None:
        user = User(
            email=normalise_email(email),
            password_hash=password_hash,
            full_name=full_name.strip(),
            kind=UserKind.CITIZEN,
            locale=supported_locale(locale),
        )
        db.session.add(user)
        db.session.flush()
        queue_mail(user, "auth_confirm")
        return user
    if existing.is_active_account:
        queue_mail(existing, "auth_already_registered")
    return None


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same work either way)."""
    user = find_user_by_email(email)
    if user is None:
        dummy_verify(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active_account:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def confirm_email(user: User) -> None:
    """Mark the address as confirmed (the caller has checked the link token)."""
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        db.session.flush()


def send_confirmation(user: User) -> bool:
    """Queue a new confirmation email; False if the address is already confirmed."""
    if user.email_confirmed:
        return False
    queue_mail(user, "auth_confirm")
    return True


def require_confirmed(user: User) -> None:
    """Raise EmailNotConfirmed unless the user has confirmed their email address."""
    if not user.email_confirmed:
        raise EmailNotConfirmed(
            _(
                "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse. "
                "Einen neuen Link können Sie unter „Konto“ anfordern."
            )
        )


# --- passwords and sessions -----------------------------------------------------------------


def end_sessions(user: User) -> None:
    """Invalidate every session of the user (they carry the old session_version)."""
    user.session_version = (user.session_version or 0) + 1
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """Store a new password and end all sessions; the owner is told by email."""
    validate_password(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    queue_mail(user, "auth_password_changed")


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one (ValidationFailed if wrong)."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(_("Das aktuelle Passwort ist nicht richtig."), field="current_password")
    set_password(user, new_password)


def request_password_reset(email: str) -> None:
    """Queue a one-time reset link if an active account has this address; silent otherwise."""
    user = find_user_by_email(email)
    if user is not None and user.is_active_account:
        queue_mail(user, "auth_reset")


def reset_password(user: User, new_password: str) -> None:
    """Set a password via an emailed link (the caller has checked the token).

    Following the link proves control of the mailbox, so the address counts as confirmed.
    """
    set_password(user, new_password)
    confirm_email(user)


# --- settings -------------------------------------------------------------------------------


def set_mail_locale(user: User, locale: str) -> bool:
    """Set the language of the mail the user gets from now on (one of LANGUAGES); True if it changed.

    Mail already queued is rendered at send time, so it follows the new setting too. The page
    language (the switcher in the header) is separate and does not change this.
    """
    if locale not in current_app.config["LANGUAGES"]:
        raise ValidationFailed(_("Bitte wählen Sie eine der angebotenen Sprachen."), field="language")
    changed = user.locale != locale
    user.locale = locale
    db.session.flush()
    return changed


# --- staff ----------------------------------------------------------------------------------


def _require_platform_admin(actor) -> None:
    if actor is not None and not access.is_platform_admin(actor):
        raise PermissionDenied()


def _audit(actor, action: str, user: User, department=None, **details) -> None:
    db.session.add(
        ConfigChange(
            department_id=department.id if department is not None else None,
            actor_id=actor.id if actor is not None else None,
            object_type="user",
            object_id=str(user.id),
            action=action,
            summary=f"{action} user {user.id}",
            details=details,
        )
    )


def create_staff_user(
    actor, email: str, full_name: str, role: str, department=None, password: str | None = None
) -> User:
    """Create a staff account with a role (clerk/admin in `department`, or platform-admin).

    With a password (CLI) the account is ready to use; without one (UI) the person gets an
    invitation link by email and chooses their own password. `actor` None means the CLI.
    """
    _require_platform_admin(actor)
    if role not in STAFF_ROLES:
        raise ValidationFailed(_("Bitte wählen Sie eine Rolle."), field="role")
    if role != PLATFORM_ADMIN and department is None:
        raise ValidationFailed(_("Bitte wählen Sie ein Amt."), field="department")
    if find_user_by_email(email) is not None:
        raise ValidationFailed(_("Es gibt bereits ein Konto mit dieser E-Mail-Adresse."), field="email")
    if password is not None:
        validate_password(password)
    user = User(
        email=normalise_email(email),
        full_name=full_name.strip(),
        kind=UserKind.STAFF,
        is_platform_admin=role == PLATFORM_ADMIN,
        password_hash=hash_password(password if password is not None else secrets.token_urlsafe(32)),
        email_confirmed_at=utcnow() if password is not None else None,
    )
    db.session.add(user)
    if department is not None:
        membership_role = MembershipRole.CLERK if role == MembershipRole.CLERK else MembershipRole.ADMIN
        user.memberships.append(Membership(department=department, role=membership_role))
    db.session.flush()
    _audit(actor, "staff_created", user, department, role=role)
    if password is None:
        queue_mail(user, "auth_invite")
    db.session.flush()
    return user


def accept_invitation(user: User, password: str) -> None:
    """Set the first password from an invitation link; confirms the address."""
    reset_password(user, password)


def send_invitation(actor, user: User) -> None:
    """Send a new invitation link (e.g. the first one expired)."""
    _require_platform_admin(actor)
    queue_mail(user, "auth_invite")


def add_membership(actor, user: User, department: Department, role: str) -> Membership:
    """Give a staff user a role in a department (updates the role if already a member)."""
    if actor is not None and not access.may_administer_department(actor, department):
        raise PermissionDenied()
    if not user.is_staff:
        raise ValidationFailed(_("Nur Mitarbeitende können einem Amt angehören."), field="department")
    if role not in (MembershipRole.CLERK, MembershipRole.ADMIN):
        raise ValidationFailed(_("Bitte wählen Sie eine Rolle."), field="role")
    membership = next((m for m in user.memberships if m.department_id == department.id), None)
    if membership is None:
        membership = Membership(department=department, role=role)
        user.memberships.append(membership)
    elif role != MembershipRole.ADMIN:
        _keep_an_admin(actor, membership)
    membership.role = role
    db.session.flush()
    _audit(actor, "membership_set", user, department, role=role)
    return membership


def remove_membership(actor, membership: Membership) -> None:
    """Take a staff user out of a department."""
    if actor is not None and not access.may_administer_department(actor, membership.department):
        raise PermissionDenied()
    _keep_an_admin(actor, membership)
    user, department = membership.user, membership.department
    user.memberships.remove(membership)
    db.session.flush()
    _audit(actor, "membership_removed", user, department)


def _keep_an_admin(actor, membership: Membership) -> None:
    """Refuse to take away the department's last (active) admin, which would lock its admins out
    of their own department; only the platform admin (or the CLI) may do that."""
    if actor is None or actor.is_platform_admin or membership.role != MembershipRole.ADMIN:
        return
    # The admin rows stay locked until commit: when the last two admins step down at the same time,
    # the second waits for the first and then no longer counts it (PostgreSQL re-checks locked rows).
    admins = db.session.scalars(
        select(Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(
            Membership.department_id == membership.department_id,
            Membership.role == MembershipRole.ADMIN,
            User.is_active_account.is_(True),
        )
        .with_for_update(of=Membership)
    ).all()
    if not set(admins) - {membership.id}:
        raise ValidationFailed(
            _(
                "Jedes Amt braucht mindestens eine Person mit der Rolle Amtsadministration. "
                "Geben Sie zuerst einer anderen Person diese Rolle."
            ),
            field="role",
        )


def deactivate_user(actor, user: User) -> None:
    """Lock an account: it can no longer log in and its sessions end now."""
    _require_platform_admin(actor)
    if actor is not None and actor.id == user.id:
        raise ValidationFailed(_("Sie können Ihr eigenes Konto nicht deaktivieren."))
    user.is_active_account = False
    end_sessions(user)
    _audit(actor, "user_deactivated", user)


def reactivate_user(actor, user: User) -> None:
    """Allow a deactivated account to log in again."""
    _require_platform_admin(actor)
    user.is_active_account = True
    db.session.flush()
    _audit(actor, "user_reactivated", user)


def list_staff_users(search: str = "") -> list[User]:
    """Staff accounts, optionally filtered by a part of the email address or name."""
    query = select(User).where(User.kind == UserKind.STAFF).order_by(User.email)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        query = query.where(func.lower(User.email).like(pattern) | func.lower(User.full_name).like(pattern))
    return list(db.session.scalars(query))


def list_departments() -> list[Department]:
    return list(db.session.scalars(select(Department).order_by(Department.name_de)))


def find_department_by_slug(slug: str) -> Department | None:
    return db.session.scalar(select(Department).where(Department.slug == slug))


# --- email context: links are signed at send time, never stored in the outbox -------------


@mail_context("auth_confirm")
def _confirm_context(user, **_):
    return {
        "link": external_url("auth.email_confirm", token=make_token("confirm", user)),
        "valid_hours": max_age("confirm") // 3600,
    }


@mail_context("auth_reset")
def _reset_context(user, **_):
    return {
        "link": external_url("auth.password_reset", token=make_token("reset", user)),
        "valid_minutes": max_age("reset") // 60,
    }


@mail_context("auth_invite")
def _invite_context(user, **_):
    return {
        "link": external_url("auth.invite_accept", token=make_token("invite", user)),
        "valid_days": max_age("invite") // 86400,
    }


@mail_context("auth_already_registered", "auth_password_changed")
def _account_links_context(user, **_):
    return {"login_link": external_url("auth.login"), "reset_link": external_url("auth.password_forgot")}
