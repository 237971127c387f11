"""Clerk queue pages: scoping, filters (allow-listed), pagination, claim next, dashboard, CSV export."""

import csv
import io
import re
from datetime import timedelta

import pytest

from models import MembershipRole
from models.base import utcnow
from tests.factories import (
    CitizenFactory,
    DepartmentFactory,
    ServiceFactory,
    ServiceRequestFactory,
    clerk_of,
    started_request,
)


@pytest.fixture
def dept(db):
    return DepartmentFactory()


@pytest.fixture
def clerk(dept, login_as):
    return login_as(clerk_of(dept))


def test_queue_shows_only_own_departments_requests(client, dept, clerk):
    mine = ServiceRequestFactory(service=ServiceFactory(department=dept), applicant_name="Anna Eigen")
    other = ServiceRequestFactory(applicant_name="Otto Fremd")
    resp = client.get("/sachbearbeitung/")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert mine.reference in html and "Anna Eigen" in html
    assert other.reference not in html and "Otto Fremd" not in html


@pytest.mark.parametrize(
    "query",
    [
        "sort=id",
        "sort=due_at%20desc",
        "assignee=boss",
        "state=x%27--",
        "service=abc",
        "overdue=yes",
        "after=garbage",
    ],
)
def test_queue_rejects_unknown_values_with_400(client, clerk, query):
    assert client.get(f"/sachbearbeitung/?{query}").status_code == 400


@pytest.mark.parametrize("query", ["page=2", "foo=bar", "page=2&sort=newest&utm_source=mail"])
def test_queue_ignores_unknown_parameter_names(client, dept, clerk, query):
    req = started_request(service=ServiceFactory(department=dept))
    resp = client.get(f"/sachbearbeitung/?{query}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert req.reference in html and "Unbekannter Parameter" not in html


def test_queue_filters_and_search(client, dept, clerk):
    svc = ServiceFactory(department=dept)
    late = ServiceRequestFactory(service=svc, due_at=utcnow() - timedelta(days=2), applicant_name="Lena Spät")
    ok = ServiceRequestFactory(service=svc, applicant_name="Otto Pünktlich")
    html = client.get("/sachbearbeitung/?overdue=1").get_data(as_text=True)
    assert late.reference in html and ok.reference not in html
    html = client.get(f"/sachbearbeitung/?q={ok.reference.lower()}").get_data(as_text=True)
    assert ok.reference in html and late.reference not in html
    html = client.get("/sachbearbeitung/?q=p%C3%BCnktlich").get_data(as_text=True)
    assert ok.reference in html and late.reference not in html


def test_queue_state_filter_uses_workflow_states(client, dept, clerk):
    req = started_request(service=ServiceFactory(department=dept))
    assert client.get("/sachbearbeitung/?state=eingegangen").status_code == 200
    assert req.reference in client.get("/sachbearbeitung/?state=eingegangen").get_data(as_text=True)
    assert req.reference not in client.get("/sachbearbeitung/?state=rueckfrage").get_data(as_text=True)
    assert client.get("/sachbearbeitung/?state=erfunden").status_code == 400


def test_queue_paginates_with_opaque_cursor(client, dept, clerk):
    svc = ServiceFactory(department=dept)
    base = utcnow()
    made = [ServiceRequestFactory(service=svc, due_at=base + timedelta(hours=i)) for i in range(30)]
    first = client.get("/sachbearbeitung/?sort=due").get_data(as_text=True)
    assert made[0].reference in first and made[29].reference not in first
    import re

    link = re.search(r'href="(/sachbearbeitung/\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert made[29].reference in second and made[0].reference not in second


def test_queue_denies_citizens_and_redirects_anonymous(client, db, login_as):
    assert client.get("/sachbearbeitung/").status_code in (302, 303)
    login_as(CitizenFactory())
    assert client.get("/sachbearbeitung/").status_code == 403


def test_claim_next_takes_oldest_and_opens_it(client, dept, clerk):
    svc = ServiceFactory(department=dept)
    old = ServiceRequestFactory(service=svc, submitted_at=utcnow() - timedelta(days=3))
    ServiceRequestFactory(service=svc)
    resp = client.post("/sachbearbeitung/naechster")
    assert resp.status_code in (302, 303)
    assert resp.headers["Location"].endswith(f"/sachbearbeitung/antraege/{old.public_id}")
    from extensions import db

    db.session.refresh(old)
    assert old.assignee_id == clerk.id


def test_claim_next_when_nothing_left(client, clerk):
    resp = client.post("/sachbearbeitung/naechster", follow_redirects=True)
    assert "keinen offenen" in resp.get_data(as_text=True)


def test_dashboard_counts_and_median(client, dept, clerk):
    svc = ServiceFactory(department=dept, title_de="Sondernutzung")
    now = utcnow()
    ServiceRequestFactory(service=svc, due_at=now - timedelta(days=1))
    ServiceRequestFactory(service=svc, citizen_replied_at=now)
    for days in (2, 4, 10):
        ServiceRequestFactory(
            service=svc, submitted_at=now - timedelta(days=days + 1), decided_at=now - timedelta(days=1)
        )
    html = client.get("/sachbearbeitung/uebersicht").get_data(as_text=True)
    assert "Sondernutzung" in html
    assert "Überfällige Anträge: <strong>1</strong>" in html
    assert "Anträge mit eingegangener Antwort: <strong>1</strong>" in html and "replied=1" in html
    assert "4,0" in html  # median of 2, 4 and 10 days


def test_dashboard_counts_decisions_in_singular_and_plural(client, dept, clerk):
    svc = ServiceFactory(department=dept)
    now = utcnow()
    ServiceRequestFactory(service=svc, submitted_at=now - timedelta(days=3), decided_at=now - timedelta(1))
    html = client.get("/sachbearbeitung/uebersicht").get_data(as_text=True)
    assert "(1 Entscheidung)" in html and "1 Entscheidungen" not in html


def _csv(resp):
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))


def test_export_csv_defuses_formulas_and_hides_sensitive_fields(client, dept, db, login_as):
    svc = ServiceFactory(department=dept)
    req = started_request(service=svc, answers={"name": '=HYPERLINK("http://evil")'})
    req.applicant_name = "@Mallory"
    db.session.commit()
    login_as(clerk_of(dept))
    rows = _csv(client.get("/sachbearbeitung/export.csv"))
    assert rows[0][0] == "Aktenzeichen"
    assert rows[1][0] == req.reference
    assert rows[1][3] == "'@Mallory"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_export_csv_sensitive_only_for_department_admin(client, dept, db, login_as):
    from tests.factories import MINIMAL_FORM, form_version_for

    svc = ServiceFactory(department=dept)
    doc = {
        **MINIMAL_FORM,
        "pages": [
            {
                **MINIMAL_FORM["pages"][0],
                "fields": [
                    *MINIMAL_FORM["pages"][0]["fields"],
                    {
                        "key": "gesundheit",
                        "type": "text",
                        "label": {"de": "Gesundheit", "en": "Health"},
                        "required": False,
                        "privacy": "sensitive",
                    },
                ],
            }
        ],
    }
    form_version_for(svc, doc)
    started_request(service=svc, answers={"name": "Erika", "gesundheit": "Diagnose X"})
    clerk, admin = clerk_of(dept), clerk_of(dept, role=MembershipRole.ADMIN)
    db.session.commit()
    login_as(clerk)
    assert "Diagnose X" not in client.get("/sachbearbeitung/export.csv").get_data(as_text=True)
    client.post("/abmelden")
    login_as(admin)
    assert "Diagnose X" in client.get("/sachbearbeitung/export.csv").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/sachbearbeitung/?lang=en", "/sachbearbeitung/uebersicht?lang=en"])
def test_clerk_pages_render_in_english(client, dept, clerk, path):
    started_request(service=ServiceFactory(department=dept))
    resp = client.get(path)
    assert resp.status_code == 200
    assert 'lang="en"' in resp.get_data(as_text=True)


def test_queue_bad_parameter_page_names_the_problem(client, dept, clerk):
    req = started_request(service=ServiceFactory(department=dept))
    resp = client.get("/sachbearbeitung/?sort=id")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    # The normal queue page (unfiltered), the problem in its error summary - not a bare error page.
    assert "<title>Fehler: Arbeitskorb" in html
    assert 'class="kern-alert kern-alert--danger aw-error-summary"' in html
    assert '<a class="kern-link" href="#q">Unbekannte Sortierung.</a>' in html
    assert req.reference in html and 'id="filter"' in html


def test_queue_marks_and_filters_requests_whose_applicant_replied(client, dept, clerk):
    service = ServiceFactory(department=dept)
    replied = ServiceRequestFactory(service=service, applicant_name="Rita A", citizen_replied_at=utcnow())
    quiet = ServiceRequestFactory(service=service, applicant_name="Quentin Still")
    html = client.get("/sachbearbeitung/").get_data(as_text=True)
    row = html[html.index(replied.reference):]
    assert "Antwort eingegangen" in row[: row.index("</tr>")]
    assert html.count("Antwort eingegangen") == 1 and quiet.reference in html
    html = client.get("/sachbearbeitung/?replied=1").get_data(as_text=True)
    assert replied.reference in html and quiet.reference not in html
    assert 'id="replied" name="replied" value="1" checked' in html
    assert client.get("/sachbearbeitung/?replied=x").status_code == 400


def test_queue_state_filter_lists_states_in_the_workflows_order(client, dept, clerk):
    started_request(service=ServiceFactory(department=dept))
    html = client.get("/sachbearbeitung/").get_data(as_text=True)
    select_html = html[html.index('name="state"'): html.index("</select>", html.index('name="state"'))]
    order = re.findall(r'<option value="([a-z_]+)"', select_html)
    assert order[:3] == ["eingegangen", "in_bearbeitung", "rueckfrage"], order
