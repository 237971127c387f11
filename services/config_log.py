"""Configuration change log: who changed which setting of a department, when, and what.

Texts are stored as a German msgid with parameters (details["text"]) and translated when shown, so
the log reads in the reader's language; `summary` keeps the German text (rows written before the
msgid was stored have only that).
"""

from dataclasses import dataclass, field

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select

from extensions import db
from models import ConfigChange, Service, WorkflowDefinition

LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class LogText:
    """A log text to translate when shown. Parameter values: text, numbers, {"de": …, "en": …} or a
    lazy text (stored in both languages)."""

    msgid: str
    params: dict = field(default_factory=dict)

    def stored(self) -> dict:
        return {"msgid": self.msgid, "params": {k: _storable(v) for k, v in self.params.items()}}


def N_(msgid: str, **params) -> LogText:  # Babel extracts N_ by default
    """Mark a German msgid for extraction without translating it now (see LogText)."""
    return LogText(msgid, params)


def _storable(value):
    if isinstance(value, LazyString):
        result = {}
        for lang in LANGUAGES:
            with force_locale(lang):
                result[lang] = str(value)
        return result
    return value if isinstance(value, int | float | dict) else str(value)


def _pick(value, lang: str):
    if isinstance(value, dict):
        return value.get(lang) or value.get("de", "")
    return value


def record_change(
    department,
    actor,
    object_type: str,
    object_id,
    action: str,
    summary: "LogText | str" = "",
    details: dict | None = None,
) -> ConfigChange:
    """Append one ConfigChange row (flushes). `department` may be None for installation-wide objects."""
    details = dict(details or {})
    if isinstance(summary, LogText):
        details["text"] = summary.stored()
        summary = render(details["text"], "de")
    change = ConfigChange(
        department_id=department.id if department is not None else None,
        actor_id=actor.id if actor is not None else None,
        object_type=object_type,
        object_id=str(object_id if object_id is not None else "")[:80],
        action=action,
        summary=summary or "",
        details=details,
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


def render(text: dict, lang: str | None = None) -> str:
    """A stored LogText in `lang` (default: the UI's language)."""
    lang = lang or str(get_locale() or "de")
    params = {k: _pick(v, lang) for k, v in (text.get("params") or {}).items()}
    with force_locale(lang):
        return _(text["msgid"], **params)


def describe(change: ConfigChange, names: dict[int, str]) -> str:
    """A readable line for the log page (account changes are recorded with ids only)."""
    text = (change.details or {}).get("text")
    if isinstance(text, dict) and isinstance(text.get("msgid"), str):
        return render(text)
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


_AREAS = {
    "service": _l("Leistung"),
    "form": _l("Formular"),
    "scenario": _l("Szenario"),
    "routing": _l("Zuständigkeit"),
    "workflow": _l("Ablauf"),
    "notice_template": _l("Bescheidvorlage"),
    "user": _l("Konto"),
}


def areas(changes, user_names_: dict[int, str]) -> dict[int, str]:
    """{change id: "Formular: Bewohnerparkausweis"}: what a change was about, named for the reader."""
    from services.notices import notice_title

    lang = str(get_locale() or "de")
    keys = {c.object_id.partition(":")[0] for c in changes}
    query = select(Service).where(Service.slug.in_(keys))
    services = {s.slug: s.title(lang) for s in db.session.scalars(query)}
    query = select(WorkflowDefinition).where(WorkflowDefinition.key.in_(keys))
    workflows = {w.key: w.name for w in db.session.scalars(query)}
    result = {}
    for c in changes:
        key, _sep, kind = c.object_id.partition(":")
        if c.object_type == "user" and c.object_id.isdigit():
            name = user_names_.get(int(c.object_id), c.object_id)
        elif c.object_type == "workflow" and key in workflows:
            name = workflows[key]
        else:
            name = services.get(key, key)
        if kind:
            name = f"{name} – {notice_title(kind)}"
        area = _AREAS.get(c.object_type)
        result[c.id] = f"{area}: {name}" if area is not None else f"{c.object_type} {c.object_id}"
    return result
