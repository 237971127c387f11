"""Notice templates: edit the draft, publish an immutable version (only if it renders with sample data)."""

import json

from flask import has_app_context
from flask_babel import gettext as _
from jinja2 import TemplateSyntaxError, UndefinedError
from sqlalchemy import select

from extensions import db
from models import NoticeKind, NoticeTemplate, NoticeTemplateVersion, WorkflowVersion
from services.errors import InvalidDefinition
from services.notices import NOTICE_KINDS, notice_title
from services.notices.render import RenderFailed, qr_svg, render_pdf
from services.notices.template_errors import describe_syntax_error, describe_undefined, template_line
from services.notices.templates_env import ENV, TemplateRenderError, render_template
from services.workflow.definitions import default_document

SAMPLE_URL = "https://amtsweg.invalid/verify/ABCD-EFGH-JKMN"


def get_template(service, kind: str) -> NoticeTemplate | None:
    """The template of `service` (None: the city-wide default) for `kind`."""
    owner = (
        NoticeTemplate.service_id.is_(None) if service is None else NoticeTemplate.service_id == service.id
    )
    return db.session.scalar(select(NoticeTemplate).where(owner, NoticeTemplate.kind == kind))


def update_template_draft(template: NoticeTemplate, html: str, css: str = "") -> NoticeTemplate:
    """Store an edited draft (not used for notices until published)."""
    template.draft_html, template.draft_css = html, css or ""
    db.session.flush()
    return template


def publish_template(template: NoticeTemplate, actor=None, change_note: str = "") -> NoticeTemplateVersion:
    """Freeze the draft as the next version; raises InvalidDefinition if it does not render."""
    errors = check_template(template.kind, template.draft_html, template.draft_css)
    if errors:
        raise InvalidDefinition(errors)
    latest = template.latest
    version = NoticeTemplateVersion(
        template=template,
        number=(latest.number + 1) if latest else 1,
        html=template.draft_html,
        css=template.draft_css or "",
        change_note=change_note,
        published_by_id=actor.id if actor is not None else None,
    )
    db.session.add(version)
    db.session.flush()
    return version


def check_template(kind: str, html: str, css: str = "") -> list[tuple[str, str]]:
    """[(part, reason)]: empty when the template renders to a PDF with realistic sample data."""
    try:
        render_sample_pdf(kind, html, css)
    except InvalidDefinition as exc:
        return exc.errors
    return []


def render_sample_pdf(kind: str, html: str, css: str = "", title: str = "", context=None) -> bytes:
    """The PDF of `html`/`css` with sample data; raises InvalidDefinition naming what went wrong.

    Preview and publish share this check, so both turn every error of an admin's template
    (Jinja, sandbox, or Python errors such as `{{ 1/0 }}`) into a message, never a 500.
    """
    if kind not in NOTICE_KINDS:
        raise InvalidDefinition([("kind", _("Unbekannte Bescheidart."))])
    context = context or sample_context(kind)  # a service's preview brings its own (notices.preview)
    try:
        page = render_template(html, context)
        return render_pdf(page, css, json.dumps({"sample": True}), title=title)
    except Exception as exc:  # any error of an admin's template is a validation message, never a 500
        raise InvalidDefinition([("html", describe_template_error(exc, context))]) from exc


def describe_template_error(exc: Exception, context: dict) -> str:
    """What is wrong with a template that failed to render with `context`, in the admin's words
    ("Zeile 3: „nmae“ gibt es bei diesem Wert nicht."). Publish, preview and the worker share it."""
    if isinstance(exc, TemplateSyntaxError):
        return describe_syntax_error(exc, ENV.filters, ENV.tests)
    if isinstance(exc, UndefinedError):
        return describe_undefined(exc, template_line(exc), context)
    if isinstance(exc, TemplateRenderError):
        return _("Vorlage nicht erlaubt oder fehlerhaft: %(reason)s", reason=exc)
    if isinstance(exc, (RenderFailed, ValueError)):
        return str(exc)
    return _python_error(exc)


def _python_error(exc: Exception) -> str:
    """A Python error raised while rendering, with the template line where Jinja's traceback has one."""
    if isinstance(exc, ZeroDivisionError):
        problem = _("Division durch null")
    else:
        problem = f"{type(exc).__name__}: {exc}"
    line = template_line(exc)
    if line is None:
        return _("Die Vorlage löst einen Fehler aus: %(problem)s", problem=problem)
    return _("Zeile %(line)s: Die Vorlage löst einen Fehler aus: %(problem)s", line=line, problem=problem)


# Every decision key docs/notices.md documents, with an example value.
DOCUMENTED_DECISION = {
    "text": "Beispieltext der Entscheidung.",
    "reasons": "Beispielbegründung.",
    "conditions": ["Beispielauflage."],
    "documents": ["Meldebescheinigung"],
    "deadline": "2026-03-16",
    "valid_until": "2027-03-01",
    "legal_basis": "Beispielsatzung",
    "fee_due_date": "2026-04-01",
}
_FIELD_SAMPLES = {"lines": ["Beispielzeile"], "checkbox": True}


def decision_sample(kind: str) -> dict:
    """`decision` of the sample data: the documented keys and every public field of a workflow
    transition that issues a notice of `kind` (the shipped workflows, and with an app context every
    published version), so a template may print any key a real decision can have, and a misspelled
    one fails the check."""
    sample = dict(DOCUMENTED_DECISION)
    documents = [default_document()]
    if has_app_context():
        documents += db.session.scalars(select(WorkflowVersion.document)).all()
    for document in documents:
        for transition in document.get("transitions", []):
            effects = transition.get("effects", [])
            if not any(e.get("type") == "issue_notice" and e.get("kind") == kind for e in effects):
                continue
            for field in transition.get("fields", []):
                if field.get("public"):
                    sample.setdefault(field["key"], _FIELD_SAMPLES.get(field.get("type"), "Beispieltext"))
    return sample


def sample_context(kind: str) -> dict:
    """Realistic example data (same shape as services.notices.context.build_context) for previews."""
    return {
        "notice": {
            "kind": kind,
            "title": notice_title(kind),
            "reference": "DU-2026-000123",
            "revision": 1,
            "date": "2026-03-02T09:30:00+00:00",
            "verification_code": "ABCD-EFGH-JKMN",
            "verify_url": SAMPLE_URL,
            "verify_base_url": SAMPLE_URL.rsplit("/", 1)[0],
            "test_mode": True,
        },
        "department": {
            "name": "Straßenverkehrsamt",
            "address_lines": ["Musterstraße 1", "47051 Duisburg"],
            "email": "verkehr@stadt-duisburg.invalid",
            "phone": "0203 000-0",
        },
        "service": {"title": "Bewohnerparkausweis", "leika_key": ""},
        "applicant": {
            "name": "Erika Mustermann",
            "address_lines": ["Beispielweg 5", "47057 Duisburg"],
            "has_account": True,
        },
        "request": {"reference": "DU-2026-000123", "submitted_at": "2026-02-20T14:05:00+00:00"},
        "answers": [
            {
                "title": "Angaben",
                "rows": [
                    {"label": "Name", "value": "Erika Mustermann", "key": "name"},
                    {"label": "Kennzeichen", "value": "DU-EM 123", "key": "kennzeichen"},
                ],
            }
        ],
        "relevant_answers": [{"label": "Kennzeichen", "value": "DU-EM 123", "key": "kennzeichen"}],
        "attachments": [{"name": "fahrzeugschein.pdf", "size": 183_204, "sha256": "0" * 64}],
        "decision": decision_sample(kind),
        "fee": {
            "positions": [{"label": "Verwaltungsgebühr", "cents": 3070}],
            "total_cents": 3070,
            "due_date": "2026-04-01",
        }
        if kind in (NoticeKind.FEE, NoticeKind.APPROVAL)
        else None,
        "qr_svg": qr_svg(SAMPLE_URL),
    }
