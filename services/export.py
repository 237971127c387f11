"""CSV export of the filtered queue, respecting the privacy class of every answer field."""

import csv
import io
import re

from flask_babel import gettext as _

from models.base import city_time

# A cell starting with one of these is a formula for spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INDEX = re.compile(r"\.\d+(?=\.|$)")


def safe_cell(value) -> str:
    """The cell as text, defused when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def is_sensitive(spec, field_key: str) -> bool:
    """Whether a formatted answer row shows sensitive data (a group counts if any child does)."""
    field = spec.field(_INDEX.sub("", field_key))
    if field is None:
        return True  # unknown shape: rather leave it out
    return field.privacy == "sensitive" or any(child.privacy == "sensitive" for child in field.children)


def queue_csv(rows, locale: str, sensitive_department_ids, state_label, assignee_name) -> str:
    """CSV (semicolon-separated, UTF-8 with BOM for spreadsheet programs) of `rows`.

    Sensitive answers appear only for requests of departments in `sensitive_department_ids`
    (the departments the user administers). `state_label(req)` / `assignee_name(req)` format those columns.
    """
    fixed = [_("Aktenzeichen"), _("Leistung"), _("Status"), _("Antragsteller:in"), _("Eingegangen"),
             _("Fällig"), _("Bearbeitung")]
    columns: dict[str, str] = {}
    records = []
    for req in rows:
        answers = _answer_cells(req, locale, req.department_id in sensitive_department_ids)
        for key, (label, _value) in answers.items():
            columns.setdefault(key, label)
        records.append(([req.reference, req.service.title(locale), state_label(req), req.applicant_name,
                         _date(req.submitted_at), _date(req.due_at), assignee_name(req)], answers))
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in fixed + list(columns.values())])
    for cells, answers in records:
        cells += [answers[key][1] if key in answers else "" for key in columns]
        writer.writerow([safe_cell(c) for c in cells])
    return out.getvalue()


def _answer_cells(req, locale, include_sensitive) -> dict[str, tuple[str, str]]:
    from forms.dynamic import format_answers  # the form engine (imported late: built in parallel)
    from services.formdefs import load_spec

    spec = load_spec(req.form_version)
    cells = {}
    for section in format_answers(spec, req.answers, locale, fmt="text"):
        for row in section.rows:
            if include_sensitive or not is_sensitive(spec, row.field_key):
                cells[row.field_key] = (row.label, str(row.value))
    return cells


def _date(value) -> str:
    return city_time(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""  # as on the pages
