"""The plain-data context a notice template sees, and the JSON embedded in the PDF."""

import json

from flask import current_app
from sqlalchemy import or_, select

from extensions import db
from models import NoticeKind, NoticeTemplate, NoticeTemplateVersion
from services.field_renames import chain_for, latest_key
from services.notices import notice_title
from services.notices.templates_env import LAYOUT_DIR

ADDRESS_KEYS = {"street", "postcode", "city"}
MAX_RELEVANT_ROWS = 12


def template_for(notice):
    """(html, css, version or None): the service's template, else the city-wide default, else bundled."""
    city_wide = NoticeTemplate.service_id.is_(None)
    version = db.session.scalar(  # one statement: the service's template first, its latest version
        select(NoticeTemplateVersion)
        .join(NoticeTemplate, NoticeTemplateVersion.template_id == NoticeTemplate.id)
        .where(
            NoticeTemplate.kind == notice.kind,
            or_(NoticeTemplate.service_id == notice.request.service_id, city_wide),
        )
        .order_by(city_wide, NoticeTemplateVersion.number.desc())
        .limit(1)
    )
    if version is not None:
        return version.html, version.css, version
    return bundled_source(notice.kind), "", None


def bundled_source(kind: str) -> str:
    return (LAYOUT_DIR / f"{kind}.html").read_text(encoding="utf-8")


def verify_url(code: str) -> str:
    return f"{current_app.config['BASE_URL']}/verify/{code}"


def build_context(notice) -> dict:
    """Everything a template may use, as dicts/strings/numbers (never models)."""
    req = notice.request
    locale = "de"  # notices are official documents in German
    department, service = req.department, req.service
    sections = answer_sections(req, locale)
    keys = notice.data.get("answer_keys")  # the workflow's choice, in the latest form's field keys
    from services.notices.render import qr_svg

    return {
        "notice": {
            "kind": notice.kind,
            "title": notice_title(notice.kind),
            "reference": req.reference,
            "revision": notice.revision,
            "date": notice.issued_at.isoformat() if notice.issued_at else None,
            "verification_code": notice.verification_code,
            "verify_url": verify_url(notice.verification_code),
            "verify_base_url": f"{current_app.config['BASE_URL']}/verify",
            "test_mode": current_app.config.get("ENV_NAME") != "production",
        },
        "department": department_context(department),
        "service": {"title": service.title(locale), "leika_key": service.leika_key or ""},
        "applicant": {
            "name": req.applicant_name or (req.applicant.full_name if req.applicant is not None else ""),
            "address_lines": address_lines(req.answers, applicant_address_key(req)),
            "has_account": req.applicant_id is not None,  # without one: no Postfach, the status link
        },
        "request": {"reference": req.reference, "submitted_at": req.submitted_at.isoformat()},
        "answers": sections,
        "relevant_answers": relevant_rows(sections, keys, chain_for(req.form_version_id) if keys else ()),
        "attachments": attachment_rows(req),
        "decision": dict(notice.data),
        "fee": fee_table(notice, req),
        "qr_svg": qr_svg(verify_url(notice.verification_code)),
    }


def department_context(department) -> dict:
    """The template's `department`: the letterhead of the office that issues the notice."""
    return {
        "name": department.name("de"),
        "address_lines": [line.strip() for line in (department.address or "").splitlines() if line.strip()],
        "email": department.email or "",
        "phone": department.phone or "",
    }


def answer_sections(req, locale: str) -> list[dict]:
    """All answers as submitted, formatted by field type (form engine), as plain text rows."""
    from services.formdefs import load_spec

    return format_sections(load_spec(req.form_version), req.answers, locale)


def format_sections(spec, answers: dict, locale: str) -> list[dict]:
    """`answers` of the form `spec` as the template's `answers`: sections of plain text rows."""
    from forms.dynamic import format_answers

    return [
        {
            "title": str(section.title),
            "rows": [
                {"label": str(row.label), "value": str(row.value), "key": row.field_key}
                for row in section.rows
            ],
        }
        for section in format_answers(spec, answers, locale, fmt="text")
    ]


def relevant_rows(sections: list[dict], keys, chain: tuple[dict, ...] = ()) -> list[dict]:
    """The rows of the answers a workflow names (`keys`, the latest form's field keys: `chain` maps an
    older version's keys to them), else the first few."""
    rows = [row for section in sections for row in section["rows"]]
    if keys:
        wanted = set(keys)
        return [row for row in rows if latest_key(row["key"], chain) in wanted]
    return rows[:MAX_RELEVANT_ROWS]


def applicant_address_key(req) -> str | None:
    from services.formdefs import load_spec

    return load_spec(req.form_version).applicant_address_key


def address_lines(answers: dict, key: str | None) -> list[str]:
    """The applicant's postal address (the field marked `applicant_address`) as window lines.

    Only the marked field: any other address (the place of use, the business premises) is not where
    the applicant receives mail, so a form without the marker gets no address block.
    """
    value = answers.get(key) if key else None
    if not isinstance(value, dict) or not set(value) >= ADDRESS_KEYS:
        return []
    street = " ".join(str(value.get(k) or "") for k in ("street", "number")).strip()
    town = " ".join(str(value.get(k) or "") for k in ("postcode", "city")).strip()
    return [line for line in (street, town) if line]


def attachment_rows(req) -> list[dict]:
    return [
        {"name": a.original_name, "size": a.size, "sha256": a.sha256}
        for a in sorted(req.attachments, key=lambda a: a.id)
        if a.message_id is None
    ]


def fee_table(notice, req) -> dict | None:
    """Fee items from the decision data; fee and approval notices default to the computed fee."""
    data = notice.data
    items = [
        {"label": str(i.get("label", "")), "cents": int(i.get("cents", 0))} for i in data.get("fee_items", [])
    ]
    if not items:
        cents = data.get("fee_cents")
        if cents is None and notice.kind in (NoticeKind.FEE, NoticeKind.APPROVAL):
            cents = (req.computed or {}).get("fee_cents", req.service.fee_cents)
        if cents:
            items = [{"label": f"Verwaltungsgebühr: {req.service.title('de')}", "cents": int(cents)}]
    if not items:
        return None
    return {
        "positions": items,
        "total_cents": sum(i["cents"] for i in items),
        "due_date": data.get("fee_due_date"),
    }


def attachment_json(notice, context: dict) -> str:
    """The machine-readable decision embedded in the PDF (bescheid.json)."""
    req = notice.request
    body = {
        "format": "amtsweg-bescheid",
        "version": 1,
        "kind": notice.kind,
        "title": context["notice"]["title"],
        "reference": req.reference,
        "revision": notice.revision,
        "issued_at": context["notice"]["date"],
        "verification_code": notice.verification_code,
        "verify_url": context["notice"]["verify_url"],
        "department": {"slug": req.department.slug, "name": context["department"]["name"]},
        "service": {
            "slug": req.service.slug,
            "title": context["service"]["title"],
            "leika_key": context["service"]["leika_key"] or None,
        },
        "decision": context["decision"],
        "fee": context["fee"],
    }
    if notice.kind == NoticeKind.RECEIPT:
        body["submitted_at"] = context["request"]["submitted_at"]
        body["answers"] = req.answers
        body["attachments"] = context["attachments"]
    return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True, default=str)
