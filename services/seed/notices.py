"""Seed: the city-wide default notice templates (one per kind), published as version 1."""

from extensions import db
from models import NoticeTemplate
from services.notices import NOTICE_KINDS
from services.notices.context import bundled_source
from services.notices.shipped import refresh_unedited_copies
from services.notices.templates import get_template, publish_template
from services.seed import CREATED, UNCHANGED, UPDATED, SeedReport

KIND_LABEL = "notice_templates"


def seed_notice_templates(report: SeedReport) -> None:
    """Create and publish the bundled German templates where no city-wide template exists yet.

    Existing templates are left alone, unless they are unedited copies of an earlier shipped release:
    those are republished with the current one (services.notices.shipped).
    """
    for kind in NOTICE_KINDS:
        template = get_template(None, kind)
        if template is not None and template.latest is not None:
            report.record(KIND_LABEL, UNCHANGED)
            continue
        if template is None:
            template = NoticeTemplate(
                service_id=None, kind=str(kind), draft_html=bundled_source(kind), draft_css=""
            )
            db.session.add(template)
            db.session.flush()
        publish_template(template, actor=None, change_note="Mustervorlage der Stadt Duisburg")
        report.record(KIND_LABEL, CREATED)
    for _template in refresh_unedited_copies().refreshed:
        report.record(KIND_LABEL, UPDATED)
