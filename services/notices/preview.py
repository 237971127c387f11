"""Preview data for a service's own notice template: its department, its title, its own form.

The publish check renders every template with the generic sample data
(services.notices.templates.sample_context), so a template passes or fails the same way whichever
service it belongs to. A department previewing its template wants to see its own letter, though:
its letterhead and the answers of its own form (typical sample answers of the published version,
as the fee-rule check uses them), not a parking permit's.
"""

import logging

from services.computed_checks import sample_answer_sets
from services.formdefs import latest_version, load_spec
from services.notices.context import address_lines, department_context, format_sections, relevant_rows
from services.notices.templates import sample_context

log = logging.getLogger(__name__)


def preview_context(kind: str, service=None) -> dict:
    """sample_context(kind), with `service`'s department, title and form answers where it has them."""
    context = sample_context(kind)
    if service is None:
        return context
    department = department_context(service.department)
    department["address_lines"] = department["address_lines"] or context["department"]["address_lines"]
    context["department"] = department
    context["service"] = {"title": service.title("de"), "leika_key": service.leika_key or ""}
    version = latest_version(service)
    if version is None:
        return context
    try:
        spec = load_spec(version)
        sets = sample_answer_sets(version.document)
        answers = sets[1].answers if len(sets) > 1 else {}
        sections = [section for section in format_sections(spec, answers, "de") if section["rows"]]
    except Exception:  # a preview never fails for its sample data: the generic answers stay
        log.exception("sample answers of %s version %s could not be formatted", service.slug, version.number)
        return context
    if sections:
        context["answers"] = sections
        context["relevant_answers"] = relevant_rows(sections, None)
        address = address_lines(answers, spec.applicant_address_key)
        if address:
            context["applicant"] = {**context["applicant"], "address_lines": address}
    return context
