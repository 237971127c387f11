"""Stored copies of the shipped notice templates follow a new release unless a department edited them."""

import pytest

from models import NoticeTemplate
from services import admin_config
from services.notices import NOTICE_KINDS, shipped
from services.notices.context import bundled_source
from services.notices.templates import get_template, publish_template
from services.seed import SeedReport
from services.seed.notices import seed_notice_templates
from tests.factories import ServiceFactory, StaffFactory


def test_the_current_release_of_every_shipped_template_is_listed_last():
    for kind in NOTICE_KINDS:
        releases = shipped.RELEASES[kind]
        assert releases[-1] == shipped.digest(bundled_source(kind)), (
            f"templates/notices/{kind}.html changed: append its new SHA-256 to "
            f"services.notices.shipped.RELEASES[{kind!r}] so stored copies of the old text follow it"
        )
        assert len(set(releases)) == len(releases)


EARLIER = "<!-- ältere Fassung -->\n"


@pytest.fixture
def earlier_release(monkeypatch):
    """Pretend the shipped rejection template had an earlier release: today's text with a comment."""
    old = EARLIER + bundled_source("rejection")
    current = shipped.digest(bundled_source("rejection"))
    releases = {**shipped.RELEASES, "rejection": (shipped.digest(old), current)}
    monkeypatch.setattr(shipped, "RELEASES", releases)
    return old


def _copy(service, html, css="", draft_html=None):
    template = NoticeTemplate(service_id=service.id if service else None, kind="rejection",
                              draft_html=html, draft_css=css)
    publish_template(template, None, "Kopie")
    template.draft_html = draft_html if draft_html is not None else html
    return template


def test_unedited_copies_of_an_earlier_release_follow_and_edited_ones_stay(db, earlier_release):
    city = _copy(None, earlier_release)
    unedited = _copy(ServiceFactory(), earlier_release)
    edited = _copy(ServiceFactory(), earlier_release.replace("Ablehnung", "Ablehnung (Amt 32)"))
    styled = _copy(ServiceFactory(), earlier_release, css="h1 { color: #000; }")
    pending = _copy(ServiceFactory(), earlier_release, draft_html=earlier_release + "<p>in Arbeit</p>")

    report = shipped.refresh_unedited_copies()

    assert report.refreshed == [city, unedited]
    assert set(report.edited) == {edited, styled, pending}
    for template in (city, unedited):
        assert [v.number for v in template.versions] == [1, 2]
        assert template.latest.html == bundled_source("rejection") == template.draft_html
        assert template.latest.change_note == shipped.CHANGE_NOTE
    for template in (edited, styled, pending):
        assert len(template.versions) == 1
    assert shipped.refresh_unedited_copies().refreshed == []  # idempotent


def test_the_demo_seed_and_the_command_refresh_unedited_copies(app, db, earlier_release):
    seed_notice_templates(SeedReport())
    city = get_template(None, "rejection")
    city.draft_html = earlier_release
    publish_template(city, None, "so wie eine ältere Installation")
    report = SeedReport()
    seed_notice_templates(report)
    assert report.counts["notice_templates"]["updated"] == 1
    assert city.latest.html == bundled_source("rejection")

    service = ServiceFactory()
    _copy(service, earlier_release)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["seed", "shipped-templates"])
    assert result.exit_code == 0, result.output
    assert f"1 refreshed ({service.slug}:rejection)" in result.output


def test_a_departments_own_template_starts_from_the_shipped_one_without_a_city_wide_copy(db):
    service = ServiceFactory()
    template = admin_config.notice_template_for_edit(service, "rejection", StaffFactory())
    assert template.draft_html == bundled_source("rejection")
