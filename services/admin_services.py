"""Department self-service: create/edit services, save form drafts, publish form versions.

Every change records a ConfigChange (services.config_log.record_change). Services flush and
never commit; the actor is always a parameter.
"""

import re
import unicodedata

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from extensions import db
from models import Department, FormDefinition, MembershipRole, Notice, NoticeState, Service, ServiceRequest
from models.base import utcnow
from services import admin_config, designer, retention, scenarios
from services.config_log import N_, LogText, record_change
from services.errors import InvalidDefinition, ValidationFailed
from services.formdefs import publish_form

LEIKA_RE = re.compile(r"^\d{14}$")
SERVICE_FIELDS = (
    "title_de", "title_en", "summary_de", "summary_en", "description_de", "description_en", "leika_key",
    "fee_cents", "processing_days", "retention_years", "login_required", "active", "topic",
)  # fmt: skip


def departments_for_admin(user) -> list[Department]:
    """Departments `user` administers (all active and inactive ones for platform admins)."""
    query = select(Department).order_by(Department.name_de)
    if not user.is_platform_admin:
        ids = user.department_ids(MembershipRole.ADMIN)
        if not ids:
            return []
        query = query.where(Department.id.in_(ids))
    return list(db.session.scalars(query))


def services_of(departments) -> list[Service]:
    ids = [d.id for d in departments]
    if not ids:
        return []
    query = select(Service).where(Service.department_id.in_(ids)).order_by(Service.title_de)
    return list(db.session.scalars(query))


FAILED_NOTICES_SHOWN = 50


def failed_notices_of(departments) -> dict[int, list[Notice]]:
    """Notices of the departments' services that could not be created (newest first, at most
    FAILED_NOTICES_SHOWN), with request and service loaded: the admin overview points at them,
    as a broken notice template is usually the cause and the admin is who fixes it.
    Grouped by department id; every department of `departments` has an entry."""
    ids = [d.id for d in departments]
    grouped: dict[int, list[Notice]] = {department_id: [] for department_id in ids}
    if not ids:
        return grouped
    query = (
        select(Notice)
        .join(ServiceRequest, Notice.request_id == ServiceRequest.id)
        .where(ServiceRequest.service_id.in_(select(Service.id).where(Service.department_id.in_(ids))))
        .where(Notice.state == NoticeState.FAILED)
        .options(joinedload(Notice.request).joinedload(ServiceRequest.service))
        .order_by(Notice.id.desc())
        .limit(FAILED_NOTICES_SHOWN)
    )
    for notice in db.session.scalars(query):
        grouped[notice.request.service.department_id].append(notice)
    return grouped


def validate_leika(value: str | None) -> str | None:
    """Normalised LeiKa key (14 digits, spaces allowed while typing) or None; raises ValidationFailed."""
    value = re.sub(r"\s+", "", value or "")
    if not value:
        return None
    if not LEIKA_RE.match(value):
        raise ValidationFailed(_("Der LeiKa-Schlüssel besteht aus genau 14 Ziffern."), field="leika_key")
    return value


def slugify(text: str) -> str:
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:70] or "leistung"


def _unique_slug(base: str) -> str:
    slug, n = base, 2
    while db.session.scalar(select(Service.id).where(Service.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def create_service(department, data: dict, actor) -> Service:
    """A new service of `department` with a starter form draft (not yet published)."""
    values = _clean(data)
    service = Service(department_id=department.id, slug=_unique_slug(slugify(values["title_de"])), **values)
    db.session.add(service)
    db.session.flush()
    ensure_definition(service)
    record_change(
        department,
        actor,
        "service",
        service.slug,
        "create",
        N_("Leistung „%(title)s“ angelegt", title=_titles(service)),
        {"values": values},
    )
    return service


def update_service(service, data: dict, actor) -> Service:
    values = _clean(data)
    changed = {k: [getattr(service, k), v] for k, v in values.items() if getattr(service, k) != v}
    for key, value in values.items():
        setattr(service, key, value)
    db.session.flush()
    if changed:
        record_change(
            service.department,
            actor,
            "service",
            service.slug,
            "update",
            N_(
                "Leistung „%(title)s“ geändert: %(fields)s",
                title=_titles(service),
                fields=", ".join(sorted(changed)),
            ),
            {"changed": changed},
        )
    return service


def _titles(service) -> dict:
    return {"de": service.title_de, "en": service.title_en or service.title_de}


def _clean(data: dict) -> dict:
    values = {k: data[k] for k in SERVICE_FIELDS if k in data}
    values["leika_key"] = validate_leika(values.get("leika_key"))
    for key in ("title_de", "title_en", "summary_de", "summary_en", "description_de", "description_en"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if not values.get("title_de"):
        raise ValidationFailed(_("Bitte geben Sie einen Titel ein."), field="title_de")
    values["title_en"] = values.get("title_en") or values["title_de"]
    for key in ("fee_cents", "processing_days"):
        if key in values and (values[key] is None or values[key] < 0):
            raise ValidationFailed(_("Bitte geben Sie eine Zahl ab 0 ein."), field=key)
    if "retention_years" in values:
        years = values["retention_years"]
        if not isinstance(years, int) or not retention.MIN_YEARS <= years <= retention.MAX_YEARS:
            raise ValidationFailed(
                _("Die Aufbewahrungsfrist muss zwischen 1 und 30 Jahren liegen."), field="retention_years"
            )
    return values


# --- form definition -------------------------------------------------------------------------


def ensure_definition(service) -> FormDefinition:
    """The service's FormDefinition, created with a starter draft when missing."""
    definition = db.session.scalar(select(FormDefinition).where(FormDefinition.service_id == service.id))
    if definition is None:
        definition = FormDefinition(
            service_id=service.id, draft=designer.new_document(service.title_de, service.title_en)
        )
        db.session.add(definition)
        db.session.flush()
    return definition


def save_draft(
    definition,
    document: dict,
    actor,
    summary: LogText,
    action: str = "edit",
    renamed: tuple[str, str] | None = None,
) -> FormDefinition:
    """Store an edited draft (valid or not: nothing typed is lost) and log the change.

    `renamed` (old key, new key): the edit renamed a field. It is remembered until the draft is
    published; then the routing rules follow it (they read the published form until then)."""
    if renamed is not None:
        _remember_rename(definition, *renamed)
    definition.draft = document
    definition.draft_updated_at = utcnow()
    definition.draft_updated_by_id = actor.id if actor is not None else None
    db.session.flush()
    service = definition.service
    record_change(service.department, actor, "form", service.slug, action, summary)
    return definition


def _remember_rename(definition, old: str, new: str) -> None:
    """Chain renames in draft_renames {key when published: key now}; a rename back drops the entry."""
    renames = dict(definition.draft_renames or {})
    origin = next((first for first, now in renames.items() if now == old), None)
    if origin is None and old in renames:
        return  # a field added after `old` was renamed away, under its old key: nothing to follow
    origin = origin or old
    renames.pop(origin, None)
    if origin != new:
        renames[origin] = new
    definition.draft_renames = renames


def set_require_latest(definition, value: bool, actor) -> None:
    if definition.require_latest == value:
        return
    definition.require_latest = value
    db.session.flush()
    service = definition.service
    summary = (
        N_("Entwürfe müssen auf die neueste Formularversion wechseln")
        if value
        else N_("Entwürfe dürfen auf ihrer Formularversion abgeschickt werden")
    )
    record_change(
        service.department, actor, "form", service.slug, "require_latest", summary, {"require_latest": value}
    )


def publish_definition(definition, actor, change_note: str):
    """Publish the draft as a new version; refuses invalid drafts and failing scenarios.

    Raises InvalidDefinition (validator problems) or ValidationFailed (failing scenarios,
    details["results"] lists them; or a missing change note).
    """
    if not (change_note or "").strip():
        raise ValidationFailed(_("Bitte beschreiben Sie kurz, was sich geändert hat."), field="change_note")
    problems = designer.validate_definition(definition.draft)
    if problems:
        raise InvalidDefinition(
            problems, _("Das Formular enthält noch Fehler und kann nicht veröffentlicht werden.")
        )
    failed = scenarios.failing(scenarios.run_scenarios(definition))
    if failed:
        names = ", ".join(r.scenario.name for r in failed)
        raise ValidationFailed(
            _(
                "Veröffentlichen nicht möglich: %(count)s Szenario(s) schlagen fehl: %(names)s.",
                count=len(failed),
                names=names,
            ),
            results=failed,
        )
    latest = definition.latest
    version = publish_form(definition, actor, change_note.strip())
    if latest is not None and version.id == latest.id:
        message = _(
            "Der Entwurf ist unverändert gegenüber Version %(number)s; es wurde keine neue Version angelegt.",
            number=latest.number,
        )
        raise ValidationFailed(message)
    service = definition.service
    present = admin_config.answer_keys(version.document)
    renames = {old: new for old, new in (definition.draft_renames or {}).items() if new in present}
    version.renamed_fields = renames or None  # older versions' answers are routed through them
    admin_config.apply_field_renames(service, renames, actor)
    definition.draft_renames = {}
    record_change(
        service.department,
        actor,
        "form",
        service.slug,
        "publish",
        N_(
            "Formular Version %(number)s veröffentlicht: %(note)s",
            number=version.number,
            note=version.change_note,
        ),
        {"version": version.number},
    )
    return version


def import_definition(definition, text: str, actor) -> list:
    """Replace the draft with an imported JSON document; returns validator problems.

    Raises ValidationFailed when the text is not a JSON object and InvalidDefinition when the
    designer could not show it (pages/fields not lists of keyed objects); the draft is kept then."""
    document, message = designer.parse_import(text)
    if document is None:
        raise ValidationFailed(message, field="document")
    broken = designer.structure_errors(document)
    if broken:
        raise InvalidDefinition(broken)
    save_draft(definition, document, actor, N_("Formular aus JSON importiert"), action="import")
    return designer.validate_definition(document)
