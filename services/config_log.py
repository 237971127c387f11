"""Configuration change log: who changed which setting of a department, when, and what."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from extensions import db
from models import ConfigChange


def record_change(
    department,
    actor,
    object_type: str,
    object_id,
    action: str,
    summary: str = "",
    details: dict | None = None,
) -> ConfigChange:
    """Append one ConfigChange row (flushes). `department` may be None for installation-wide objects."""
    change = ConfigChange(
        department_id=department.id if department is not None else None,
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=str(object_id if object_id is not None else "")[:80],
        action=action,
        summary=summary or "",
        details=details or {},
    )
    db.session.add(change)
    db.session.flush()
    return change


def changes_for(department, limit: int = 200) -> list[ConfigChange]:
    """The department's configuration changes, newest first."""
    query = (
        select(ConfigChange)
        .where(ConfigChange.department_id == department.id)
        .order_by(ConfigChange.created_at.desc(), ConfigChange.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def actor_names(changes) -> dict[int, str]:
    """{user id: display name} for the actors of `changes` (one query)."""
    from models import User

    ids = {c.actor_id for c in changes if c.actor_id is not None}
    if not ids:
        return {}
    users = db.session.scalars(select(User).where(User.id.in_(ids)))
    return {u.id: u.full_name or u.email for u in users}


_ACCOUNT_ACTIONS = {
    "staff_created": _l("Konto für %(name)s angelegt"),
    "membership_set": _l("%(name)s gehört zum Amt (Rolle: %(role)s)"),
    "membership_removed": _l("%(name)s aus dem Amt entfernt"),
}
_ROLE_NAMES = {"clerk": _l("Sachbearbeitung"), "admin": _l("Amtsadministration")}


def describe(change: ConfigChange, names: dict[int, str]) -> str:
    """A readable line for the log page (account changes are recorded with ids only)."""
    template = _ACCOUNT_ACTIONS.get(change.action) if change.object_type == "user" else None
    if template is None:
        return change.summary or change.action
    name = names.get(int(change.object_id)) if change.object_id.isdigit() else None
    role = (change.details or {}).get("role", "")
    return str(template) % {"name": name or change.object_id, "role": _ROLE_NAMES.get(role, role)}


def user_names(changes) -> dict[int, str]:
    """{user id: name} for the accounts account-changes refer to (object_type "user")."""
    from models import User

    ids = {int(c.object_id) for c in changes if c.object_type == "user" and c.object_id.isdigit()}
    if not ids:
        return {}
    return {u.id: u.full_name or u.email for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
